"""Door check-in throughput: 16 doors scanning distinct valid badges for 10 s through the JSON API, under gunicorn.

    python bench/checkin.py [--doors 16] [--seconds 10] [--badges 8000]

Starts the app with gunicorn as the README deploys it (sync workers, ``-w 4``, production config) on
127.0.0.1 and a free port, on a temporary SQLite database (or ``DATABASE_URL``) migrated with
``flask db upgrade heads``. It creates an event happening today with ``--badges`` confirmed in-person
attendees and their signed badges, and one paired door device per door. Each door then POSTs
``/api/v1/events/<slug>/checkins`` (its bearer token, a fresh nonce, the next unused badge code) one
request at a time, each on a new connection, for ``--seconds``. Every answer must be ``ok``.

The ceilings, in the same run, with the same gunicorn settings, database and load (16 clients, same
seconds): ``hello_app``, a Flask app answering a constant; ``write_app``, one SQLAlchemy UPDATE and commit
per request (the same engine settings and ``BEGIN IMMEDIATE`` on SQLite as eventsys).
``ratio_write = per_s / ceiling_write_per_s``.

Prints progress to stderr and one JSON line to stdout. Everything started is stopped, even on failure;
the whole run is bounded (``--deadline``, 115 s by default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from registration_burst import ROOT, WORKERS, gunicorn, p, prepare_database, request


def log(message: str) -> None:
    print(f"[checkin] {message}", file=sys.stderr, flush=True)


# --- the ceilings ----------------------------------------------------------------------------------------

_hello = None
_engine = None


def hello_app(environ, start_response):  # type: ignore[no-untyped-def]
    """A Flask app with one trivial endpoint: the per-request cost of the framework and the server."""
    global _hello
    if _hello is None:
        from flask import Flask

        _hello = Flask("hello")
        _hello.add_url_rule("/hello", "hello", lambda: "ok", methods=["GET", "POST"])
    return _hello(environ, start_response)


def write_app(environ, start_response):  # type: ignore[no-untyped-def]
    """One UPDATE and commit per request (the door's own counter row), nothing else."""
    global _engine
    import sqlalchemy as sa

    from eventsys.common.db import write_transaction

    if _engine is None:
        _engine = sa.create_engine(os.environ["BENCH_DATABASE_URL"], pool_pre_ping=True)
    door = int((environ.get("QUERY_STRING") or "door=0").partition("=")[2] or 0)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    with write_transaction(), _engine.begin() as connection:
        connection.execute(sa.text("UPDATE bench_counter SET n = n + 1 WHERE id = :id"), {"id": door})
    start_response("204 No Content", [("Content-Length", "0")])
    return [b""]


# --- load --------------------------------------------------------------------------------------------------


async def doors_for(port: int, seconds: float, make_request, expect) -> tuple[int, list[float], int, float]:  # type: ignore[no-untyped-def]
    """Each door sends one request at a time until ``seconds`` pass; returns (done, latencies ms, errors, secs)."""
    latencies: list[float] = []
    errors = 0
    done = 0
    started = time.perf_counter()
    stop_at = started + seconds

    async def door(index: int) -> None:
        nonlocal errors, done
        while time.perf_counter() < stop_at:
            item = make_request(index)
            if item is None:
                return
            method, path, body, headers = item
            sent = time.perf_counter()
            try:
                status, _headers, payload = await asyncio.wait_for(request(port, method, path, body, headers), 10)
            except (OSError, TimeoutError, ValueError, IndexError):
                errors += 1
                continue
            latencies.append((time.perf_counter() - sent) * 1000)
            done += 1
            if not expect(status, payload):
                errors += 1

    count = make_request.doors  # type: ignore[attr-defined]
    await asyncio.gather(*(door(i) for i in range(count)))
    return done, latencies, errors, time.perf_counter() - started


def setup_event(app, doors: int, badges_count: int) -> tuple[str, list[str], list[str]]:  # type: ignore[no-untyped-def]
    """An event today with ``badges_count`` badges and ``doors`` devices: (slug, codes, device tokens)."""
    from datetime import UTC, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from eventsys.checkin import badges, services
    from eventsys.checkin.models import DoorDevice
    from eventsys.common.db import write_transaction
    from eventsys.common.tokens import new_token
    from eventsys.events.models import Event, EventFormat, EventKind, EventStatus, Person
    from eventsys.extensions import db
    from eventsys.registration.models import Mode, Registration, RegistrationStatus

    seoul = ZoneInfo("Asia/Seoul")
    today = datetime.now(seoul).date()
    starts = datetime.combine(today, time(0, 1), tzinfo=seoul).astimezone(UTC)
    with app.app_context(), write_transaction():
        event = Event(
            name="Bench Assembly",
            slug=f"bench-{secrets.token_hex(4)}",
            kind=EventKind.GENERAL_ASSEMBLY,
            format=EventFormat.HYBRID,
            timezone="Asia/Seoul",
            starts_at=starts,
            ends_at=starts + timedelta(hours=23, minutes=58),
            capacity=None,
            status=EventStatus.PUBLISHED,
        )
        db.session.add(event)
        db.session.flush()
        now = datetime.now(UTC)
        registrations = []
        for i in range(badges_count):
            person = Person(name=f"Delegate {i}", email=f"bench-{event.id}-{i}@example.org")
            registration = Registration(
                event=event,
                person=person,
                mode=Mode.IN_PERSON,
                status=RegistrationStatus.CONFIRMED,
                consent_at=now,
                confirmed_at=now,
                manage_token=new_token(),
            )
            db.session.add(registration)
            registrations.append(registration)
        db.session.flush()
        codes = [badges.issue_badge(registration).code for registration in registrations]
        devices = [DoorDevice(event_id=event.id, name=f"Door {i + 1}", token=new_token()) for i in range(doors)]
        db.session.add_all(devices)
        services.ensure_default_lists(event)
        db.session.flush()
        result = (event.slug, codes, [d.token for d in devices])
        db.session.commit()
        db.engine.dispose()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doors", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--badges", type=int, default=8000)
    parser.add_argument("--deadline", type=float, default=115.0, help="seconds before the run gives up")
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
        import sqlalchemy as sa

        from eventsys import create_app
        from eventsys.extensions import db

        app = create_app("production", SECRET_KEY=env["SECRET_KEY"], SQLALCHEMY_DATABASE_URI=database_url)
        with app.app_context():
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP TABLE IF EXISTS bench_counter"))
                connection.execute(sa.text("CREATE TABLE bench_counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
                for i in range(args.doors):
                    connection.execute(sa.text("INSERT INTO bench_counter (id, n) VALUES (:i, 0)"), {"i": i})
            db.engine.dispose()
        log(f"creating {args.badges} attendees with badges and {args.doors} door devices")
        slug, codes, tokens = setup_event(app, args.doors, args.badges)

        warm_up = 20 * args.doors
        cursor = iter(codes)

        def scan(index: int):  # type: ignore[no-untyped-def]
            code = next(cursor, None)
            if code is None:
                return None
            body = json.dumps({"code": code, "nonce": secrets.token_hex(12), "door": f"Door {index + 1}"}).encode()
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {tokens[index]}"}
            return "POST", f"/api/v1/events/{slug}/checkins", body, headers

        scan.doors = args.doors  # type: ignore[attr-defined]

        def scanned_ok(status: int, payload: bytes) -> bool:
            return status == 200 and b'"result":"ok"' in payload.replace(b" ", b"")

        def constant(method: str, path_for):  # type: ignore[no-untyped-def]
            def make(index: int):  # type: ignore[no-untyped-def]
                return method, path_for(index), b"", {}

            make.doors = args.doors  # type: ignore[attr-defined]
            return make

        try:
            with gunicorn("wsgi:app", env, chdir=ROOT) as port:
                log(f"eventsys on 127.0.0.1:{port} ({db_kind}), {WORKERS} sync workers; warming up")
                warm_limit = iter(range(warm_up))

                def warm(index: int):  # type: ignore[no-untyped-def]
                    return scan(index) if next(warm_limit, None) is not None else None

                warm.doors = args.doors  # type: ignore[attr-defined]
                asyncio.run(doors_for(port, 30, warm, scanned_ok))
                done, latencies, errors, seconds = asyncio.run(doors_for(port, args.seconds, scan, scanned_ok))
                if next(cursor, None) is None:
                    log("warning: the badges ran out before the time was up; raise --badges")
                per_s = done / seconds
                p50, p99 = p(latencies, 0.5), p(latencies, 0.99)
                log(f"check-ins: {per_s:.0f}/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, errors {errors}")

            with gunicorn("checkin:hello_app", env, chdir=ROOT / "bench") as port:
                hello = constant("GET", lambda i: "/hello")
                asyncio.run(doors_for(port, 1, hello, lambda s, _b: s == 200))
                hello_done, _l, hello_errors, hello_s = asyncio.run(
                    doors_for(port, args.seconds, hello, lambda s, _b: s == 200)
                )
                log(f"ceiling, trivial endpoint: {hello_done / hello_s:.0f}/s (errors {hello_errors})")

            with gunicorn("checkin:write_app", env, chdir=ROOT / "bench") as port:
                write = constant("POST", lambda i: f"/write?door={i}")
                asyncio.run(doors_for(port, 1, write, lambda s, _b: s == 204))
                write_done, _l, write_errors, write_s = asyncio.run(
                    doors_for(port, args.seconds, write, lambda s, _b: s == 204)
                )
                log(f"ceiling, one UPDATE + commit: {write_done / write_s:.0f}/s (errors {write_errors})")
        finally:
            signal.alarm(0)
            with app.app_context():
                if db_kind == "postgresql":
                    with db.engine.begin() as connection:
                        connection.execute(sa.text("DROP TABLE IF EXISTS bench_counter"))
                db.engine.dispose()

    ceiling_write = write_done / write_s
    result = {
        "bench": "checkin",
        "db": db_kind,
        "doors": args.doors,
        "seconds": args.seconds,
        "workers": WORKERS,
        "scans": done,
        "per_s": round(per_s, 1),
        "p50_ms": round(p(latencies, 0.50), 1),
        "p99_ms": round(p(latencies, 0.99), 1),
        "errors": errors,
        "ceiling_hello_per_s": round(hello_done / hello_s, 1),
        "ceiling_write_per_s": round(ceiling_write, 1),
        "ratio_write": round(per_s / ceiling_write, 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
