"""Twenty doors scan the same badge at the same moment, on PostgreSQL (every run) and SQLite.

Each scan runs in its own thread with its own app context, session and connection, and commits for real,
as concurrent API requests do. The controls switch the badge lock off (``LOCKING_ENABLED = False``, with
``RACE_WINDOW_SECONDS`` keeping a new entry uncommitted a while, as other doors look): then the
database's partial unique index is what refuses the duplicates, and without that index too, the race
checks the badge in several times. So the tests can fail.

PostgreSQL: the schema fixture of tests/registration/test_concurrency.py (a schema of its own on
``TEST_DATABASE_URL`` when it is PostgreSQL, else ``CONCURRENCY_DATABASE_URL``).
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from eventsys.checkin import services
from eventsys.checkin.models import CheckIn, CheckInList
from eventsys.common.db import write_transaction
from eventsys.events.models import Event
from eventsys.extensions import db
from tests.checkin.checkin_helpers import attendee, event_today
from tests.conftest import make_app
from tests.registration.test_concurrency import postgres_url, sqlite_url  # noqa: F401  (fixtures)

DOORS = 20
RACE_WINDOW_SECONDS = 0.05


@dataclass
class Scan:
    result: str | None = None
    raced: bool = False
    unexpected: BaseException | None = None


def race_app(url: str, *, locking: bool = True) -> Flask:
    return make_app(
        url,
        LOCKING_ENABLED=locking,
        RACE_WINDOW_SECONDS=0 if locking else RACE_WINDOW_SECONDS,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": DOORS, "max_overflow": 0, "pool_timeout": 120},
    )


def setup_badge(url: str) -> tuple[int, int, str]:
    """An event happening today with one attendee's badge and a list: (event id, list id, code)."""
    app = make_app(url)
    with app.app_context():
        event = event_today(slug=f"race-{secrets.token_hex(4)}")
        badge = attendee(event)
        checkin_list = services.create_list(event, name="Plenary")
        result = (event.id, checkin_list.id, badge.code)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return result


def scan_attempt(event_id: int, list_id: int, code: str, door: int) -> Callable[[], Scan]:
    def attempt() -> Scan:
        with write_transaction():
            event = db.session.get(Event, event_id)
            checkin_list = db.session.get(CheckInList, list_id)
            result = services.redeem_badge(
                event, code, checkin_list, door=f"Door {door}", nonce=f"race-{door:02d}-{code[:8]}"
            )
            scan = Scan(result=result.result, raced=result.raced)
            db.session.commit()
            return scan

    return attempt


def scan_together(app: Flask, attempts: list[Callable[[], Scan]]) -> list[Scan]:
    barrier = threading.Barrier(len(attempts), timeout=60)
    scans = [Scan() for _ in attempts]

    def work(index: int, attempt: Callable[[], Scan]) -> None:
        barrier.wait()
        with app.app_context():
            try:
                scans[index] = attempt()
            except BaseException as error:  # reported below, never swallowed
                db.session.rollback()
                scans[index] = Scan(unexpected=error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a scan hung"
    with app.app_context():
        db.engine.dispose()
    unexpected = [s.unexpected for s in scans if s.unexpected is not None]
    assert not unexpected, f"{len(unexpected)} scans failed, e.g. {unexpected[0]!r}"
    return scans


def checkin_rows(url: str, list_id: int) -> int:
    app = make_app(url)
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn).where(CheckIn.list_id == list_id))
        db.session.remove()
        db.engine.dispose()
    return count


def twenty_doors(url: str, *, locking: bool = True) -> tuple[list[Scan], int]:
    event_id, list_id, code = setup_badge(url)
    attempts = [scan_attempt(event_id, list_id, code, door) for door in range(DOORS)]
    scans = scan_together(race_app(url, locking=locking), attempts)
    return scans, checkin_rows(url, list_id)


def test_twenty_doors_one_badge_on_postgresql(postgres_url: str) -> None:  # noqa: F811
    scans, rows = twenty_doors(postgres_url)
    assert Counter(s.result for s in scans) == {"ok": 1, "already_checked_in": DOORS - 1}
    assert rows == 1
    assert not any(s.raced for s in scans)  # the lock decided; the index never had to


def test_twenty_doors_one_badge_on_sqlite(sqlite_url: str) -> None:  # noqa: F811
    scans, rows = twenty_doors(sqlite_url)
    assert Counter(s.result for s in scans) == {"ok": 1, "already_checked_in": DOORS - 1}
    assert rows == 1


def test_control_without_the_lock_the_database_index_refuses_the_duplicates(postgres_url: str) -> None:  # noqa: F811
    scans, rows = twenty_doors(postgres_url, locking=False)
    raced = sum(s.raced for s in scans)
    assert raced > 0, "without the lock several doors should reach the insert; if not, the test proves nothing"
    assert Counter(s.result for s in scans) == {"ok": 1, "already_checked_in": DOORS - 1}
    assert rows == 1


def test_control_without_the_lock_and_the_index_the_badge_checks_in_many_times(postgres_url: str) -> None:  # noqa: F811
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX uq_checkin_live_entry"))
    try:
        scans, rows = twenty_doors(postgres_url, locking=False)
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM checkin"))
            connection.execute(
                sa.text(
                    "CREATE UNIQUE INDEX uq_checkin_live_entry ON checkin (badge_id, list_id) "
                    "WHERE direction = 'in' AND closed_at IS NULL AND annulled_at IS NULL"
                )
            )
        engine.dispose()
    oks = Counter(s.result for s in scans)["ok"]
    assert oks > 1 and rows == oks, "with neither the lock nor the index, the race should let the badge in twice"
