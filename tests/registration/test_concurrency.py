"""No overbooking under concurrency, on PostgreSQL (every run) and SQLite.

Each attempt runs in its own thread with its own app context, so its own session and database
connection, and commits for real, as concurrent web requests do. The control tests switch the lock off
(``LOCKING_ENABLED = False``) and widen the gap between counting and writing (``RACE_WINDOW_SECONDS``,
read by the services only when locking is off): they must show the race, proving the tests can fail.

PostgreSQL: ``TEST_DATABASE_URL`` when it is PostgreSQL, otherwise ``CONCURRENCY_DATABASE_URL``
(default: the local server's ``test`` database). The tests run in a schema of their own, created and
dropped here, so they never touch the main test tables. If PostgreSQL is unreachable they fail.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from eventsys.common.db import write_transaction
from eventsys.common.errors import DomainError
from eventsys.events.models import Category, Event, EventStatus
from eventsys.extensions import db
from eventsys.invitations.models import Invitation
from eventsys.registration.models import Mode, Registration, RegistrationStatus
from eventsys.registration.services import cancel_registration, register_attendee
from tests import factories
from tests.conftest import make_app
from tests.registration.conftest import Sent, data, replace_notifications

S = RegistrationStatus
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
DEFAULT_PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
#: Concurrent connections per test: real contention, while leaving room on a server others share.
CONNECTIONS = 20
RACE_WINDOW_SECONDS = 0.05


def postgres_base_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith("postgres"):
        return url
    return os.environ.get("CONCURRENCY_DATABASE_URL") or DEFAULT_PG_URL


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh schema on PostgreSQL with every table; dropped at the end."""
    base = postgres_base_url()
    shown = sa.make_url(base).render_as_string(hide_password=True)
    engine = sa.create_engine(base, poolclass=sa.pool.NullPool)
    schema = f"concurrency_{secrets.token_hex(4)}"
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:
        pytest.fail(
            f"The concurrency tests need PostgreSQL, but {shown} is unreachable ({error.orig}).\n"
            f"Start it with: {START_POSTGRES}\n"
            "or point CONCURRENCY_DATABASE_URL at a PostgreSQL database you may use.",
            pytrace=False,
        )
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options=-csearch_path%3D{schema}"
    app = make_app(url)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    try:
        yield url
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'concurrency.db'}"
    app = make_app(url)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return url


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Notifications are recorded, not mailed (list.append is thread-safe)."""
    record = Sent()
    replace_notifications(monkeypatch, record)
    return record


def concurrent_app(url: str, *, locking: bool = True) -> Flask:
    return make_app(
        url,
        LOCKING_ENABLED=locking,
        RACE_WINDOW_SECONDS=0 if locking else RACE_WINDOW_SECONDS,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": CONNECTIONS, "max_overflow": 0, "pool_timeout": 120},
    )


@dataclass
class Outcome:
    status: RegistrationStatus | None = None
    mode: Mode | None = None
    error_code: str | None = None
    error_message: str | None = None
    unexpected: BaseException | None = None


def run_together(app: Flask, attempts: list[Callable[[], Outcome]]) -> list[Outcome]:
    """Run every attempt in its own thread (own app context, session and connection), all released at once."""
    barrier = threading.Barrier(len(attempts), timeout=60)
    outcomes: list[Outcome] = [Outcome() for _ in attempts]

    def work(index: int, attempt: Callable[[], Outcome]) -> None:
        barrier.wait()
        with app.app_context():
            try:
                outcomes[index] = attempt()
            except BaseException as error:  # reported by the test, never swallowed
                db.session.rollback()
                outcomes[index] = Outcome(unexpected=error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an attempt hung"
    with app.app_context():
        db.engine.dispose()
    unexpected = [o.unexpected for o in outcomes if o.unexpected is not None]
    assert not unexpected, f"{len(unexpected)} attempts failed unexpectedly, e.g. {unexpected[0]!r}"
    return outcomes


def register_attempt(event_id: int, n: str, *, when_full: str = "waitlist", invitation_id: int | None = None):
    def attempt() -> Outcome:
        with write_transaction():
            event = db.session.get(Event, event_id)
            invitation = db.session.get(Invitation, invitation_id) if invitation_id else None
            email = invitation.person.email if invitation else None
            try:
                registrant = data(n, email=email) if email else data(n)
                registration = register_attendee(event, registrant, invitation=invitation, when_full=when_full)
            except DomainError as error:
                db.session.rollback()
                return Outcome(error_code=error.code, error_message=error.message)
            outcome = Outcome(status=registration.status, mode=registration.mode)
            db.session.commit()
            return outcome

    return attempt


def cancel_attempt(registration_id: int) -> Callable[[], Outcome]:
    def attempt() -> Outcome:
        with write_transaction():
            registration = db.session.get(Registration, registration_id)
            cancel_registration(registration)
            outcome = Outcome(status=registration.status)
            db.session.commit()
            return outcome

    return attempt


def setup(url: str, build: Callable[[], Any]) -> Any:
    """Create rows with real commits and return what ``build`` returns (ids, not objects)."""
    app = make_app(url)
    with app.app_context():
        result = build()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return result


def new_event(capacity: int) -> Callable[[], int]:
    def build() -> int:
        event = factories.EventFactory(
            capacity=capacity, status=EventStatus.PUBLISHED, slug=f"c-{secrets.token_hex(4)}"
        )
        db.session.flush()
        return event.id

    return build


def in_db(url: str, event_id: int) -> dict[str, Any]:
    """What the database holds for the event after the run."""
    app = make_app(url)
    with app.app_context():
        regs = db.session.scalars(sa.select(Registration).where(Registration.event_id == event_id)).all()
        held = [r for r in regs if r.mode is Mode.IN_PERSON and r.status in (S.CONFIRMED, S.OFFERED)]
        facts = {
            "rows": len(regs),
            "people": len({r.person_id for r in regs}),
            "statuses": Counter(r.status for r in regs),
            "held": len(held),
            "held_by_category": Counter(r.category for r in held),
            "offered_ids": sorted(r.id for r in regs if r.status is S.OFFERED),
            "by_id": {r.id: r.status for r in regs},
        }
        db.session.remove()
        db.engine.dispose()
    return facts


def registrations_200_for_50(url: str, *, when_full: str = "waitlist", locking: bool = True):
    event_id = setup(url, new_event(50))
    tag = secrets.token_hex(3)
    attempts = [register_attempt(event_id, f"{tag}-{i}", when_full=when_full) for i in range(200)]
    outcomes = run_together(concurrent_app(url, locking=locking), attempts)
    return outcomes, in_db(url, event_id)


# --- PostgreSQL ---------------------------------------------------------------------------------------


def test_200_registrations_for_50_seats_on_postgresql(postgres_url: str, sent: Sent) -> None:
    outcomes, facts = registrations_200_for_50(postgres_url)
    told = Counter(o.status for o in outcomes)
    assert told == {S.CONFIRMED: 50, S.WAITLISTED: 150}
    assert facts["held"] == 50
    assert facts["statuses"] == {S.CONFIRMED: 50, S.WAITLISTED: 150}
    assert facts["rows"] == 200 and facts["people"] == 200  # nothing lost, nothing doubled


def test_200_registrations_for_50_seats_refusing_when_full(postgres_url: str, sent: Sent) -> None:
    outcomes, facts = registrations_200_for_50(postgres_url, when_full="refuse")
    assert Counter(o.status for o in outcomes if o.status) == {S.CONFIRMED: 50}
    refused = [o for o in outcomes if o.error_code]
    assert len(refused) == 150 and {o.error_code for o in refused} == {"in_person_full"}
    assert all("waiting list" in (o.error_message or "") for o in refused)
    assert facts["rows"] == 50 and facts["held"] == 50 and facts["people"] == 50


def test_a_category_quota_holds_under_concurrency(postgres_url: str, sent: Sent) -> None:
    def build() -> tuple[int, list[int]]:
        event = factories.EventFactory(capacity=50, slug=f"q-{secrets.token_hex(4)}")
        factories.CategoryQuotaFactory(event=event, category=Category.EMBASSY, seats=20)
        invitations = [factories.InvitationFactory(event=event, category=Category.EMBASSY) for _ in range(100)]
        db.session.flush()
        return event.id, [i.id for i in invitations]

    event_id, invitation_ids = setup(postgres_url, build)
    tag = secrets.token_hex(3)
    attempts = [register_attempt(event_id, f"{tag}-e{i}", invitation_id=inv) for i, inv in enumerate(invitation_ids)]
    attempts += [register_attempt(event_id, f"{tag}-p{i}") for i in range(100)]
    outcomes = run_together(concurrent_app(postgres_url), attempts)
    facts = in_db(postgres_url, event_id)
    assert facts["held_by_category"] == {Category.EMBASSY: 20, None: 30}
    assert facts["held"] == 50 and facts["rows"] == 200 and facts["people"] == 200
    assert Counter(o.status for o in outcomes) == {S.CONFIRMED: 50, S.WAITLISTED: 150}


def promotion_setup(url: str) -> tuple[int, list[int], list[int]]:
    """30 seats, all confirmed, and 10 people waiting; returns (event, the confirmed, the waiting)."""

    def build() -> tuple[int, list[int], list[int]]:
        event = factories.EventFactory(capacity=30, slug=f"p-{secrets.token_hex(4)}")
        tag = secrets.token_hex(3)
        regs = [register_attendee(event, data(f"{tag}-{i}")) for i in range(40)]
        db.session.flush()
        assert Counter(r.status for r in regs) == {S.CONFIRMED: 30, S.WAITLISTED: 10}
        return event.id, [r.id for r in regs[:30]], [r.id for r in regs[30:]]

    return setup(url, build)


def test_concurrent_cancellations_promote_each_waiting_person_once(postgres_url: str, sent: Sent) -> None:
    event_id, confirmed, waiting = promotion_setup(postgres_url)
    sent.calls.clear()
    outcomes = run_together(concurrent_app(postgres_url), [cancel_attempt(r) for r in confirmed[:10]])
    assert {o.status for o in outcomes} == {S.CANCELLED}
    facts = in_db(postgres_url, event_id)
    assert facts["offered_ids"] == sorted(waiting)  # exactly the 10 waiting people, one offer each
    assert facts["held"] == 30  # 20 confirmed + 10 offers, never more than capacity
    offers = [reg_id for kind, reg_id in sent.calls if kind == "offered"]
    assert sorted(offers) == sorted(waiting)  # nobody promoted (and emailed) twice


# --- controls: without the lock, the race shows ----------------------------------------------------------


def test_control_without_the_lock_registrations_overbook(postgres_url: str, sent: Sent) -> None:
    _outcomes, facts = registrations_200_for_50(postgres_url, locking=False)
    assert facts["held"] > 50, "without the lock the race should overbook; if not, the test proves nothing"


def test_control_without_the_lock_promotions_collide(postgres_url: str, sent: Sent) -> None:
    event_id, confirmed, _waiting = promotion_setup(postgres_url)
    sent.calls.clear()
    run_together(concurrent_app(postgres_url, locking=False), [cancel_attempt(r) for r in confirmed[:10]])
    offers = Counter(reg_id for kind, reg_id in sent.calls if kind == "offered")
    facts = in_db(postgres_url, event_id)
    assert max(offers.values()) > 1, "without the lock the same person should be promoted more than once"
    assert len(facts["offered_ids"]) < 10  # and seats stay empty while people wait


# --- SQLite -------------------------------------------------------------------------------------------


def test_200_registrations_for_50_seats_on_sqlite(sqlite_url: str, sent: Sent) -> None:
    outcomes, facts = registrations_200_for_50(sqlite_url)
    assert Counter(o.status for o in outcomes) == {S.CONFIRMED: 50, S.WAITLISTED: 150}
    assert facts["held"] == 50 and facts["rows"] == 200 and facts["people"] == 200


def test_concurrent_cancellations_on_sqlite(sqlite_url: str, sent: Sent) -> None:
    event_id, confirmed, waiting = promotion_setup(sqlite_url)
    sent.calls.clear()
    run_together(concurrent_app(sqlite_url), [cancel_attempt(r) for r in confirmed[:10]])
    facts = in_db(sqlite_url, event_id)
    assert facts["offered_ids"] == sorted(waiting) and facts["held"] == 30
