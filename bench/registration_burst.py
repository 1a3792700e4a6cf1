"""Registration burst: N concurrent registrations for an event with a few hundred seats, under gunicorn.

    python bench/registration_burst.py [--attempts 1000] [--capacity 300] [--concurrency 16] [--rounds 3]

Starts the app with gunicorn (the README's production settings: sync workers, ``-w 4``) on 127.0.0.1 and
a free port, on a temporary SQLite database (or ``DATABASE_URL`` when set), migrated with
``flask db upgrade``. Each round creates a published hybrid event with ``--capacity`` seats and fires
``--attempts`` registrations at the real public form (``POST /events/<slug>/register``, with its CSRF
token), ``--concurrency`` requests in flight at a time, each on a new connection (sync workers close
connections). Every registrant asks for an in-person seat and joins the waiting list when they are taken.

The ceiling, in the same run: a trivial WSGI app defined in this file (``ceiling_app``: one INSERT and
commit per request, the same SQLAlchemy SQLite settings as eventsys), served by the same gunicorn
settings against the same database, under the same load.

Prints progress to stderr and one JSON line to stdout: medians over the rounds. ``overbooked`` is true if
any round confirmed more in-person seats than the capacity. Everything started is stopped, even on failure;
the whole run is bounded (``--deadline``, 110 s by default).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CSRF_RE = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
WORKERS = 4
#: Requests sent to each server before measuring, so every worker has started up.
WARM_UP = 100


def log(message: str) -> None:
    print(f"[registration_burst] {message}", file=sys.stderr, flush=True)


# --- the ceiling: one INSERT and commit per request -----------------------------------------------------

_ceiling_engine = None


def ceiling_app(environ, start_response):  # type: ignore[no-untyped-def]
    """WSGI app for the ceiling: each POST inserts one row and commits; nothing else."""
    global _ceiling_engine
    import sqlalchemy as sa

    import eventsys.common.db  # noqa: F401  (the same SQLite connection settings: WAL, busy timeout)

    if _ceiling_engine is None:
        _ceiling_engine = sa.create_engine(os.environ["BENCH_DATABASE_URL"], pool_pre_ping=True)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    from eventsys.common.db import write_transaction

    # BEGIN IMMEDIATE on SQLite, as eventsys does for every POST (the same engine hook).
    with write_transaction(), _ceiling_engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO bench_ceiling (payload, created_at) VALUES (:payload, :created_at)"),
            {"payload": body.decode("utf-8", "replace")[:500], "created_at": datetime.now(UTC).isoformat()},
        )
    start_response("204 No Content", [("Content-Length", "0")])
    return [b""]


# --- processes ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(app_spec: str, env: dict[str, str], *, chdir: Path) -> Iterator[int]:
    """Serve ``app_spec`` with gunicorn on 127.0.0.1 and a free port; stop it (and its workers) on exit."""
    port = free_port()
    command = [
        str(VENV_BIN / "gunicorn"),
        "-w",
        str(WORKERS),
        "-b",
        f"127.0.0.1:{port}",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
        "--chdir",
        str(chdir),
        "--pythonpath",
        str(ROOT),
        app_spec,
    ]
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        wait_until_up(port, process)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def wait_until_up(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not start listening in time")


# --- a small HTTP/1.1 client on asyncio (one connection per request, as sync workers want) ----------------


async def request(port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    response_headers: list[tuple[str, str]] = []
    for line in header_lines:
        name, _, value = line.partition(":")
        response_headers.append((name.strip().lower(), value.strip()))
    return status, response_headers, payload


async def fire(port: int, bodies: list[tuple[str, bytes, dict[str, str]]], concurrency: int, expect: int):
    """Send every request with ``concurrency`` in flight; return (seconds, latencies in ms, error count)."""
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)

    async def client() -> None:
        nonlocal errors
        while not queue.empty():
            path, body, headers = queue.get_nowait()
            started = time.perf_counter()
            try:
                status, _headers, _payload = await asyncio.wait_for(
                    request(port, "POST", path, body, headers), timeout=10
                )
            except (OSError, TimeoutError, ValueError, IndexError):
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            if status != expect:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, errors


def p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- the app's side -------------------------------------------------------------------------------------


def prepare_database(env: dict[str, str]) -> None:
    log("migrating (flask db upgrade)")
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade", "heads"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=60,
    )


def create_event(app, capacity: int) -> str:  # type: ignore[no-untyped-def]
    from eventsys.events.models import Event, EventFormat, EventKind, EventStatus
    from eventsys.extensions import db

    now = datetime.now(UTC).replace(microsecond=0)
    slug = f"bench-{secrets.token_hex(4)}"
    with app.app_context():
        db.session.add(
            Event(
                name="Registration burst",
                slug=slug,
                kind=EventKind.OTHER,
                format=EventFormat.HYBRID,
                timezone="Asia/Seoul",
                starts_at=now + timedelta(days=30),
                ends_at=now + timedelta(days=30, hours=3),
                venue_name="Seoul City Hall",
                venue_address="110 Sejong-daero, Jung-gu, Seoul",
                online_url="https://meet.example.org/bench",
                capacity=capacity,
                status=EventStatus.PUBLISHED,
            )
        )
        db.session.commit()
        db.session.remove()
    return slug


def outcome(app, slug: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from eventsys.events.models import Event
    from eventsys.extensions import db
    from eventsys.registration.models import Mode, Registration, RegistrationStatus

    with app.app_context():
        event_id = db.session.scalar(sa.select(Event.id).where(Event.slug == slug))
        rows = db.session.execute(
            sa.select(Registration.mode, Registration.status, sa.func.count())
            .where(Registration.event_id == event_id)
            .group_by(Registration.mode, Registration.status)
        ).all()
        db.session.remove()
    counts = {"confirmed": 0, "waitlisted": 0, "other": 0}
    for mode, status, n in rows:
        if mode is Mode.IN_PERSON and status in (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED):
            counts["confirmed"] += n
        elif status is RegistrationStatus.WAITLISTED:
            counts["waitlisted"] += n
        else:
            counts["other"] += n
    return counts


async def session_for(port: int, slug: str) -> tuple[str, str]:
    """One visitor's session cookie and the form's CSRF token, from the real registration page."""
    status, headers, page = await request(port, "GET", f"/events/{slug}/register")
    if status != 200:
        raise RuntimeError(f"the registration page answered {status}")
    cookie = next(value.split(";", 1)[0] for name, value in headers if name == "set-cookie")
    match = CSRF_RE.search(page)
    if not match:
        raise RuntimeError("no CSRF token on the registration page")
    return cookie, match.group(1).decode()


async def registration_round(port: int, slug: str, attempts: int, concurrency: int, tag: str):
    visitors = [await session_for(port, slug) for _ in range(concurrency)]
    bodies = []
    for i in range(attempts):
        cookie, token = visitors[i % len(visitors)]
        form = {
            "csrf_token": token,
            "name": f"Burst Registrant {tag}-{i}",
            "email": f"burst-{tag}-{i}@example.org",
            "organization": f"City {i % 40}",
            "title": "Delegate",
            "mode": "in_person",
            "when_full": "waitlist",
            "language": "en",
            "consent": "y",
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        bodies.append((f"/events/{slug}/register", urllib.parse.urlencode(form).encode(), headers))
    return await fire(port, bodies, concurrency, expect=302)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--capacity", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=110.0, help="seconds before the run gives up")
    args = parser.parse_args()

    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("benchmark deadline passed")))
    signal.alarm(int(args.deadline))

    with tempfile.TemporaryDirectory(prefix="eventsys-bench-") as tmp:
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db_kind = "postgresql" if database_url.startswith("postgres") else "sqlite"
        env = {
            **os.environ,
            "EVENTSYS_CONFIG": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": database_url,
            "BENCH_DATABASE_URL": database_url,
            "EVENTSYS_INSTANCE_PATH": tmp,
            "TASKS_SQLITE_PATH": str(Path(tmp) / "huey.db"),
            "MAIL_BACKEND": "file",
            "MAIL_FILE_DIR": str(Path(tmp) / "mail"),
        }
        env.pop("REDIS_URL", None)
        os.environ.update({k: env[k] for k in ("EVENTSYS_INSTANCE_PATH", "TASKS_SQLITE_PATH")})
        prepare_database(env)

        sys.path.insert(0, str(ROOT))
        from eventsys import create_app

        app = create_app("production", SECRET_KEY=env["SECRET_KEY"], SQLALCHEMY_DATABASE_URI=database_url)
        import sqlalchemy as sa

        from eventsys.extensions import db

        with app.app_context():
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP TABLE IF EXISTS bench_ceiling"))
                id_column = "SERIAL PRIMARY KEY" if db_kind == "postgresql" else "INTEGER PRIMARY KEY"
                connection.execute(
                    sa.text(f"CREATE TABLE bench_ceiling (id {id_column}, payload TEXT, created_at VARCHAR(40))")
                )
            db.engine.dispose()

        rounds: list[dict[str, float]] = []
        try:
            with gunicorn("wsgi:app", env, chdir=ROOT) as port:
                log(f"eventsys on 127.0.0.1:{port} ({db_kind}), {WORKERS} sync workers")
                warm_up = create_event(app, args.capacity)  # every worker imports, connects and renders once
                asyncio.run(registration_round(port, warm_up, WARM_UP, args.concurrency, "warm"))
                for number in range(1, args.rounds + 1):
                    slug = create_event(app, args.capacity)
                    seconds, latencies, errors = asyncio.run(
                        registration_round(
                            port, slug, args.attempts, args.concurrency, f"{number}{secrets.token_hex(2)}"
                        )
                    )
                    counts = outcome(app, slug)
                    rounds.append(
                        {
                            "per_s": args.attempts / seconds,
                            "p50_ms": p(latencies, 0.50),
                            "p99_ms": p(latencies, 0.99),
                            "errors": errors,
                            **counts,
                        }
                    )
                    log(f"round {number}: {json.dumps({k: round(v, 1) for k, v in rounds[-1].items()})}")

            ceilings: list[float] = []
            with gunicorn("registration_burst:ceiling_app", env, chdir=ROOT / "bench") as port:
                log(f"ceiling app (one INSERT + commit) on 127.0.0.1:{port}")
                warm = [("/write", b"payload=warm", {"Content-Type": "application/x-www-form-urlencoded"})] * WARM_UP
                asyncio.run(fire(port, warm, args.concurrency, expect=204))
                for number in range(1, args.rounds + 1):
                    bodies = [
                        ("/write", f"payload={i}".encode(), {"Content-Type": "application/x-www-form-urlencoded"})
                        for i in range(args.attempts)
                    ]
                    seconds, _latencies, errors = asyncio.run(fire(port, bodies, args.concurrency, expect=204))
                    if errors:
                        raise RuntimeError(f"the ceiling app failed {errors} requests")
                    ceilings.append(args.attempts / seconds)
                    log(f"ceiling round {number}: {ceilings[-1]:.0f} writes/s")
        finally:
            signal.alarm(0)
            with app.app_context():
                if db_kind == "postgresql":
                    with db.engine.begin() as connection:
                        connection.execute(sa.text("DROP TABLE IF EXISTS bench_ceiling"))
                db.engine.dispose()

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    per_s = median("per_s")
    ceiling = statistics.median(ceilings)
    result = {
        "bench": "registration_burst",
        "db": db_kind,
        "attempts": args.attempts,
        "capacity": args.capacity,
        "concurrency": args.concurrency,
        "workers": WORKERS,
        "rounds": args.rounds,
        "per_s": round(per_s, 1),
        "p50_ms": round(median("p50_ms"), 1),
        "p99_ms": round(median("p99_ms"), 1),
        "confirmed": int(median("confirmed")),
        "waitlisted": int(median("waitlisted")),
        "errors": int(sum(r["errors"] for r in rounds)),
        "overbooked": any(r["confirmed"] > args.capacity for r in rounds),
        "ceiling_write_per_s": round(ceiling, 1),
        "ratio_write": round(per_s / ceiling, 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
