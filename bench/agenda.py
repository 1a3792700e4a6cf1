"""Agenda: render time of the public agenda page and of agenda.ics for 300 sessions, 150 speakers, 8 rooms.

Serves ``wsgi:app`` with gunicorn (production config, sync workers) on 127.0.0.1 and a free port, on a temporary
SQLite database migrated with ``flask db upgrade heads`` (or on ``DATABASE_URL``). Builds two published agendas
in the same database, 300 sessions (150 speakers, 8 rooms) and 30 sessions (15 speakers, 8 rooms), then requests
``/events/<slug>/agenda`` and ``/events/<slug>/agenda.ics`` of the big one one at a time (a fresh connection
each, no If-None-Match, so every request renders) and reports the medians. The SQL query counts come from the
same views run in-process with a ``before_cursor_execute`` listener, for both sizes: they must be equal.

Prints progress to stderr and one JSON line last on stdout.
"""

from __future__ import annotations

import http.client
import json
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import arguments, bench_env, db_kind, deadline, gunicorn, logger, make_app, migrate

WORKERS = 2

log = logger("agenda")


def build_agenda(sessions: int, speakers: int, rooms: int, tag: str) -> str:
    """A published event with ``sessions`` sessions over ``rooms`` rooms, two speakers each; returns its slug."""
    from eventsys.agenda import services
    from eventsys.agenda.models import Room, Session, SessionFormat, SessionKind, SessionSpeaker, SpeakerRole
    from eventsys.events.models import (
        Event,
        EventFormat,
        EventKind,
        EventStatus,
        Organization,
        OrganizationKind,
        Person,
    )
    from eventsys.extensions import db

    start = datetime(2030, 10, 17, 15, 0, tzinfo=UTC)  # 09:00 in Mexico City
    event = Event(
        name=f"Bench General Assembly {tag}",
        slug=f"bench-agenda-{tag}",
        kind=EventKind.GENERAL_ASSEMBLY,
        format=EventFormat.HYBRID,
        timezone="America/Mexico_City",
        starts_at=start,
        ends_at=start + timedelta(days=3),
        venue_name="Mexico City",
        venue_address="Mexico City, Mexico",
        status=EventStatus.PUBLISHED,
    )
    organization = Organization(name=f"Bench organization {tag}", kind=OrganizationKind.CITY, country="MX")
    db.session.add_all([event, organization])
    db.session.flush()
    room_rows = [Room(event_id=event.id, name=f"Room {i + 1}", capacity=120, position=i) for i in range(rooms)]
    people = [
        Person(
            name=f"Speaker {i + 1}",
            title="Director of Digital Government",
            email=f"speaker{i + 1}@{tag}.bench.example.org",
            organization=organization,
            bio="Works on smart city programmes; speaks on open data, digital inclusion and ethics.",
        )
        for i in range(speakers)
    ]
    db.session.add_all(room_rows + people)
    db.session.flush()
    kinds = list(SessionKind)
    formats = list(SessionFormat)
    per_day = sessions // 3 + 1
    for i in range(sessions):
        day, slot_in_day = divmod(i, per_day)
        slot = start + timedelta(days=day, minutes=45 * (slot_in_day // rooms))
        session = Session(
            event_id=event.id,
            title=f"Session {i + 1}: smart cities, data and citizens, part {i % 7 + 1}",
            description="A session of the benchmark agenda, with a description of a few sentences. " * 3,
            kind=kinds[i % len(kinds)],
            format=formats[i % len(formats)],
            starts_at=slot,
            ends_at=slot + timedelta(minutes=40),
            room_id=room_rows[i % rooms].id,
            stream_url="https://stream.example.org/bench",
        )
        session.speakers = [
            SessionSpeaker(person=people[(2 * i) % speakers], role=SpeakerRole.SPEAKER, position=0),
            SessionSpeaker(person=people[(2 * i + 1) % speakers], role=SpeakerRole.MODERATOR, position=1),
        ]
        db.session.add(session)
    db.session.flush()
    services.publish_agenda(event, None, services.draft_digest(event))
    db.session.commit()
    return event.slug


def count_queries(app, url: str) -> int:  # type: ignore[no-untyped-def]
    """How many SQL statements one anonymous GET of ``url`` runs (in-process, the same views)."""
    import sqlalchemy as sa

    from eventsys.extensions import db

    counted: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        counted.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        response = app.test_client().get(url)
        assert response.status_code == 200, (url, response.status_code)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return len(counted)


def uncached_ms(app, url: str, rounds: int = 5) -> float:  # type: ignore[no-untyped-def]
    """The median in-process time of ``url`` with the per-process cache of rendered versions emptied each time."""
    from eventsys.agenda import views

    client = app.test_client()
    timings = []
    for _ in range(rounds):
        views._RENDERED.clear()
        started = time.perf_counter()
        assert client.get(url).status_code == 200
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 2)


def fetch(port: int, path: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Accept-Language": "en"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000, response.status, len(body)


def measure(port: int, path: str, requests: int) -> tuple[float, int]:
    timings = []
    size = 0
    for _ in range(requests):
        elapsed, status, size = fetch(port, path)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        timings.append(elapsed)
    return statistics.median(timings), size


def main() -> int:
    parser = arguments(__doc__, deadline=110.0)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--speakers", type=int, default=150)
    parser.add_argument("--rooms", type=int, default=8)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="eventsys-bench-") as tmp, deadline(args.deadline):
        env = bench_env(tmp)
        kind = db_kind(env)
        migrate(env, log)
        app = make_app(env)
        tag = secrets.token_hex(3)
        log(f"building agendas: {args.sessions} and {args.sessions // 10} sessions ({kind})")
        with app.app_context():
            big = build_agenda(args.sessions, args.speakers, args.rooms, f"big-{tag}")
            small = build_agenda(args.sessions // 10, max(args.speakers // 10, 2), args.rooms, f"small-{tag}")
        queries = {
            size: (
                count_queries(app, f"/events/{slug}/agenda"),
                count_queries(app, f"/events/{slug}/agenda.ics"),
            )
            for size, slug in (("big", big), ("small", small))
        }
        log(f"query counts (page, ics): {queries}")
        uncached = {
            name: uncached_ms(app, f"/events/{big}/{path}")
            for name, path in (("page", "agenda"), ("ics", "agenda.ics"))
        }
        log(f"uncached in-process renders (ms): {uncached}")
        with app.app_context():
            from eventsys.extensions import db

            db.engine.dispose()

        with gunicorn("wsgi:app", env, workers=WORKERS) as port:
            log(f"eventsys on 127.0.0.1:{port}, {WORKERS} sync workers")
            for path in (f"/events/{big}/agenda", f"/events/{big}/agenda.ics"):
                measure(port, path, 10)  # warm-up: every worker imports, connects and renders once
            page_p50, page_bytes = measure(port, f"/events/{big}/agenda", args.requests)
            ics_p50, ics_bytes = measure(port, f"/events/{big}/agenda.ics", args.requests)

    result = {
        "bench": "agenda",
        "db": kind,
        "sessions": args.sessions,
        "speakers": args.speakers,
        "rooms": args.rooms,
        "requests": args.requests,
        "page_p50_ms": round(page_p50, 2),
        "ics_p50_ms": round(ics_p50, 2),
        "page_queries": queries["big"][0],
        "ics_queries": queries["big"][1],
        "page_queries_small": queries["small"][0],
        "ics_queries_small": queries["small"][1],
        "queries_fixed": queries["big"] == queries["small"],
        "page_uncached_ms": uncached["page"],
        "ics_uncached_ms": uncached["ics"],
        "page_bytes": page_bytes,
        "ics_bytes": ics_bytes,
        "workers": WORKERS,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
