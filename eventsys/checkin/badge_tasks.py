"""Queue job that renders an organizer's bulk badge PDF (run by the Huey worker, eagerly in tests)."""

from __future__ import annotations

from eventsys.checkin import badges
from eventsys.checkin.models import BadgeBatch, BadgeBatchStatus
from eventsys.common.db import utcnow
from eventsys.common.tasks import app_task
from eventsys.extensions import db


@app_task()
def run_badge_batch(batch_id: int) -> None:
    """Render one bulk badge PDF; a failure is recorded on the batch (and re-raised for the worker log)."""
    batch = db.session.get(BadgeBatch, batch_id)
    if batch is None or batch.status is not BadgeBatchStatus.QUEUED:
        return
    try:
        badges.render_batch(batch)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        batch = db.session.get(BadgeBatch, batch_id)
        if batch is not None:
            batch.status = BadgeBatchStatus.FAILED
            batch.error = f"{type(error).__name__}: {error}"[:1000]
            batch.finished_at = utcnow()
            db.session.commit()
        raise
