"""Registration emails: each status change queues one email, sent on the task queue after the commit.

Services call ``notify_<kind>(registration)``; the task reloads the registration and writes to the
registrant in their language (``registration.language``), with a plain-text and an HTML part. Confirmed
attendees get the venue (in person) or their personal join link ``/join/<token>`` (online; the platform's
own URL never appears in mail), the manage link ``/r/<token>`` and an ``.ics`` invitation
(METHOD:REQUEST, stable UID, VTIMEZONE); a cancellation sends METHOD:CANCEL with the same UID and a
higher SEQUENCE, so the entry leaves the attendee's calendar.
"""

from __future__ import annotations

import logging

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from eventsys.common import ical
from eventsys.common.mail import MailError, render_mail, send_mail
from eventsys.common.tasks import after_commit, app_task
from eventsys.extensions import db
from eventsys.registration.models import Mode, Registration, RegistrationStatus

logger = logging.getLogger(__name__)

S = RegistrationStatus

#: Kinds of registration email, and the statuses in which each still makes sense when the worker gets to it.
#: A mail overtaken by a later change (e.g. a confirmation for a registration cancelled meanwhile) is skipped:
#: the later change sends its own.
STILL_TRUE: dict[str, tuple[RegistrationStatus, ...]] = {
    "confirmed": (S.CONFIRMED,),
    "pending": (S.PENDING,),
    "waitlisted": (S.WAITLISTED, S.CONFIRMED),
    "offered": (S.OFFERED,),
    "offer_expired": (S.CANCELLED, S.CONFIRMED, S.WAITLISTED),
    "cancelled": (S.CANCELLED,),
    "rejected": (S.REJECTED,),
    "changed": (S.CONFIRMED, S.WAITLISTED, S.PENDING, S.OFFERED),
    "reminder": (S.CONFIRMED,),
    "manage_link": (S.CONFIRMED, S.WAITLISTED, S.PENDING, S.OFFERED),
}


def notify_confirmed(registration: Registration) -> None:
    _queue(registration, "confirmed")


def notify_pending(registration: Registration) -> None:
    _queue(registration, "pending")


def notify_waitlisted(registration: Registration) -> None:
    _queue(registration, "waitlisted")


def notify_offered(registration: Registration) -> None:
    _queue(registration, "offered")


def notify_offer_expired(registration: Registration) -> None:
    _queue(registration, "offer_expired")


def notify_cancelled(registration: Registration) -> None:
    _queue(registration, "cancelled")


def notify_rejected(registration: Registration) -> None:
    _queue(registration, "rejected")


def notify_changed(registration: Registration) -> None:
    """A mode switch or a change of details: the new calendar entry replaces the old one (higher SEQUENCE)."""
    _queue(registration, "changed")


def notify_manage_link(registration: Registration) -> None:
    """Someone registering again with this address: the personal link goes to the address, never to the page."""
    _queue(registration, "manage_link")


def _queue(registration: Registration, kind: str) -> None:
    if registration.id is None:
        db.session.flush()
    after_commit(send_registration_mail, registration.id, kind)


@app_task(retries=5, retry_delay=120)
def send_registration_mail(registration_id: int, kind: str) -> None:
    """Task: write the ``kind`` email to the registrant. Transient SMTP failures are retried by the queue."""
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        return
    if registration.status not in STILL_TRUE[kind]:
        logger.info("registration %s: %s email skipped, status is now %s", registration_id, kind, registration.status)
        return
    try:
        deliver_registration_mail(registration, kind)
    except MailError as error:
        if error.permanent:  # the address bounced: retrying will not help
            logger.warning("registration %s: %s email bounced: %s", registration_id, kind, error)
            return
        raise


def deliver_registration_mail(registration: Registration, kind: str) -> None:
    """Render and send the ``kind`` email now (raises MailError)."""
    person = registration.person
    if not person.email:
        return
    context = mail_context(registration, kind)
    rendered = render_mail("registration", registration.language, **context)
    calendar = None
    method = calendar_method(registration, kind)
    if method is not None:
        calendar = registration_calendar(registration, method=method)
    send_mail((person.name, person.email), rendered.subject, rendered.text, rendered.html, calendar=calendar)


def calendar_method(registration: Registration, kind: str) -> str | None:
    """Which calendar message the email carries: REQUEST for a confirmed place, CANCEL when it went away."""
    if kind in ("pending", "rejected", "offered", "reminder", "manage_link"):
        return None
    if registration.status is S.CONFIRMED:
        return ical.REQUEST
    if registration.status is S.CANCELLED and (kind == "cancelled" or registration.confirmed_at is not None):
        return ical.CANCEL
    return None


def base_url() -> str:
    return str(current_app.config.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")


def manage_url(registration: Registration) -> str:
    return f"{base_url()}/r/{registration.manage_token}"


def calendar_url(registration: Registration) -> str:
    return f"{base_url()}/r/{registration.manage_token}/calendar.ics"


def join_url(registration: Registration) -> str | None:
    """The attendee's personal join link; the platform's own URL is reached only through it."""
    if registration.mode is not Mode.ONLINE or not registration.join_token:
        return None
    return f"{base_url()}/join/{registration.join_token}"


def mail_context(registration: Registration, kind: str) -> dict[str, object]:
    event = registration.event
    in_person = registration.mode is Mode.IN_PERSON
    confirmed = registration.status is S.CONFIRMED
    return {
        "kind": kind,
        "registration": registration,
        "event": event,
        "person": registration.person,
        "in_person": in_person,
        "confirmed": confirmed,
        "show_venue": confirmed and in_person,
        "join_url": join_url(registration) if confirmed else None,
        "manage_url": manage_url(registration),
        "calendar_url": calendar_url(registration) if confirmed else None,
    }


def registration_calendar(registration: Registration, *, method: str = ical.PUBLISH) -> bytes:
    """The registrant's calendar entry for the event, in their language (emails; the manage page's download)."""
    event = registration.event
    person = registration.person
    with force_locale(registration.language if registration.language in ("en", "ko", "es") else "en"):
        join = join_url(registration)
        lines: list[str] = []
        location = None
        if registration.mode is Mode.IN_PERSON:
            location = ", ".join(part for part in (event.venue_name, event.venue_address) if part) or None
        elif join:
            location = _("Online")
            lines.append(_("Join online: %(url)s", url=join))
            lines.append(_("This link is personal: please do not share it."))
        lines.append(_("Manage your registration: %(url)s", url=manage_url(registration)))
        entry = ical.CalendarEntry(
            uid=ical.make_uid("registration", registration.id),
            sequence=registration.ics_sequence,
            summary=event.name,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            timezone=event.timezone,
            location=location,
            description="\n".join(lines),
            url=join or manage_url(registration),
            conference_url=join,
            conference_label=_("Join online") if join else None,
            organizer=(event.name, current_app.config["MAIL_DEFAULT_SENDER"]),
            attendee=(person.name, person.email or ""),
            cancelled=registration.status is S.CANCELLED,
        )
        calendar = ical.build_calendar([entry], method=method, name=event.name)
    return ical.to_ics(calendar)
