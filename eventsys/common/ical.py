"""iCalendar files that real clients accept (RFC 5545, RFC 7986, iTIP), for emails, downloads and feeds.

What clients need, and what this module always writes:

- a VTIMEZONE for every TZID used (built from zoneinfo), times with the event's real IANA zone;
- DTSTAMP in UTC, a stable global UID (``registration-42@host``) and a SEQUENCE that goes up on every change;
- ``METHOD:REQUEST`` with ORGANIZER and ``ATTENDEE;RSVP=TRUE`` for an emailed invitation, ``METHOD:CANCEL``
  with the same UID and a higher SEQUENCE to take it out of the attendee's calendar, ``METHOD:PUBLISH``
  for downloads and feeds;
- NAME (RFC 7986) and X-WR-CALNAME; CRLF line endings; lines folded at 75 octets on character boundaries.

The join link of an online attendee goes in CONFERENCE (RFC 7986), which not every client shows, and also
in DESCRIPTION and URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from eventsys.common.db import utcnow

PRODID = "-//eventsys//eventsys//EN"

REQUEST = "REQUEST"
CANCEL = "CANCEL"
PUBLISH = "PUBLISH"


@dataclass(frozen=True)
class CalendarEntry:
    """One VEVENT: what the attendee's calendar shows. Times are timezone-aware; ``timezone`` is an IANA name."""

    uid: str
    summary: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    sequence: int = 0
    location: str | None = None
    description: str | None = None
    url: str | None = None
    #: A video-conference link (the attendee's personal join link, never the raw platform URL).
    conference_url: str | None = None
    conference_label: str | None = None
    #: (name, email) of the organizer and the attendee; required for METHOD:REQUEST and CANCEL.
    organizer: tuple[str, str] | None = None
    attendee: tuple[str, str] | None = None
    cancelled: bool = False


def uid_host() -> str:
    """The host part of our UIDs: SERVER_NAME, else the host of BASE_URL. Keep it stable across releases."""
    server_name = current_app.config.get("SERVER_NAME")
    if server_name:
        return str(server_name).split(":")[0]
    return urlsplit(current_app.config.get("BASE_URL") or "http://localhost").hostname or "localhost"


def make_uid(kind: str, object_id: int | str) -> str:
    """A stable, globally unique UID such as ``registration-42@events.example.org``."""
    return f"{kind}-{object_id}@{uid_host()}"


def build_calendar(
    entries: Iterable[CalendarEntry], *, method: str = PUBLISH, name: str | None = None, now: datetime | None = None
) -> Calendar:
    """A VCALENDAR with one VEVENT per entry and a VTIMEZONE for every zone they use."""
    stamp = (now or utcnow()).astimezone(ZoneInfo("UTC"))
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    if name:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
    first = last = None
    for entry in entries:
        if method in (REQUEST, CANCEL) and (entry.organizer is None or entry.attendee is None):
            raise ValueError(f"METHOD:{method} needs an ORGANIZER and an ATTENDEE")
        calendar.add_component(_vevent(entry, method, stamp))
        first = min(first, entry.starts_at) if first else entry.starts_at
        last = max(last, entry.ends_at) if last else entry.ends_at
    if first is not None and last is not None:
        # Transitions from a year before the first entry to a year after the last: enough for any client.
        calendar.add_missing_timezones(
            first_date=(first - timedelta(days=366)).date(), last_date=(last + timedelta(days=366)).date()
        )
    return calendar


def to_ics(calendar: Calendar) -> bytes:
    """The file's bytes: UTF-8, CRLF line endings, folded at 75 octets."""
    return calendar.to_ical()


def _vevent(entry: CalendarEntry, method: str, stamp: datetime) -> Event:
    if entry.starts_at.tzinfo is None or entry.ends_at.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    zone = ZoneInfo(entry.timezone)
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", stamp)
    event.add("sequence", entry.sequence)
    event.add("dtstart", entry.starts_at.astimezone(zone))
    event.add("dtend", entry.ends_at.astimezone(zone))
    event.add("summary", entry.summary)
    if entry.location:
        event.add("location", entry.location)
    if entry.description:
        event.add("description", entry.description)
    if entry.url:
        event.add("url", entry.url)
    if entry.conference_url:
        event.add(
            "conference",
            entry.conference_url,
            parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": entry.conference_label or entry.summary},
        )
    event.add("status", "CANCELLED" if entry.cancelled or method == CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if entry.organizer:
        event.add("organizer", _cal_address(*entry.organizer))
    if entry.attendee:
        attendee = _cal_address(*entry.attendee)
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        if method == REQUEST:
            attendee.params["PARTSTAT"] = "NEEDS-ACTION"
            attendee.params["RSVP"] = "TRUE"
        event.add("attendee", attendee)
    return event


def _cal_address(name: str, email: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    return address
