"""SQLite's write lock taken late: registrations and scans read first and lock only to decide, and stay correct.

A registration POST and a door scan begin their SQLite transaction without BEGIN (``late_write_lock``): the
form, the signature and the lookups run while other writers work, and the service takes the write lock
(``claim_write_lock``) just before it counts seats or looks for a live entry. These tests check the
mechanism itself on a real SQLite file (no snapshot is held before the claim; a write before the claim
claims first; the claim re-reads the event's limits), then run registrations through the real form and
scans through the real API from many threads at once, on SQLite and PostgreSQL: no overbooking, one entry.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa

from eventsys.checkin import services as checkin_services
from eventsys.checkin.models import CheckIn, DoorDevice
from eventsys.common.db import claim_write_lock, write_transaction
from eventsys.common.errors import DomainError
from eventsys.common.tokens import new_token
from eventsys.events.models import Event, EventStatus, Person
from eventsys.extensions import db
from eventsys.registration.models import Registration, RegistrationStatus
from eventsys.registration.services import register_attendee
from tests import factories
from tests.checkin.checkin_helpers import attendee, event_today
from tests.conftest import make_app
from tests.registration import test_concurrency as concurrency
from tests.registration.conftest import Sent, data
from tests.registration.test_concurrency import (
    CONNECTIONS,
    Outcome,
    concurrent_app,
    in_db,
    new_event,
    run_together,
    setup,
)

# The fixtures of the concurrency tests: a PostgreSQL schema of their own, an SQLite file, recorded notifications.
postgres_url = concurrency.postgres_url
sqlite_url = concurrency.sqlite_url
sent = concurrency.sent

S = RegistrationStatus
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Statements:
    """The SQL statements an engine runs while recording."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.seen: list[str] = []

    def __enter__(self) -> list[str]:
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(" ".join(statement.split()))


# --- the mechanism, on an SQLite file ------------------------------------------------------------------


def test_a_late_transaction_reads_what_others_commit_until_it_claims_the_lock(sqlite_url: str) -> None:
    event_id = setup(sqlite_url, new_event(10))
    app = make_app(sqlite_url)
    with app.app_context(), write_transaction(late=True):
        assert db.session.get(Event, event_id).capacity == 10
        with db.engine.begin() as other:  # another writer, while this transaction has only read
            other.execute(sa.update(Event).where(Event.id == event_id).values(capacity=11))
        # No snapshot was kept: the next read sees the other writer's commit.
        assert db.session.scalar(sa.select(Event.capacity).where(Event.id == event_id)) == 11
        with Statements(db.engine) as seen:
            assert claim_write_lock(db.session) is True
            assert claim_write_lock(db.session) is False  # once per transaction
        assert seen == ["BEGIN IMMEDIATE"]
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_a_write_before_the_claim_takes_the_lock_first(sqlite_url: str) -> None:
    app = make_app(sqlite_url)
    with app.app_context(), write_transaction(late=True):
        with Statements(db.engine) as seen:
            db.session.add(Person(name="Early Writer", email=f"early-{secrets.token_hex(3)}@example.org"))
            db.session.flush()
            assert claim_write_lock(db.session) is False  # the flush claimed it already
        assert seen[0] == "BEGIN IMMEDIATE" and seen[1].startswith("INSERT INTO person")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def test_only_the_marked_views_begin_late(sqlite_url: str) -> None:
    """A registration POST begins without BEGIN; any other POST holds the write lock from its first statement."""
    app = make_app(sqlite_url)
    for path, first in (("/events/any/register", "SELECT 1"), ("/language", "BEGIN IMMEDIATE"), ("/", "BEGIN")):
        with app.test_request_context(path, method="GET" if path == "/" else "POST"), Statements(db.engine) as seen:
            db.session.execute(sa.text("SELECT 1"))
            db.session.rollback()
        assert seen[0] == first, (path, seen)
    with app.app_context():
        db.engine.dispose()


def test_the_service_rereads_the_capacity_when_it_claims_late(sqlite_url: str, sent: Sent) -> None:
    """An organizer lowers the capacity between the form's read and the registration's decision."""
    event_id = setup(sqlite_url, new_event(1))
    app = make_app(sqlite_url)
    with app.app_context(), write_transaction(late=True):
        event = db.session.get(Event, event_id)
        assert event.capacity == 1
        with db.engine.begin() as other:
            other.execute(sa.update(Event).where(Event.id == event_id).values(capacity=0))
        registration = register_attendee(event, data("late-capacity"))
        assert registration.status is S.WAITLISTED  # decided on the capacity read under the lock
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


# --- many registrations at once through the real form --------------------------------------------------


def late_register_attempt(event_id: int, n: str) -> Callable[[], Outcome]:
    """The service in a late transaction, as the registration view runs it."""

    def attempt() -> Outcome:
        with write_transaction(late=True):
            event = db.session.get(Event, event_id)
            try:
                registration = register_attendee(event, data(n))
            except DomainError as error:
                db.session.rollback()
                return Outcome(error_code=error.code, error_message=error.message)
            outcome = Outcome(status=registration.status, mode=registration.mode)
            db.session.commit()
            return outcome

    return attempt


def test_200_late_registrations_for_50_seats_on_sqlite(sqlite_url: str, sent: Sent) -> None:
    event_id = setup(sqlite_url, new_event(50))
    tag = secrets.token_hex(3)
    outcomes = run_together(
        concurrent_app(sqlite_url), [late_register_attempt(event_id, f"{tag}-{i}") for i in range(200)]
    )
    facts = in_db(sqlite_url, event_id)
    assert Counter(o.status for o in outcomes) == {S.CONFIRMED: 50, S.WAITLISTED: 150}
    assert facts["held"] == 50 and facts["rows"] == 200 and facts["people"] == 200


def threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released together; every result (or exception) is returned."""
    barrier = threading.Barrier(count, timeout=60)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as error:  # reported by the caller, never swallowed
            results[index] = error

    pool = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in pool), "a request hung"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} requests failed, e.g. {errors[0]!r}"
    return results


def form_registrations(url: str, attempts: int, seats: int) -> tuple[list[object], int]:
    def build() -> str:
        event = factories.EventFactory(capacity=seats, status=EventStatus.PUBLISHED, slug=f"l-{secrets.token_hex(4)}")
        db.session.flush()
        return event.slug

    slug = setup(url, build)
    app = concurrent_app(url)
    clients = []
    for _ in range(attempts):
        client = app.test_client()
        page = client.get(f"/events/{slug}/register").get_data(as_text=True)
        clients.append((client, CSRF_RE.search(page).group(1)))  # type: ignore[union-attr]
    tag = secrets.token_hex(3)

    def post(i: int) -> int:
        client, token = clients[i]
        form = {"csrf_token": token, "name": f"Form {i}", "email": f"form-{tag}-{i}@example.org"}
        form.update({"mode": "in_person", "when_full": "waitlist", "language": "en", "consent": "y"})
        return client.post(f"/events/{slug}/register", data=form).status_code

    statuses = threads(attempts, post)
    with app.app_context():
        event_id = db.session.scalar(sa.select(Event.id).where(Event.slug == slug))
        db.session.remove()
        db.engine.dispose()
    return statuses, event_id


def test_registrations_through_the_form_at_once_on_sqlite(sqlite_url: str, sent: Sent) -> None:
    statuses, event_id = form_registrations(sqlite_url, CONNECTIONS, 5)
    facts = in_db(sqlite_url, event_id)
    assert statuses == [302] * CONNECTIONS
    assert facts["statuses"] == {S.CONFIRMED: 5, S.WAITLISTED: CONNECTIONS - 5} and facts["held"] == 5


def test_registrations_through_the_form_at_once_on_postgresql(postgres_url: str, sent: Sent) -> None:
    statuses, event_id = form_registrations(postgres_url, CONNECTIONS, 5)
    facts = in_db(postgres_url, event_id)
    assert statuses == [302] * CONNECTIONS
    assert facts["statuses"] == {S.CONFIRMED: 5, S.WAITLISTED: CONNECTIONS - 5} and facts["held"] == 5


# --- many doors scanning one badge at once through the real API ----------------------------------------


def api_scans(url: str, doors: int) -> tuple[Counter[str], int]:
    """``doors`` doors scan one attendee's badge at once: (results, check-in rows)."""

    def build() -> tuple[str, str, list[str]]:
        event = event_today(slug=f"d-{secrets.token_hex(4)}")
        badge = attendee(event)
        devices = [DoorDevice(event_id=event.id, name=f"Door {i}", token=new_token()) for i in range(doors)]
        db.session.add_all(devices)
        checkin_services.ensure_default_lists(event)
        db.session.flush()
        return event.slug, badge.code, [d.token for d in devices]

    slug, code, tokens = setup(url, build)
    app = concurrent_app(url)

    def scan(i: int) -> str:
        response = app.test_client().post(
            f"/api/v1/events/{slug}/checkins",
            json={"code": code, "nonce": f"door-{i:02d}-{secrets.token_hex(4)}"},
            headers={"Authorization": f"Bearer {tokens[i]}"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["result"]

    results = Counter(threads(doors, scan))
    with app.app_context():
        rows = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(CheckIn)
            .join(DoorDevice, DoorDevice.id == CheckIn.device_id)
            .where(DoorDevice.token.in_(tokens))
        )
        db.session.remove()
        db.engine.dispose()
    return results, rows


def test_doors_scanning_one_badge_at_once_through_the_api_on_sqlite(sqlite_url: str) -> None:
    results, rows = api_scans(sqlite_url, CONNECTIONS)
    assert results == {"ok": 1, "already_checked_in": CONNECTIONS - 1}
    assert rows == 1


def test_doors_scanning_one_badge_at_once_through_the_api_on_postgresql(postgres_url: str) -> None:
    results, rows = api_scans(postgres_url, CONNECTIONS)
    assert results == {"ok": 1, "already_checked_in": CONNECTIONS - 1}
    assert rows == 1


def test_registration_rows_are_whole(sqlite_url: str, sent: Sent) -> None:
    """A late registration writes its person and registration together (nothing half-written on a refusal)."""
    event_id = setup(sqlite_url, new_event(0))
    app = make_app(sqlite_url)
    with app.app_context(), write_transaction(late=True):
        event = db.session.get(Event, event_id)
        try:
            register_attendee(event, data("refused"), when_full="refuse")
        except DomainError as error:
            assert error.code == "in_person_full"
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 0
        assert db.session.scalar(sa.select(Person.id).where(Person.email == "attendeerefused@example.org")) is None
        db.session.remove()
        db.engine.dispose()


# --- what one registration and one scan cost, in SQL statements ----------------------------------------


def statements_of_one_registration(url: str) -> list[str]:
    def build() -> str:
        event = factories.EventFactory(capacity=50, status=EventStatus.PUBLISHED, slug=f"s-{secrets.token_hex(4)}")
        factories.OrganizationFactory(name="Seoul Metropolitan Government")
        db.session.flush()
        return event.slug

    slug = setup(url, build)
    app = concurrent_app(url)
    client = app.test_client()
    page = client.get(f"/events/{slug}/register").get_data(as_text=True)
    form = {"csrf_token": CSRF_RE.search(page).group(1), "name": "Kim Min-ji", "email": "minji@example.org"}  # type: ignore[union-attr]
    form.update({"organization": "Seoul Metropolitan Government", "mode": "in_person", "consent": "y"})
    form.update({"when_full": "waitlist", "language": "en"})
    with app.app_context():
        engine = db.engine
    with Statements(engine) as seen:
        assert client.post(f"/events/{slug}/register", data=form).status_code == 302
    with app.app_context():
        db.engine.dispose()
    return seen


def test_one_registration_reads_first_and_locks_late_in_five_statements_on_sqlite(sqlite_url: str, sent: Sent) -> None:
    seen = statements_of_one_registration(sqlite_url)
    assert seen[0].startswith("SELECT event.id")  # the event, before any lock
    assert seen[1] == "BEGIN IMMEDIATE"  # the write lock, taken by the service
    # The lock; the limits and quotas with the person, their registration, the organization and the seat counts;
    # two INSERTs.
    assert len(seen) == 5, seen
    assert [s.split(" (")[0] for s in seen if s.startswith("INSERT")] == [
        "INSERT INTO person",
        "INSERT INTO registration",
    ]


def test_one_registration_on_postgresql(postgres_url: str, sent: Sent) -> None:
    seen = statements_of_one_registration(postgres_url)
    assert any("FOR UPDATE" in s for s in seen)  # the event's row lock
    core = [s for s in seen if not s.startswith(("SAVEPOINT", "RELEASE"))]
    assert len(core) == 5, seen  # event, lock, limits, quotas, person, organization and counts, two INSERTs
