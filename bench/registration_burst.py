"""Registration burst: N concurrent registrations for an event with a few hundred seats, under gunicorn.

    python bench/registration_burst.py [--attempts 1000] [--capacity 300] [--concurrency 16] [--rounds 3]

Starts the app with gunicorn (the README's production settings: sync workers, ``-w 4``) on 127.0.0.1 and
a free port, on a temporary SQLite database (or ``DATABASE_URL`` when set), migrated with
``flask db upgrade heads``. Each round creates a published hybrid event with ``--capacity`` seats and fires
``--attempts`` registrations at the real public form (``POST /events/<slug>/register``, with its CSRF
token), ``--concurrency`` requests in flight at a time, each on a new connection (sync workers close
connections). Every registrant asks for an in-person seat and joins the waiting list when they are taken.

The ceilings, in the same run and interleaved with the rounds (each round is followed by one round of each
ceiling, under the same load, so a busy machine weighs on all of them alike):

- ``ceiling_write_per_s``: ``POST /__bench/insert`` of the same app in the same gunicorn server (one INSERT
  and commit; ``bench/_common.py``, registered for the benchmark only);
- ``ceiling_write_raw_per_s``: a bare WSGI app doing the same INSERT (the same SQLite engine settings and
  write lock as eventsys), under the same gunicorn settings.

Figures that vary less with the machine's load: the server's CPU milliseconds per registration and per
ceiling request (``server_cpu_ms``, ``ceiling_write_server_cpu_ms``, ``ceiling_write_raw_server_cpu_ms``: all
the server's processes, from /proc), and the same view run in this process with the test client on the same
database (``inproc_ms``, ``inproc_cpu_ms`` and ``statements`` per registration).

Prints progress to stderr and one JSON line to stdout: medians over the rounds. ``overbooked`` is true if any
round confirmed more in-person seats than the capacity. Everything started is stopped, even on failure; the
whole run is bounded (``--deadline``, 110 s by default).
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import tempfile
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    WORKERS,
    arguments,
    bench_env,
    create_ceiling_tables,
    db_kind,
    deadline,
    drop_ceiling_tables,
    fire,
    gunicorn,
    in_process,
    logger,
    make_app,
    median,
    migrate,
    percentile,
    request,
    server_cpu_seconds,
    until_serving,
)

CSRF_RE = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
#: Requests sent to each server before measuring, so every worker has started up.
WARM_UP = 100
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

log = logger("registration_burst")


def create_event(app: Any, capacity: int) -> str:
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
        db.engine.dispose()
    return slug


def outcome(app: Any, slug: str) -> dict[str, int]:
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
        db.engine.dispose()
    counts = {"confirmed": 0, "waitlisted": 0, "other": 0}
    for mode, status, n in rows:
        if mode is Mode.IN_PERSON and status in (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED):
            counts["confirmed"] += n
        elif status is RegistrationStatus.WAITLISTED:
            counts["waitlisted"] += n
        else:
            counts["other"] += n
    return counts


def registration_form(token: str, tag: str, i: int) -> dict[str, str]:
    return {
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


def session_for(port: int, slug: str) -> tuple[str, str]:
    """One visitor's session cookie and the form's CSRF token, from the real registration page."""
    status, headers, page = request(port, "GET", f"/events/{slug}/register")
    if status != 200:
        raise RuntimeError(f"the registration page answered {status}")
    cookie = next(value.split(";", 1)[0] for name, value in headers if name == "set-cookie")
    match = CSRF_RE.search(page)
    if not match:
        raise RuntimeError("no CSRF token on the registration page")
    return cookie, match.group(1).decode()


def registration_round(
    port: int, slug: str, attempts: int, concurrency: int, tag: str
) -> tuple[float, list[float], int]:
    visitors = [session_for(port, slug) for _ in range(concurrency)]
    specs = []
    for i in range(attempts):
        cookie, token = visitors[i % len(visitors)]
        body = urllib.parse.urlencode(registration_form(token, tag, i)).encode()
        specs.append(("POST", f"/events/{slug}/register", body, {**FORM, "Cookie": cookie}))
    return fire(port, specs, concurrency, lambda status, _body: status == 302)


def ceiling_round(port: int, attempts: int, concurrency: int) -> tuple[float, int, float]:
    """(requests per second, errors, server CPU ms per request)."""
    specs = [("POST", "/__bench/insert", f"payload={i}".encode(), FORM) for i in range(attempts)]
    cpu = server_cpu_seconds(port)
    seconds, _latencies, errors = fire(port, specs, concurrency, lambda status, _body: status == 204)
    return attempts / seconds, errors, (server_cpu_seconds(port) - cpu) / attempts * 1000


def in_process_registrations(app: Any, capacity: int) -> dict[str, Any]:
    """The same view in this process: ms, CPU ms and SQL statements per registration."""
    slug = create_event(app, capacity)
    token: list[str] = []
    tag = secrets.token_hex(3)

    def send(client: Any, i: int) -> None:
        if not token:
            page = client.get(f"/events/{slug}/register").data
            token.append(CSRF_RE.search(page).group(1).decode())  # type: ignore[union-attr]
        response = client.post(f"/events/{slug}/register", data=registration_form(token[0], tag, i))
        if response.status_code != 302:
            raise RuntimeError(f"in-process registration answered {response.status_code}")

    return in_process(app, send)


def main() -> int:
    parser = arguments(__doc__, deadline=110.0)
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--capacity", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers (the README deploys 4)")
    args = parser.parse_args()

    rounds: list[dict[str, float]] = []
    ceilings: list[float] = []
    raw_ceilings: list[float] = []
    ceiling_cpu: list[float] = []
    raw_cpu: list[float] = []
    with tempfile.TemporaryDirectory(prefix="eventsys-bench-") as tmp, deadline(args.deadline):
        env = bench_env(tmp)
        kind = db_kind(env)
        migrate(env, log)
        app = make_app(env)
        create_ceiling_tables(app)
        try:
            with (
                gunicorn("_common:bench_app", env, workers=args.workers) as port,
                gunicorn("_common:raw_insert_app", env, workers=args.workers) as raw_port,
            ):
                log(f"eventsys on :{port}, bare ceiling app on :{raw_port} ({kind}), {args.workers} sync workers")
                until_serving(port, clients=args.concurrency)  # every worker has built the app
                warm_up = create_event(app, args.capacity)  # every worker imports, connects and renders once
                registration_round(port, warm_up, WARM_UP, args.concurrency, "warm")
                ceiling_round(port, WARM_UP, args.concurrency)
                ceiling_round(raw_port, WARM_UP, args.concurrency)
                for number in range(1, args.rounds + 1):
                    slug = create_event(app, args.capacity)
                    cpu = server_cpu_seconds(port)
                    seconds, latencies, errors = registration_round(
                        port, slug, args.attempts, args.concurrency, f"{number}{secrets.token_hex(2)}"
                    )
                    rounds.append(
                        {
                            "per_s": args.attempts / seconds,
                            "server_cpu_ms": (server_cpu_seconds(port) - cpu) / args.attempts * 1000,
                            "p50_ms": percentile(latencies, 0.50),
                            "p99_ms": percentile(latencies, 0.99),
                            "errors": errors,
                            **outcome(app, slug),
                        }
                    )
                    for target, into, cpu_into in ((port, ceilings, ceiling_cpu), (raw_port, raw_ceilings, raw_cpu)):
                        per_s, ceiling_errors, cpu_ms = ceiling_round(target, args.attempts, args.concurrency)
                        if ceiling_errors:
                            raise RuntimeError(f"a ceiling app failed {ceiling_errors} requests")
                        into.append(per_s)
                        cpu_into.append(cpu_ms)
                    shown = json.dumps({k: round(v, 1) for k, v in rounds[-1].items()})
                    log(f"round {number}: {shown}; ceilings {ceilings[-1]:.0f}/s, raw {raw_ceilings[-1]:.0f}/s")
            figures = in_process_registrations(app, args.capacity)
            log(f"in process: {figures}")
        finally:
            if kind == "postgresql":
                drop_ceiling_tables(app)

    per_s = median([r["per_s"] for r in rounds])
    ceiling, raw_ceiling = median(ceilings), median(raw_ceilings)
    result = {
        "bench": "registration_burst",
        "db": kind,
        "attempts": args.attempts,
        "capacity": args.capacity,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "rounds": args.rounds,
        "per_s": round(per_s, 1),
        "p50_ms": round(median([r["p50_ms"] for r in rounds]), 1),
        "p99_ms": round(median([r["p99_ms"] for r in rounds]), 1),
        "confirmed": int(median([r["confirmed"] for r in rounds])),
        "waitlisted": int(median([r["waitlisted"] for r in rounds])),
        "errors": int(sum(r["errors"] for r in rounds)),
        "overbooked": any(r["confirmed"] > args.capacity for r in rounds),
        "ceiling_write_per_s": round(ceiling, 1),
        "ratio_write": round(per_s / ceiling, 3),
        "ceiling_write_raw_per_s": round(raw_ceiling, 1),
        "ratio_write_raw": round(per_s / raw_ceiling, 3),
        "server_cpu_ms": round(median([r["server_cpu_ms"] for r in rounds]), 3),
        "ceiling_write_server_cpu_ms": round(median(ceiling_cpu), 3),
        "ceiling_write_raw_server_cpu_ms": round(median(raw_cpu), 3),
        **figures,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
