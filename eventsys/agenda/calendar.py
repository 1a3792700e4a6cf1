"""The agenda as iCalendar feeds: the public agenda, one session, and an attendee's private feed.

Every feed is built from a published version's snapshot with eventsys.common.ical (VTIMEZONE, CRLF, folding,
stable UIDs ``session-<id>@host``, SEQUENCE from the snapshot). DTSTAMP is the version's publication time,
so the same version always gives the same bytes and the same ETag. Only a private feed of a registered
online attendee carries join links (CONFERENCE and DESCRIPTION); public feeds never do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from flask import current_app, url_for
from flask_babel import gettext as _

from eventsys.agenda.services import PublishedAgenda, PublishedSession
from eventsys.common import ical
from eventsys.events.models import Event
from eventsys.registration.models import Registration


def base_url() -> str:
    return str(current_app.config.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")


def session_url(event: Event, session_id: int) -> str:
    return base_url() + url_for("agenda.session", slug=event.slug, session_id=session_id)


def session_join_url(registration: Registration, session_id: int) -> str:
    """The attendee's personal join link for one session (recorded, then sent to the session's stream)."""
    return base_url() + url_for("agenda.session_join", token=registration.join_token, session_id=session_id)


def _location(event: Event, session: PublishedSession) -> str | None:
    if not session.format.has_venue:
        return _("Online")
    room = _("All rooms") if session.plenary else (session.room["name"] if session.room else None)
    parts = [room, event.venue_name, event.venue_address]
    return ", ".join(part for part in parts if part) or None


def _description(session: PublishedSession, join: str | None) -> str:
    lines = []
    for person, role in session.speakers:
        about = ", ".join(part for part in (person.get("title"), person.get("organization")) if part)
        lines.append(f"{role.label}: {person['name']}" + (f" ({about})" if about else ""))
    if session.description:
        if lines:
            lines.append("")
        lines.append(session.description)
    if join:
        lines += ["", _("Join online: %(url)s", url=join), _("This link is personal: please do not share it.")]
    return "\n".join(lines)


def _entries(
    event: Event, sessions: Iterable[PublishedSession], registration: Registration | None
) -> list[ical.CalendarEntry]:
    entries = []
    for session in sessions:
        join = None
        if registration is not None and session.format.has_online:
            join = session_join_url(registration, session.id)
        entries.append(
            ical.CalendarEntry(
                uid=ical.make_uid("session", session.id),
                summary=session.title,
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                timezone=event.timezone,
                sequence=session.sequence,
                location=_location(event, session),
                description=_description(session, join) or None,
                url=session_url(event, session.id),
                conference_url=join,
                conference_label=_("Join online") if join else None,
            )
        )
    return entries


def agenda_calendar(
    event: Event,
    agenda: PublishedAgenda,
    sessions: Iterable[PublishedSession] | None = None,
    *,
    registration: Registration | None = None,
    name: str | None = None,
) -> bytes:
    """An .ics of ``sessions`` (default: the whole published agenda). ``registration``: a private feed of a
    registered online attendee, with their join links; None for every public feed."""
    chosen = list(agenda.sessions if sessions is None else sessions)
    calendar = ical.build_calendar(
        _entries(event, chosen, registration),
        method=ical.PUBLISH,
        name=name or _("%(event)s: agenda", event=event.name),
        now=agenda.version.published_at,
    )
    return ical.to_ics(calendar)


def etag_for(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
