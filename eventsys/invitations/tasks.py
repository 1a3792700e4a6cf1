"""Queue jobs that email invitations and reminders (run by the Huey worker, eagerly in tests)."""

from __future__ import annotations

from flask import current_app

from eventsys.common.db import utcnow
from eventsys.common.mail import MailConnection
from eventsys.common.tasks import app_task
from eventsys.extensions import db
from eventsys.invitations import services
from eventsys.invitations.models import BulkSend, Invitation


@app_task()
def send_one_invitation(invitation_id: int, kind: str) -> None:
    """Email one invitation (an organizer's "send" or "send again")."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        return
    services.deliver_invitation(invitation, services.BulkKind(kind))
    db.session.commit()


@app_task()
def run_bulk_send(bulk_id: int, invitation_ids: list[int]) -> None:
    """Email every invitation of a bulk send over one SMTP connection, committing progress after each.

    Each invitation is checked again before sending: one answered or sent meanwhile is left out (and
    taken off the total). The progress is committed after every message, so the organizer's page shows
    it live and a crash halfway loses nothing already recorded.
    """
    bulk = db.session.get(BulkSend, bulk_id)
    if bulk is None:
        return
    kind = services.BulkKind(bulk.kind)
    connection = MailConnection(current_app.config)
    try:
        for invitation_id in invitation_ids:
            invitation = db.session.get(Invitation, invitation_id)
            if invitation is None or not services.still_due(invitation, kind, since=bulk.created_at):
                bulk.total = max(bulk.total - 1, bulk.done)
                db.session.commit()
                continue
            # The connection opens on first use and again after a broken one, so an unreachable server
            # fails this message (recorded) and the next one tries again.
            error_text = services.deliver_invitation(invitation, kind, connection)
            services.record_bulk_progress(bulk, invitation, error_text)
            db.session.commit()
    except Exception:
        db.session.rollback()  # record the end of the send below, then let the worker log the error
        raise
    finally:
        connection.close()
        bulk = db.session.get(BulkSend, bulk_id)
        if bulk is not None:
            bulk.finished_at = utcnow()
            db.session.commit()
