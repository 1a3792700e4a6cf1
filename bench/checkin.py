"""Door check-in throughput: 16 doors scanning distinct valid badges for 10 s through the JSON API, under gunicorn.

    python bench/checkin.py [--doors 16] [--seconds 10] [--badges 8000]

Starts the app with gunicorn as the README deploys it (sync workers, ``-w 4``, production config) on
127.0.0.1 and a free port, on a temporary SQLite database (or ``DATABASE_URL``) migrated with
``flask db upgrade heads``. It creates an event happening today with ``--badges`` confirmed in-person
attendees and their signed badges, and one paired door device per door. Each door then POSTs
``/api/v1/events/<slug>/checkins`` (its bearer token, a fresh nonce, the next unused badge code) one
request at a time, each on a new connection, for ``--seconds`` in all. Every answer must be ``ok``.

The ceilings, in the same run, with the same gunicorn settings, database and load (16 clients, the same
seconds for the write ceilings, half for the trivial ones). The scans and the ceilings take turns in slices
of a quarter of the time, so a machine that gets busier or quieter weighs on all of them alike:

- ``ceiling_write_per_s``: ``POST /__bench/update`` of the same app in the same server (one UPDATE and
  commit of the door's counter row; ``bench/_common.py``, registered for the benchmark only);
  ``ratio_write = per_s / ceiling_write_per_s``;
- ``ceiling_hello_per_s``: ``/__bench/hello`` of the same app (a constant);
- ``ceiling_write_raw_per_s`` and ``ceiling_hello_raw_per_s``: the same from a bare WSGI app (the same engine
  settings and SQLite write lock as eventsys) and a bare Flask app, the yardsticks used before;
  ``ratio_write_raw``.

Figures that vary less with the machine's load: the server's CPU milliseconds per scan and per ceiling
request (``server_cpu_ms``, ``ceiling_write_server_cpu_ms``, ``ceiling_write_raw_server_cpu_ms``: all the
server's processes, from /proc), and the same endpoint run in this process with the test client on the same
database (``inproc_ms``, ``inproc_cpu_ms`` and ``statements`` per scan).

Prints progress to stderr and one JSON line to stdout. Everything started is stopped, even on failure; the
whole run is bounded (``--deadline``, 115 s by default).
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    WORKERS,
    RequestSpec,
    arguments,
    bench_env,
    create_ceiling_tables,
    db_kind,
    deadline,
    drop_ceiling_tables,
    for_seconds,
    gunicorn,
    in_process,
    logger,
    make_app,
    migrate,
    percentile,
    server_cpu_seconds,
    until_serving,
)

log = logger("checkin")
#: The scans and the ceilings take turns this many times.
SLICES = 4


def setup_event(app: Any, doors: int, badges_count: int) -> tuple[str, list[str], list[str]]:
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


def scan_body(code: str, door: int) -> dict[str, str]:
    return {"code": code, "nonce": secrets.token_hex(12), "door": f"Door {door + 1}"}


def scanned_ok(status: int, payload: bytes) -> bool:
    return status == 200 and b'"result":"ok"' in payload.replace(b" ", b"")


class Load:
    """One kind of request sent in slices: totals over the slices."""

    def __init__(self, port: int, next_request: Callable[[int], RequestSpec | None], check: Any) -> None:
        self.port, self.next_request, self.check = port, next_request, check
        self.done = 0
        self.seconds = 0.0
        self.errors = 0
        self.latencies: list[float] = []
        self.cpu = 0.0

    def slice(self, seconds: float, clients: int) -> None:
        cpu = server_cpu_seconds(self.port)
        done, took, latencies, errors = for_seconds(self.port, seconds, clients, self.next_request, self.check)
        self.cpu += server_cpu_seconds(self.port) - cpu
        self.done += done
        self.seconds += took
        self.errors += errors
        self.latencies += latencies

    @property
    def per_s(self) -> float:
        return self.done / self.seconds if self.seconds else float("nan")

    @property
    def cpu_ms(self) -> float:
        """The server's CPU milliseconds per request (all its processes)."""
        return round(self.cpu / self.done * 1000, 3) if self.done else float("nan")


def in_process_scans(app: Any, slug: str, codes: Iterator[str], tokens: list[str]) -> dict[str, Any]:
    """The same endpoint in this process: ms, CPU ms and SQL statements per scan."""

    def send(client: Any, i: int) -> None:
        response = client.post(
            f"/api/v1/events/{slug}/checkins",
            json=scan_body(next(codes), i % len(tokens)),
            headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"},
        )
        if response.status_code != 200 or response.get_json()["result"] != "ok":
            raise RuntimeError(f"in-process scan answered {response.status_code}: {response.get_data(as_text=True)}")

    return in_process(app, send, requests=300)


def main() -> int:
    parser = arguments(__doc__, deadline=115.0)
    parser.add_argument("--doors", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--badges", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers (the README deploys 4)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="eventsys-bench-") as tmp, deadline(args.deadline):
        env = bench_env(tmp)
        kind = db_kind(env)
        migrate(env, log)
        app = make_app(env)
        create_ceiling_tables(app, counters=args.doors)
        log(f"creating {args.badges} attendees with badges and {args.doors} door devices")
        slug, codes, tokens = setup_event(app, args.doors, args.badges)
        # The last 400 codes are kept for the in-process figures.
        cursor, spare = iter(codes[:-400]), iter(codes[-400:])

        def scan(door: int) -> RequestSpec | None:
            code = next(cursor, None)
            if code is None:
                return None
            body = json.dumps(scan_body(code, door)).encode()
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {tokens[door]}"}
            return "POST", f"/api/v1/events/{slug}/checkins", body, headers

        def constant(method: str, path_for: Callable[[int], str]) -> Callable[[int], RequestSpec]:
            return lambda door: (method, path_for(door), b"", {})

        def status_is(expected: int) -> Callable[[int, bytes], bool]:
            return lambda status, _payload: status == expected

        try:
            with (
                gunicorn("_common:bench_app", env, workers=args.workers) as port,
                gunicorn("_common:raw_update_app", env, workers=args.workers) as raw_write_port,
                gunicorn("_common:raw_hello_app", env, workers=args.workers) as raw_hello_port,
            ):
                log(f"eventsys on 127.0.0.1:{port} ({kind}), bare ceiling apps, {args.workers} sync workers each")
                loads = {
                    "scans": Load(port, scan, scanned_ok),
                    "write": Load(port, constant("POST", lambda door: f"/__bench/update?door={door}"), status_is(204)),
                    "write_raw": Load(
                        raw_write_port, constant("POST", lambda door: f"/write?door={door}"), status_is(204)
                    ),
                    "hello": Load(port, constant("GET", lambda _door: "/__bench/hello"), status_is(200)),
                    "hello_raw": Load(raw_hello_port, constant("GET", lambda _door: "/__bench/hello"), status_is(200)),
                }
                log("waiting for every worker to build the app, then warming up")
                for serving in (port, raw_hello_port):
                    until_serving(serving, clients=args.doors)
                for name, load in loads.items():
                    warm = Load(load.port, load.next_request, load.check)
                    warm.slice(0.5 if name == "scans" else 0.3, args.doors)
                    if warm.errors:
                        raise RuntimeError(f"{name}: {warm.errors} errors while warming up")
                for number in range(1, SLICES + 1):
                    for name, load in loads.items():
                        share = args.seconds / SLICES / (2 if name.startswith("hello") else 1)
                        load.slice(share, args.doors)
                    log(
                        f"slice {number}/{SLICES}: "
                        + ", ".join(f"{name} {load.per_s:.0f}/s" for name, load in loads.items())
                    )
                if next(cursor, None) is None:
                    log("warning: the badges ran out before the time was up; raise --badges")
            figures = in_process_scans(app, slug, spare, tokens)
            log(f"in process: {figures}")
        finally:
            if kind == "postgresql":
                drop_ceiling_tables(app)

    scans = loads["scans"]
    for name, load in loads.items():
        if name != "scans" and load.errors:
            raise RuntimeError(f"the {name} ceiling failed {load.errors} requests")
    result = {
        "bench": "checkin",
        "db": kind,
        "doors": args.doors,
        "seconds": round(scans.seconds, 1),
        "workers": args.workers,
        "scans": scans.done,
        "per_s": round(scans.per_s, 1),
        "p50_ms": round(percentile(scans.latencies, 0.50), 1),
        "p99_ms": round(percentile(scans.latencies, 0.99), 1),
        "errors": scans.errors,
        "ceiling_hello_per_s": round(loads["hello"].per_s, 1),
        "ceiling_write_per_s": round(loads["write"].per_s, 1),
        "ratio_write": round(scans.per_s / loads["write"].per_s, 3),
        "ceiling_hello_raw_per_s": round(loads["hello_raw"].per_s, 1),
        "ceiling_write_raw_per_s": round(loads["write_raw"].per_s, 1),
        "ratio_write_raw": round(scans.per_s / loads["write_raw"].per_s, 3),
        "server_cpu_ms": scans.cpu_ms,
        "ceiling_write_server_cpu_ms": loads["write"].cpu_ms,
        "ceiling_write_raw_server_cpu_ms": loads["write_raw"].cpu_ms,
        **figures,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
