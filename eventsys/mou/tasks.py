"""The MOU renewal reminder: a periodic job on the task queue that emails the event's organizers some
weeks (MOU_RENEWAL_NOTICE_DAYS, default 42 days) before a signed MOU's end date, once per MOU and end date."""

from __future__ import annotations

import logging
from datetime import date

import sqlalchemy as sa
from flask import current_app
from huey import crontab

from eventsys.common.db import utcnow, write_transaction
from eventsys.common.mail import MailError, mail_connection, render_mail, send_mail
from eventsys.common.tasks import after_commit, app_periodic_task, app_task
from eventsys.extensions import db
from eventsys.mou import services
from eventsys.mou.models import Mou, MouStatus

logger = logging.getLogger(__name__)


def send_due_renewal_reminders(today: date | None = None) -> int:
    """Queue the renewal reminder of every signed MOU ending within the notice period; returns how many.

    Each MOU is claimed by a conditional UPDATE of ``renewal_reminded_for`` (set to its end date) that is
    committed before the email is queued, so two runs or two workers never remind twice for one end date;
    a new end date (a renewal entered by amendment) gets its own reminder. This is a job: it commits.
    """
    today = today or utcnow().date()
    due = services.due_for_renewal_reminder(today, services.renewal_notice_days())
    db.session.commit()
    claimed = 0
    for mou_id in due:
        with write_transaction():
            end_date = db.session.scalar(sa.select(Mou.end_date).where(Mou.id == mou_id))
            result = db.session.execute(
                sa.update(Mou)
                .where(
                    Mou.id == mou_id,
                    Mou.status == MouStatus.SIGNED,
                    Mou.end_date == end_date,
                    sa.or_(Mou.renewal_reminded_for.is_(None), Mou.renewal_reminded_for != end_date),
                )
                .values(renewal_reminded_for=end_date)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                after_commit(send_renewal_reminder, mou_id)
                claimed += 1
            db.session.commit()
    return claimed


@app_task(retries=5, retry_delay=300)
def send_renewal_reminder(mou_id: int) -> None:
    """Task: email each organizer of the MOU's event that its end date is near."""
    mou = db.session.get(Mou, mou_id)
    if mou is None or mou.status is not MouStatus.SIGNED or mou.end_date is None:
        return
    event = mou.event
    link = manage_url(mou)
    with mail_connection() as connection:
        for organizer in services.organizers_of(event):
            rendered = render_mail(
                "mou_renewal", None, mou=mou, event=event, organizer=organizer, link=link, today=utcnow().date()
            )
            try:
                send_mail(
                    (organizer.name, organizer.email),
                    rendered.subject,
                    rendered.text,
                    rendered.html,
                    connection=connection,
                )
            except MailError as error:
                if not error.permanent:
                    raise
                logger.warning("MOU %s: renewal reminder to %s bounced: %s", mou_id, organizer.email, error)


def manage_url(mou: Mou) -> str:
    """The absolute address of the MOU's organizer page, for mail (starts with BASE_URL)."""
    base = str(current_app.config.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    return f"{base}/manage/events/{mou.event.slug}/mous/{mou.id}"


@app_periodic_task(crontab(minute="20"))
def remind_mou_renewals() -> None:
    """Hourly: remind organizers of signed MOUs whose end date is within the notice period."""
    count = send_due_renewal_reminders()
    if count:
        logger.info("queued %d MOU renewal reminders", count)
