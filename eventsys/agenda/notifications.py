"""Agenda emails: attendees who starred a session hear when a published version moves it."""

from __future__ import annotations

import logging
from datetime import datetime

from eventsys.agenda.models import AgendaVersion
from eventsys.agenda.services import ACTIVE_STATUSES, published_agenda
from eventsys.common.mail import MailError, render_mail, send_mail
from eventsys.common.tasks import app_task
from eventsys.extensions import db
from eventsys.registration.models import Registration

logger = logging.getLogger(__name__)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@app_task(retries=5, retry_delay=120)
def send_sessions_moved_mail(registration_id: int, version_id: int, session_ids: list[int]) -> None:
    """Task: tell one attendee which of their starred sessions moved (or left the agenda) in ``version_id``."""
    registration = db.session.get(Registration, registration_id)
    version = db.session.get(AgendaVersion, version_id)
    if registration is None or version is None or registration.status not in ACTIVE_STATUSES:
        return
    person = registration.person
    if not person.email:
        return
    agenda = published_agenda(version)
    rooms = {room["id"]: room["name"] for room in agenda.rooms}
    changes = []
    for change in version.changes:
        if change["session_id"] not in session_ids:
            continue
        changes.append(
            {
                **change,
                "session": agenda.session(change["session_id"]),
                "old_starts_at": _parse(change.get("old_starts_at")),
                "old_room": rooms.get(change.get("old_room_id")),
            }
        )
    if not changes:
        return
    from eventsys.registration.notifications import manage_url

    rendered = render_mail(
        "agenda_changed",
        registration.language,
        event=registration.event,
        person=person,
        version=version,
        changes=changes,
        manage_url=manage_url(registration),
    )
    try:
        send_mail((person.name, person.email), rendered.subject, rendered.text, rendered.html)
    except MailError as error:
        if error.permanent:
            logger.warning("registration %s: agenda email bounced: %s", registration_id, error)
            return
        raise
