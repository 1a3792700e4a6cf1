"""Shared steps of the check-in tests: events happening today, attendees with badges, scanning."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from eventsys.checkin import badges, services
from eventsys.checkin.models import Badge, CheckInList
from eventsys.events.models import Category, Event
from eventsys.extensions import db
from eventsys.registration.models import Registration
from tests import factories


def _zone_away_from_midnight() -> str:
    """Seoul, unless it is within an hour of midnight there: then Mexico City (15 hours behind, mid-morning).

    The tests scan "now" and up to half an hour ago on today's list; just after Seoul's midnight "30 minutes
    ago" is yesterday there, and the list would rightly answer "not yet open".
    """
    hour = datetime.now(ZoneInfo("Asia/Seoul")).hour
    return "America/Mexico_City" if hour in (23, 0) else "Asia/Seoul"


#: The zone of the events these tests make, chosen once per test run (see above).
ZONE_NAME = _zone_away_from_midnight()
ZONE = ZoneInfo(ZONE_NAME)


def local_midnight(day_offset: int = 0, tz: ZoneInfo = ZONE) -> datetime:
    """Midnight (in ``tz``) of today plus ``day_offset`` days, in UTC."""
    today = datetime.now(tz).date() + timedelta(days=day_offset)
    return datetime.combine(today, time(0, 0), tzinfo=tz).astimezone(UTC)


def event_today(days: int = 1, *, first_day: int = 0, **kwargs: object) -> Event:
    """An event in ``ZONE`` (Seoul, see above) from 00:01 on day ``first_day`` (0 = today there) for ``days`` days."""
    starts = local_midnight(first_day) + timedelta(minutes=1)
    ends = local_midnight(first_day + days) - timedelta(minutes=1)
    return factories.EventFactory(starts_at=starts, ends_at=ends, timezone=ZONE_NAME, **kwargs)


def attendee(event: Event, *, name: str | None = None, category: Category | None = None, **kwargs: object) -> Badge:
    """A confirmed in-person registration of ``event`` with its badge."""
    person = factories.PersonFactory(**({"name": name} if name else {}))
    registration = factories.RegistrationFactory(event=event, person=person, category=category, **kwargs)
    badge = badges.issue_badge(registration)
    db.session.flush()
    return badge


def day_list(event: Event, day_index: int = 0) -> CheckInList:
    """The default list of the event's ``day_index``-th day (made on demand)."""
    services.ensure_default_lists(event)
    day = services.event_days(event)[day_index]
    found = next(cl for cl in services.lists_for(event) if cl.is_default and cl.day == day)
    return found


def registration_of(badge: Badge) -> Registration:
    return db.session.get(Registration, badge.registration_id)
