"""Row locks that serialize capacity decisions for one event.

On PostgreSQL, ``lock_event`` takes ``SELECT ... FOR UPDATE`` on the event row: every transaction that
counts or hands out seats for that event queues behind it until commit, and other events are not
affected. On SQLite, writing transactions already hold the database's single write lock from BEGIN
(BEGIN IMMEDIATE, see ``eventsys.common.db.write_transaction``), which serializes them as well.

The lock is taken once per transaction, as late as possible but before anything is counted.
``LOCKING_ENABLED = False`` in the config switches it off: a test-only switch for the control tests
that show the race happens without it.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from eventsys.events.models import Event
from eventsys.extensions import db


def lock_event(event_id: int) -> None:
    """Serialize capacity decisions for ``event_id`` until the end of the current transaction."""
    if not current_app.config.get("LOCKING_ENABLED", True):
        return
    if db.session.get_bind().dialect.name == "sqlite":
        return  # the transaction holds SQLite's write lock from BEGIN IMMEDIATE
    db.session.execute(sa.select(Event.id).where(Event.id == event_id).with_for_update())
