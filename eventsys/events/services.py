"""Business rules for events: who may create them, what a valid event is, and its status changes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from eventsys.accounts.models import EventRole, Role, User
from eventsys.common.errors import DomainError, NotAllowed
from eventsys.common.timefmt import is_valid_timezone
from eventsys.events.models import Event, EventFormat, EventKind, EventStatus
from eventsys.extensions import db

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass
class EventData:
    """The editable fields of an event; all datetimes are timezone-aware."""

    name: str
    slug: str
    kind: EventKind
    format: EventFormat
    timezone: str
    starts_at: datetime
    ends_at: datetime
    description: str | None = None
    venue_name: str | None = None
    venue_address: str | None = None
    online_url: str | None = None
    capacity: int | None = None
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    invitation_only: bool = False
    #: Registrations wait for an organizer's approval.
    moderation: bool = False
    #: Online places; None means no limit.
    online_capacity: int | None = None
    #: Hours a person offered a seat from the waiting list has to confirm it.
    offer_hours: int = 48


def may_create_events(user: User) -> bool:
    """Site admins and anyone who already organizes an event may create new events."""
    if user.is_site_admin:
        return True
    return any(role.role is Role.ORGANIZER for role in user.roles)


def _validate(data: EventData, event: Event | None) -> None:
    if not SLUG_RE.match(data.slug) or len(data.slug) > 80:
        raise DomainError(
            _("Use lower-case letters, digits and single hyphens only."), code="slug_invalid", field="slug"
        )
    clash = db.session.scalar(sa.select(Event.id).where(Event.slug == data.slug))
    if clash is not None and (event is None or clash != event.id):
        raise DomainError(_("Another event already uses this short name."), code="slug_taken", field="slug")
    if not is_valid_timezone(data.timezone):
        raise DomainError(_("Choose a time zone from the list."), code="timezone_invalid", field="timezone")
    if data.ends_at <= data.starts_at:
        raise DomainError(_("The event must end after it starts."), code="ends_before_start", field="ends_at")
    opens, closes = data.registration_opens_at, data.registration_closes_at
    if opens and closes and closes <= opens:
        raise DomainError(
            _("Registration must close after it opens."), code="registration_window", field="registration_closes_at"
        )
    if closes and closes > data.ends_at:
        raise DomainError(
            _("Registration cannot close after the event ends."),
            code="registration_after_end",
            field="registration_closes_at",
        )
    if data.capacity is not None and data.capacity < 0:
        raise DomainError(_("Capacity cannot be negative."), code="capacity_negative", field="capacity")
    if data.online_capacity is not None and data.online_capacity < 0:
        raise DomainError(_("Capacity cannot be negative."), code="capacity_negative", field="online_capacity")
    if data.offer_hours < 1:
        raise DomainError(_("Give at least one hour to confirm a seat."), code="offer_hours", field="offer_hours")


#: Seats are set when an event is created; later they change only through the registration settings,
#: where the registration services check them against seats already held and offer new ones to the
#: waiting list.
SEAT_FIELDS = ("capacity", "online_capacity")


def _apply(event: Event, data: EventData, *, seats: bool) -> None:
    for field in EventData.__dataclass_fields__:
        if seats or field not in SEAT_FIELDS:
            setattr(event, field, getattr(data, field))
    if not data.format.has_venue:
        event.capacity = None


def create_event(actor: User, data: EventData) -> Event:
    """Create a draft event; its creator becomes one of its organizers."""
    if not may_create_events(actor):
        raise NotAllowed(_("You may not create events."), code="not_allowed")
    _validate(data, None)
    event = Event(status=EventStatus.DRAFT)
    _apply(event, data, seats=True)
    db.session.add(event)
    db.session.flush()
    db.session.add(EventRole(user_id=actor.id, event_id=event.id, role=Role.ORGANIZER))
    db.session.flush()
    return event


def update_event(event: Event, data: EventData) -> Event:
    """Change an event's details; its seats (SEAT_FIELDS) stay as they are."""
    _validate(data, event)
    _apply(event, data, seats=False)
    db.session.flush()
    return event


def publish_event(event: Event) -> Event:
    """Show the event to the public (from draft, or re-open a closed event)."""
    if event.status is EventStatus.PUBLISHED:
        raise DomainError(_("The event is already published."), code="already_published")
    if event.format.has_venue and not event.venue_name:
        raise DomainError(
            _("Give the venue before publishing an event that people attend in person."), code="venue_missing"
        )
    event.status = EventStatus.PUBLISHED
    db.session.flush()
    return event


def close_event(event: Event) -> Event:
    """Close a published event: it stays visible, and registration stops."""
    if event.status is not EventStatus.PUBLISHED:
        raise DomainError(_("Only a published event can be closed."), code="not_published")
    event.status = EventStatus.CLOSED
    db.session.flush()
    return event


def events_for_user(user: User) -> Sequence[Event]:
    """The events a user works on: all of them for site admins."""
    query = sa.select(Event).order_by(Event.starts_at.desc())
    if not user.is_site_admin:
        query = query.join(EventRole, EventRole.event_id == Event.id).where(EventRole.user_id == user.id)
    return db.session.scalars(query).all()


def public_events() -> Sequence[Event]:
    """Published and closed events, soonest first."""
    query = (
        sa.select(Event)
        .where(Event.status.in_([EventStatus.PUBLISHED, EventStatus.CLOSED]))
        .order_by(Event.starts_at.desc())
    )
    return db.session.scalars(query).all()


#: Built once: every public page and registration POST loads its event by slug.
_EVENT_BY_SLUG = sa.select(Event).where(Event.slug == sa.bindparam("slug"))


def get_public_event(slug: str) -> Event | None:
    """The event with ``slug`` if the public may see it."""
    event = db.session.scalar(_EVENT_BY_SLUG, {"slug": slug})
    if event is None or not event.is_public:
        return None
    return event
