"""What the benchmark scripts share: arguments and the run's deadline, a temporary database, gunicorn, load, figures.

- ``arguments(doc, deadline)``: an argparse parser with ``--deadline``; ``deadline(seconds)`` stops the run
  (and, through the context managers, everything it started) when it passes.
- ``bench_env(tmp)``: the environment of a production-like run on a temporary SQLite database (or
  ``DATABASE_URL``), mail to files and the task queue on SQLite in the temporary folder; ``migrate(env)``.
- ``gunicorn(app_spec, env)``: the app served by gunicorn on 127.0.0.1 and a free port, the README's production
  settings (sync workers, ``-w 4``), stopped with its workers on exit; ``server_cpu_seconds(port)``: the CPU
  time its processes used so far (per request, a figure that varies less with the machine's load than rates).
- ``request``/``fire``/``for_seconds``: a small HTTP/1.1 client, one connection per request (sync workers close
  connections), one blocking socket per simulated client in its own thread: ~0.18 ms of CPU per request, where
  the asyncio streams client it replaced took ~0.5 ms of the same two cores the server runs on; ``percentile``.
- ``bench_app``: the WSGI app the throughput benchmarks serve (``_common:bench_app``): the production app of
  ``wsgi.py`` plus the in-app ceilings (``/__bench/...``), registered here and nowhere in ``eventsys``.
- ``in_process``: milliseconds, CPU milliseconds and SQL statements per request of the same views run
  in-process (Flask's test client): figures that vary little with the machine's load.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
#: The README's production setting: ``gunicorn -w 4``.
WORKERS = 4

Headers = dict[str, str]


def logger(name: str) -> Callable[[str], None]:
    """A ``log(message)`` that writes ``[name] message`` to stderr."""

    def log(message: str) -> None:
        print(f"[{name}] {message}", file=sys.stderr, flush=True)

    return log


# --- arguments and the deadline -------------------------------------------------------------------------


def arguments(doc: str, *, deadline: float) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc``, with ``--deadline`` (seconds before the run gives up)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--deadline", type=float, default=deadline, help="seconds before the run gives up")
    return parser


def _deadline_passed(*_args: object) -> None:
    raise TimeoutError("benchmark deadline passed")


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the main thread when ``seconds`` pass (so every ``with`` block cleans up)."""
    previous = signal.signal(signal.SIGALRM, _deadline_passed)
    signal.alarm(max(1, int(seconds)))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- database and environment ---------------------------------------------------------------------------


def bench_env(tmp: str | Path, **extra: str) -> dict[str, str]:
    """A production-like environment on a temporary SQLite database in ``tmp`` (or ``DATABASE_URL``)."""
    tmp = Path(tmp)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    env = {
        **os.environ,
        "EVENTSYS_CONFIG": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "BENCH_DATABASE_URL": database_url,
        "EVENTSYS_INSTANCE_PATH": str(tmp),
        "TASKS_SQLITE_PATH": str(tmp / "huey.db"),
        "MAIL_BACKEND": "file",
        "MAIL_FILE_DIR": str(tmp / "mail"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **extra,
    }
    env.pop("REDIS_URL", None)
    # The in-process app of the bench reads these at import time too.
    os.environ.update({key: env[key] for key in ("EVENTSYS_INSTANCE_PATH", "TASKS_SQLITE_PATH")})
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return env


def db_kind(env: dict[str, str]) -> str:
    return "postgresql" if env["DATABASE_URL"].startswith("postgres") else "sqlite"


def migrate(env: dict[str, str], log: Callable[[str], None]) -> None:
    """``flask db upgrade heads`` on the bench database."""
    log("migrating (flask db upgrade heads)")
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade", "heads"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=60,
    )


def make_app(env: dict[str, str]) -> Any:
    """The production app, in this process, on the bench database (to build data and count queries)."""
    from eventsys import create_app

    return create_app("production", SECRET_KEY=env["SECRET_KEY"], SQLALCHEMY_DATABASE_URI=env["DATABASE_URL"])


# --- gunicorn -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    app_spec: str, env: dict[str, str], *, workers: int = WORKERS, chdir: Path = ROOT, backlog: int = 2048
) -> Iterator[int]:
    """Serve ``app_spec`` with gunicorn (sync workers) on 127.0.0.1 and a free port; stop it and its workers on exit."""
    port = free_port()
    command = [
        str(VENV_BIN / "gunicorn"),
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--backlog",
        str(backlog),
        "--log-level",
        "warning",
        "--chdir",
        str(chdir),
        "--pythonpath",
        f"{ROOT},{BENCH}",
        app_spec,
    ]
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        _wait_until_up(port, process)
        _SERVERS[port] = process.pid
        yield port
    finally:
        _SERVERS.pop(port, None)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


_SERVERS: dict[int, int] = {}


def server_cpu_seconds(port: int) -> float:
    """CPU seconds (user + system) used so far by the gunicorn server on ``port`` and its live workers (Linux)."""
    master = _SERVERS[port]
    try:
        with open(f"/proc/{master}/task/{master}/children") as children:
            pids = [master, *(int(pid) for pid in children.read().split())]
    except OSError:
        return float("nan")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _wait_until_up(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    limit = time.monotonic() + timeout
    while time.monotonic() < limit:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not start listening in time")


# --- load -------------------------------------------------------------------------------------------------


def _exchange(port: int, raw_request: bytes) -> bytes:
    """Send one request on a new connection and read the answer until the server closes it (blocking)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw_request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _encode(port: int, method: str, path: str, body: bytes, headers: Headers | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _parse(raw: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    response_headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        response_headers.append((name.strip().lower(), value.strip()))
    return int(status_line.split()[1]), response_headers, payload


def request(
    port: int, method: str, path: str, body: bytes = b"", headers: Headers | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One HTTP/1.1 request on a new connection: (status, headers with lower-case names, body)."""
    return _parse(_exchange(port, _encode(port, method, path, body, headers)))


RequestSpec = tuple[str, str, bytes, Headers]  # method, path, body, headers
Check = Callable[[int, bytes], bool]


def _timed(port: int, spec: RequestSpec, check: Check) -> tuple[float | None, bool]:
    raw_request = _encode(port, *spec)
    started = time.perf_counter()
    try:
        raw = _exchange(port, raw_request)
        latency = (time.perf_counter() - started) * 1000
        status, _headers, payload = _parse(raw)
    except (OSError, ValueError, IndexError):
        return None, False
    return latency, check(status, payload)


def _threads(clients: int, work: Callable[[int], None]) -> float:
    """Run ``work(index)`` in ``clients`` threads at once; the seconds until all are done."""
    threads = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def fire(port: int, specs: list[RequestSpec], concurrency: int, check: Check) -> tuple[float, list[float], int]:
    """Send every request, ``concurrency`` in flight: (seconds, latencies in ms, errors)."""
    pending = iter(specs)
    _done, seconds, latencies, errors = for_seconds(
        port, math.inf, concurrency, lambda _index: next(pending, None), check
    )
    return seconds, latencies, errors


def for_seconds(
    port: int, seconds: float, clients: int, next_request: Callable[[int], RequestSpec | None], check: Check
) -> tuple[int, float, list[float], int]:
    """``clients`` clients each send one request at a time until ``seconds`` pass (or ``next_request`` says
    None): (requests done, seconds, latencies in ms, errors). ``next_request`` is called under a lock."""
    latencies: list[float] = []
    counts = [0, 0]  # done, errors
    stop_at = time.perf_counter() + seconds
    lock = threading.Lock()

    def client(index: int) -> None:
        while time.perf_counter() < stop_at:
            with lock:
                spec = next_request(index)
            if spec is None:
                return
            latency, ok = _timed(port, spec, check)
            with lock:
                if latency is not None:
                    latencies.append(latency)
                    counts[0] += 1
                counts[1] += not ok

    took = _threads(clients, client)
    return counts[0], took, latencies, counts[1]


def until_serving(port: int, path: str = "/__bench/hello", clients: int = 16, attempts: int = 20) -> None:
    """Ask ``path`` until a whole round of ``clients`` concurrent requests is answered 200.

    Each sync worker builds the app on its first request, which takes seconds on a loaded machine: a warm-up
    sent before that timed out and was counted as errors.
    """
    for _attempt in range(attempts):
        done, _seconds, _latencies, errors = for_seconds(
            port, 1.0, clients, lambda _i: ("GET", path, b"", {}), lambda status, _payload: status == 200
        )
        if done and not errors:
            return
    raise RuntimeError(f"127.0.0.1:{port}{path} did not answer 200 to {clients} clients in {attempts} rounds")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- the app under test, with its in-app ceilings ---------------------------------------------------------
# The ceilings the contract asks for are "a trivial endpoint doing one INSERT (UPDATE) and commit, same server,
# same database, same run". These endpoints are views of the very app that serves the benchmark, under the
# same gunicorn settings, so they pay what every request of the app pays (Flask, the session cookie, Babel,
# the rate limiter's hook, the request's SQLite write lock and its writers' queue) and nothing more. They
# exist only here: ``wsgi.py`` and ``create_app`` never register them. The scripts also report the ceiling of
# a bare WSGI app doing the same write (``*_raw``), the yardstick used before.

CEILING_TABLE = "bench_ceiling"
COUNTER_TABLE = "bench_counter"
INSERT_SQL = "INSERT INTO bench_ceiling (payload, created_at) VALUES (:payload, :created_at)"
UPDATE_SQL = "UPDATE bench_counter SET n = n + 1 WHERE id = :id"


def _ceiling_blueprint() -> Any:
    import sqlalchemy as sa
    from flask import Blueprint, request

    from eventsys.extensions import db

    bp = Blueprint("bench_ceilings", __name__, url_prefix="/__bench")
    insert = sa.text(INSERT_SQL)
    update = sa.text(UPDATE_SQL)

    @bp.route("/hello", methods=["GET", "POST"])
    def hello() -> str:
        return "ok"

    @bp.post("/insert")
    def insert_one() -> tuple[str, int]:
        from datetime import UTC, datetime

        payload = request.get_data(as_text=True)[:500]
        db.session.execute(insert, {"payload": payload, "created_at": datetime.now(UTC).isoformat()})
        db.session.commit()
        return "", 204

    @bp.post("/update")
    def update_one() -> tuple[str, int]:
        db.session.execute(update, {"id": request.args.get("door", 0, type=int)})
        db.session.commit()
        return "", 204

    return bp


def _make_bench_app() -> Any:
    from eventsys import create_app
    from eventsys.extensions import csrf

    app = create_app(os.environ.get("EVENTSYS_CONFIG", "production"))
    blueprint = _ceiling_blueprint()
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)
    import gc

    gc.collect()  # as wsgi.py does: the long-lived heap out of the collector's sight
    gc.freeze()
    return app


_bench_app = None


def bench_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    """WSGI entry of the throughput benchmarks (``_common:bench_app``): the production app plus its ceilings."""
    global _bench_app
    if _bench_app is None:
        _bench_app = _make_bench_app()
    return _bench_app(environ, start_response)


def create_ceiling_tables(app: Any, *, counters: int = 0) -> None:
    """``bench_ceiling`` (for INSERTs) and ``bench_counter`` with ``counters`` rows (for UPDATEs), fresh."""
    import sqlalchemy as sa

    from eventsys.extensions import db

    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        id_column = "SERIAL PRIMARY KEY" if postgres else "INTEGER PRIMARY KEY"
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {CEILING_TABLE}"))
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {COUNTER_TABLE}"))
            connection.execute(
                sa.text(f"CREATE TABLE {CEILING_TABLE} (id {id_column}, payload TEXT, created_at VARCHAR(40))")
            )
            connection.execute(sa.text(f"CREATE TABLE {COUNTER_TABLE} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
            for i in range(counters):
                connection.execute(sa.text("INSERT INTO bench_counter (id, n) VALUES (:i, 0)"), {"i": i})
        db.engine.dispose()


def drop_ceiling_tables(app: Any) -> None:
    import sqlalchemy as sa

    from eventsys.extensions import db

    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {CEILING_TABLE}"))
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {COUNTER_TABLE}"))
        db.engine.dispose()


# --- the bare WSGI ceilings (no Flask) ----------------------------------------------------------------------

_raw_engine = None


def _raw_write(environ: dict[str, Any], statement: str, params: dict[str, Any]) -> None:
    global _raw_engine
    import sqlalchemy as sa

    from eventsys.common.db import write_transaction

    if _raw_engine is None:
        _raw_engine = sa.create_engine(os.environ["BENCH_DATABASE_URL"], pool_pre_ping=True)
    # The same engine hooks as eventsys: WAL, busy timeout, BEGIN IMMEDIATE and the writers' queue on SQLite.
    with write_transaction(), _raw_engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def raw_insert_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A bare WSGI app: each POST inserts one row and commits; nothing else."""
    from datetime import UTC, datetime

    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    _raw_write(
        environ,
        INSERT_SQL,
        {"payload": body.decode("utf-8", "replace")[:500], "created_at": datetime.now(UTC).isoformat()},
    )
    start_response("204 No Content", [("Content-Length", "0")])
    return [b""]


def raw_update_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A bare WSGI app: each POST updates one counter row and commits; nothing else."""
    door = int((environ.get("QUERY_STRING") or "door=0").partition("=")[2] or 0)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    _raw_write(environ, UPDATE_SQL, {"id": door})
    start_response("204 No Content", [("Content-Length", "0")])
    return [b""]


_hello = None


def raw_hello_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    """A bare Flask app answering a constant: the framework's and the server's own cost."""
    global _hello
    if _hello is None:
        from flask import Flask

        _hello = Flask("hello")
        _hello.add_url_rule("/__bench/hello", "hello", lambda: "ok", methods=["GET", "POST"])
    return _hello(environ, start_response)


# --- in-process figures -------------------------------------------------------------------------------------


def in_process(app: Any, send: Callable[[Any, int], None], *, requests: int = 200, warm_up: int = 30) -> dict[str, Any]:
    """Per request of ``send(client, i)`` run in this process: median ms, mean CPU ms, SQL statements (one request).

    The test client talks plain http, so the production config's https-only cookie and https URL scheme are
    relaxed for it (else the session cookie is dropped and CSRF wants a referrer): the views and queries are
    the same.
    """
    import sqlalchemy as sa

    from eventsys.extensions import db

    app.config.update(SESSION_COOKIE_SECURE=False, PREFERRED_URL_SCHEME="http")
    client = app.test_client()
    for i in range(warm_up):
        send(client, i)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        send(client, warm_up)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    wall, cpu = [], []
    for i in range(warm_up + 1, warm_up + 1 + requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        send(client, i)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    with app.app_context():
        db.engine.dispose()
    return {
        "inproc_ms": round(statistics.median(wall), 2),
        "inproc_cpu_ms": round(statistics.mean(cpu), 2),
        "statements": len(statements),
    }
