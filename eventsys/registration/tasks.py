"""Periodic registration jobs, run by the worker: the day-before reminder and the expiry of seat offers."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from huey import crontab

from eventsys.common.db import utcnow, write_transaction
from eventsys.common.tasks import after_commit, app_periodic_task
from eventsys.events.models import Event, EventStatus
from eventsys.extensions import db
from eventsys.registration.models import Registration, RegistrationStatus
from eventsys.registration.notifications import send_registration_mail

logger = logging.getLogger(__name__)

#: Reminders go to events starting within this window.
REMINDER_WINDOW = timedelta(hours=24)


def send_due_reminders(now: datetime | None = None) -> int:
    """Queue the reminder for each confirmed registration of an event starting within 24 hours; returns how many.

    Each registration is claimed by setting ``reminder_sent_at`` in a conditional UPDATE and committed
    before its email is queued, so two runs (or two workers) never remind anyone twice. This is a job,
    not a service: it commits.
    """
    now = now or utcnow()
    due_ids = db.session.scalars(
        sa.select(Registration.id)
        .join(Event, Event.id == Registration.event_id)
        .where(
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.reminder_sent_at.is_(None),
            Event.status != EventStatus.DRAFT,
            Event.starts_at > now,
            Event.starts_at <= now + REMINDER_WINDOW,
        )
        .order_by(Registration.id)
    ).all()
    db.session.commit()
    claimed = 0
    for registration_id in due_ids:
        with write_transaction():
            result = db.session.execute(
                sa.update(Registration)
                .where(Registration.id == registration_id, Registration.reminder_sent_at.is_(None))
                .values(reminder_sent_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                after_commit(send_registration_mail, registration_id, "reminder")
                claimed += 1
            db.session.commit()
    return claimed


@app_periodic_task(crontab(minute="0"))
def remind_day_before() -> None:
    """Hourly: remind confirmed attendees of events starting within the next 24 hours."""
    count = send_due_reminders()
    if count:
        logger.info("queued %d event reminders", count)


@app_periodic_task(crontab(minute="*/5"))
def expire_seat_offers() -> None:
    """Every 5 minutes: offers past their deadline go back, and their seats go to the next people."""
    from eventsys.registration.services import expire_offers  # imported late: services import this package

    with write_transaction():
        count = expire_offers()
        db.session.commit()
    if count:
        logger.info("expired %d seat offers", count)
