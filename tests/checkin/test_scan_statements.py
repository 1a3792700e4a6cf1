"""What one door scan costs in SQL statements, through the real API, on a real SQLite file and on PostgreSQL.

A scan is the busiest request of an event day. A door device's scan reads what it needs in one statement (the
event with the device holding the token, the event's default lists of the candidate days, and one row of the
badge, registration, person and organization), then takes the lock and writes the entry with one INSERT that
looks for a live entry first (``INSERT ... SELECT ... WHERE NOT EXISTS``). On SQLite the write lock is taken
only then (``BEGIN IMMEDIATE`` after the read) and no SAVEPOINT is needed: 3 statements (there were 9, then
7, 6, 5, 4).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from eventsys.checkin import services
from eventsys.checkin.models import CheckIn, DoorDevice
from eventsys.common.tokens import new_token
from eventsys.extensions import db
from tests.checkin.checkin_helpers import attendee, event_today
from tests.registration import test_concurrency as concurrency
from tests.registration.test_concurrency import concurrent_app, setup

postgres_url = concurrency.postgres_url  # fixture: a PostgreSQL schema of its own
sqlite_url = concurrency.sqlite_url  # fixture: an SQLite file


def statements_of_one_scan(url: str) -> tuple[str, list[str]]:
    def build() -> tuple[str, list[str], str]:
        event = event_today(slug=f"q-{secrets.token_hex(4)}")
        codes = [attendee(event).code for _ in range(3)]
        device = DoorDevice(event_id=event.id, name="North door", token=new_token())
        db.session.add(device)
        services.ensure_default_lists(event)
        db.session.flush()
        return event.slug, codes, device.token

    slug, codes, token = setup(url, build)
    app = concurrent_app(url)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def scan(code: str) -> str:
        response = client.post(
            f"/api/v1/events/{slug}/checkins", json={"code": code, "nonce": secrets.token_hex(8)}, headers=headers
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["result"]

    assert scan(codes[0]) == "ok"  # the first scan of a worker reads the event's key once
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        result = scan(codes[1])
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert scan(codes[1]) == "already_checked_in"
    with app.app_context():
        db.engine.dispose()
    return result, seen


def test_one_scan_is_three_statements_on_sqlite_and_locks_after_reading(sqlite_url: str) -> None:
    result, seen = statements_of_one_scan(sqlite_url)
    assert result == "ok"
    assert len(seen) == 3, seen
    read, lock, write = seen
    # The event, the device, the day's list and the admission facts (badge, registration, person, organization).
    assert read.startswith("SELECT") and "FROM event LEFT OUTER JOIN door_device" in read
    assert "LEFT OUTER JOIN checkin_list" in read and "LEFT OUTER JOIN (badge JOIN registration" in read
    assert lock == "BEGIN IMMEDIATE"
    assert write.startswith("INSERT INTO checkin") and "WHERE NOT (EXISTS (SELECT checkin.id" in write


def test_one_scan_on_postgresql(postgres_url: str) -> None:
    result, seen = statements_of_one_scan(postgres_url)
    assert result == "ok"
    assert len(seen) == 5, seen  # the read, the badge's row lock, SAVEPOINT, INSERT (unless live), RELEASE
    assert "FROM event LEFT OUTER JOIN door_device" in seen[0] and "LEFT OUTER JOIN checkin_list" in seen[0]
    assert "FOR UPDATE" in seen[1]
    assert [s.split(" ")[0] for s in seen[2:]] == ["SAVEPOINT", "INSERT", "RELEASE"]


def test_the_row_read_with_the_days_list_is_used_only_after_the_signature(sqlite_url: str) -> None:
    """A forged code naming a real badge reads that badge's row with the day's list, and is still refused."""

    def build() -> tuple[str, str, str]:
        event = event_today(slug=f"f-{secrets.token_hex(4)}")
        code = attendee(event).code
        device = DoorDevice(event_id=event.id, name="West door", token=new_token())
        db.session.add(device)
        db.session.flush()
        return event.slug, code, device.token

    slug, code, token = setup(sqlite_url, build)
    forged = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
    app = concurrent_app(sqlite_url)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def scan(text: str, nonce: str) -> dict:  # type: ignore[type-arg]
        response = client.post(f"/api/v1/events/{slug}/checkins", json={"code": text, "nonce": nonce}, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    # No list exists yet: the day's lists are made on the first scan, whatever the code.
    refused = scan(forged, "n-forged-0001")
    assert refused["result"] == "invalid" and refused["attendee"] is None and refused["checkin"] is None
    assert refused["list"]["id"]
    refused = scan(forged, "n-forged-0002")  # now through the one statement with the day's list
    assert refused["result"] == "invalid" and refused["attendee"] is None
    admitted = scan(code, "n-real-00001")
    assert admitted["result"] == "ok" and admitted["list"] == refused["list"]
    with app.app_context():
        entries = db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn))
        db.session.remove()
        db.engine.dispose()
    assert entries == 1
