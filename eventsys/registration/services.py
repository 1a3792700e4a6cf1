"""Registration rules: modes, capacity and category quotas, the waiting list, offers, moderation.

Every function that hands out or frees in-person seats (or online places) first takes the event's lock
(``eventsys.common.locking.lock_event``: ``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write lock is
already held from ``BEGIN IMMEDIATE``), once per transaction, *before* counting. It then re-reads what it
is about to change, so two requests never decide on the same stale count. Callers commit once; code
outside a web request wraps the transaction in ``eventsys.common.db.write_transaction()``.

Seat model (``_Tally``): confirmed and offered in-person registrations hold a seat. A category with a
quota is seated within its quota only, and those seats are kept for it; everyone else shares
``capacity - sum(quotas)``. The waiting list always comes first: before a newcomer (or a switch to in
person) takes a free seat, seats that people on the waiting list can use are offered to them.

Test-only switches (config): ``LOCKING_ENABLED = False`` disables the lock, and then, only then,
``RACE_WINDOW_SECONDS`` sleeps between counting and writing, so the control tests show the race reliably.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from eventsys.accounts.models import Role, User
from eventsys.common.db import claim_write_lock, insert_complete, insert_now, utcnow
from eventsys.common.errors import DomainError, NotAllowed
from eventsys.common.locking import lock_event
from eventsys.common.tokens import find_by_token, new_token
from eventsys.events.models import Category, Event, EventFormat, Organization, OrganizationKind, Person
from eventsys.extensions import db
from eventsys.invitations.models import Invitation, InvitationState
from eventsys.registration import notifications
from eventsys.registration.models import CategoryQuota, Mode, Registration, RegistrationStatus

WHEN_FULL = ("waitlist", "online", "refuse")
LANGUAGES = ("en", "ko", "es")

S = RegistrationStatus
T = TypeVar("T")


# --- errors -------------------------------------------------------------------------------------------


class RegistrationClosed(DomainError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("Registration for this event is closed."), code="registration_closed")


class InvitationRequired(DomainError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message or _("This event is by invitation only. Please use the personal link in your invitation."),
            code="invitation_required",
        )


class ModeNotOffered(DomainError):
    def __init__(self, event_format: EventFormat) -> None:
        if event_format is EventFormat.IN_PERSON:
            message = _("This event takes place in person only.")
        elif event_format is EventFormat.ONLINE:
            message = _("This event takes place online only.")
        else:
            message = _("Choose in person or online.")
        super().__init__(message, code="mode_not_offered", field="mode")


class InPersonFull(DomainError):
    def __init__(self, event_format: EventFormat) -> None:
        if event_format is EventFormat.HYBRID:
            message = _(
                "All in-person seats are taken. You can join the waiting list, or take an online place meanwhile."
            )
        else:
            message = _("All in-person seats are taken. You can join the waiting list.")
        super().__init__(message, code="in_person_full", field="mode")


class OnlineFull(DomainError):
    def __init__(self) -> None:
        super().__init__(_("All online places are taken."), code="online_full", field="mode")


class AlreadyRegistered(DomainError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or _(
                "This email address is already registered for this event. "
                "Use the link in your confirmation email to manage the registration."
            ),
            code="already_registered",
            field="email",
        )


class ConsentRequired(DomainError):
    def __init__(self) -> None:
        super().__init__(_("Please agree to the privacy notice to register."), code="consent_required", field="consent")


class InvalidTransition(DomainError):
    def __init__(self, message: str, *, code: str = "invalid_transition") -> None:
        super().__init__(message, code=code)


# --- data ---------------------------------------------------------------------------------------------


@dataclass
class RegistrantData:
    """What a registrant tells us about themselves."""

    name: str
    email: str
    organization: str | None = None
    title: str | None = None
    mode: Mode = Mode.IN_PERSON
    dietary_needs: str | None = None
    accessibility_needs: str | None = None
    consent: bool = False
    language: str = "en"


@dataclass
class SeatCounts:
    """The numbers organizers and the registration page show."""

    capacity: int | None
    in_person_confirmed: int
    in_person_offered: int
    waitlisted: int
    online_confirmed: int
    online_capacity: int | None
    pending: int
    by_category: dict[Category, tuple[int, int | None]]

    @property
    def in_person_free(self) -> int | None:
        if self.capacity is None:
            return None
        return max(0, self.capacity - self.in_person_confirmed - self.in_person_offered)


@dataclass
class _Tally:
    """Seats and places held for one event, counted under the event's lock and kept up to date as we decide."""

    capacity: int | None
    quotas: dict[Category, int]
    online_capacity: int | None
    held_by_category: Counter[Category | None] = field(default_factory=Counter)
    online_held: int = 0
    waiting: int = 0
    counts: Counter[tuple[Mode, RegistrationStatus, bool]] = field(default_factory=Counter)

    @property
    def held(self) -> int:
        return sum(self.held_by_category.values())

    @property
    def shared_held(self) -> int:
        return sum(n for category, n in self.held_by_category.items() if category not in self.quotas)

    @property
    def any_seat_free(self) -> bool:
        return self.capacity is None or self.held < self.capacity

    def seat_free_for(self, category: Category | None) -> bool:
        if not self.any_seat_free:
            return False
        if category in self.quotas:
            return self.held_by_category[category] < self.quotas[category]
        if self.capacity is None:
            return True
        return self.shared_held < self.capacity - sum(self.quotas.values())

    def online_place_free(self) -> bool:
        return self.online_capacity is None or self.online_held < self.online_capacity


# --- locking ------------------------------------------------------------------------------------------

_LOCKED = "eventsys_locked_events"


#: Events locked in this transaction whose limits were read before the lock (``_tally`` re-reads them).
_STALE_LIMITS = "eventsys_stale_limits"


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_LOCKED, None)
        session.info.pop(_STALE_LIMITS, None)


def _lock(event: Event) -> None:
    """Take the event's lock once per transaction, then re-read the limits that others may have changed."""
    locked: set[int] = db.session.info.setdefault(_LOCKED, set())
    if event.id in locked:
        return
    claimed_late = claim_write_lock(db.session)  # SQLite, in a request that began late: its write lock, now
    lock_event(event.id)
    locked.add(event.id)
    # The event may have been loaded before the lock; others may have changed its limits since. (An SQLite
    # transaction that held the write lock from BEGIN IMMEDIATE read current data.)
    # ``_tally`` re-reads them, with the quotas, in the same statement.
    fresh_needed = claimed_late or db.session.get_bind().dialect.name != "sqlite"
    if fresh_needed and sa.inspect(event).persistent:
        db.session.info.setdefault(_STALE_LIMITS, set()).add(event.id)


def _reread(registration: Registration) -> None:
    """After the lock: the registration as committed by whoever held the lock before us."""
    if sa.inspect(registration).persistent:
        db.session.refresh(registration)


def _race_window() -> None:
    """Test-only: widen the gap between counting and writing, only when locking is switched off."""
    config = current_app.config
    if not config.get("LOCKING_ENABLED", True):
        seconds = float(config.get("RACE_WINDOW_SECONDS") or 0)
        if seconds > 0:
            time.sleep(seconds)


# Built once: registering runs these on every request.
_event_t = Event.__table__
_registration_t = Registration.__table__
_quota_t = CategoryQuota.__table__
#: The event's limits and its quotas (one row per quota, or one row with no quota).
_LIMITS_AND_QUOTAS = (
    sa.select(
        _event_t.c.capacity,
        _event_t.c.online_capacity,
        _event_t.c.offer_hours,
        _quota_t.c.category,
        _quota_t.c.seats,
    )
    .select_from(_event_t.outerjoin(_quota_t, _quota_t.c.event_id == _event_t.c.id))
    .where(_event_t.c.id == sa.bindparam("event_id"))
)
_QUOTAS = sa.select(_quota_t.c.category, _quota_t.c.seats).where(_quota_t.c.event_id == sa.bindparam("event_id"))
#: What the seat counts are grouped by (``_COUNTS``, ``_registrant_lookup``).
_COUNTED = (
    _registration_t.c.mode,
    _registration_t.c.status,
    _registration_t.c.category,
    _registration_t.c.online_meanwhile,
)
_COUNTS = (
    sa.select(*_COUNTED, sa.func.count())
    .where(_registration_t.c.event_id == sa.bindparam("event_id"))
    .group_by(  # in the order of ix_registration_event_status_mode_category, which answers it alone
        _registration_t.c.status,
        _registration_t.c.mode,
        _registration_t.c.category,
        _registration_t.c.online_meanwhile,
    )
)
_PERSON_BY_EMAIL = sa.select(Person).where(Person.email == sa.bindparam("email"))
_ORGANIZATION_BY_NAME = sa.select(Organization).where(Organization.name == sa.bindparam("name"))
_person_t = Person.__table__
_organization_t = Organization.__table__


def _absent(column: sa.ColumnElement[T], name: str) -> sa.Label[T]:
    return sa.type_coerce(sa.null(), column.type).label(name)


def _registrant_lookup(person_is: sa.ColumnElement[bool]) -> sa.CompoundSelect:
    """What registering decides on, in one statement: the event's limits and quotas (one row per quota, or one
    row) with the registrant's person (``person_is``), their registration for the event and the organization
    named on the form, by id, where they exist; then the seat counts of ``_COUNTS``, one row per group (the rows
    with ``n``)."""
    counted = _COUNTED
    facts = (
        sa.select(
            _event_t.c.capacity,
            _event_t.c.online_capacity,
            _event_t.c.offer_hours,
            _quota_t.c.category,
            _quota_t.c.seats,
            _person_t.c.id.label("person_id"),
            _registration_t.c.id.label("registration_id"),
            _organization_t.c.id.label("organization_id"),
            *(_absent(column, f"counted_{column.key}") for column in counted),
            _absent(sa.func.count(), "n"),
        )
        .select_from(
            _event_t.outerjoin(_quota_t, _quota_t.c.event_id == _event_t.c.id)
            .outerjoin(_person_t, person_is)
            .outerjoin(
                _registration_t,
                sa.and_(_registration_t.c.event_id == _event_t.c.id, _registration_t.c.person_id == _person_t.c.id),
            )
            .outerjoin(_organization_t, _organization_t.c.name == sa.bindparam("organization"))
        )
        .where(_event_t.c.id == sa.bindparam("event_id"))
    )
    counts = _COUNTS.with_only_columns(
        *(_absent(column, column.name) for column in facts.selected_columns[:8]), *counted, sa.func.count()
    )
    return sa.union_all(facts, counts)


_REGISTRANT_BY_EMAIL = _registrant_lookup(_person_t.c.email == sa.bindparam("email"))
_REGISTRANT_BY_PERSON = _registrant_lookup(_person_t.c.id == sa.bindparam("person_id"))


def _count(
    event: Event,
    *,
    reread_limits: bool = False,
    limits: Sequence[sa.Row] | None = None,
    counts: Iterable[tuple] | None = None,
) -> _Tally:
    """Count held seats and places for ``event`` (one query for the quotas, one for the registrations).

    ``reread_limits``: the event's capacity, online capacity and offer hours are read again with the quotas
    (unless the event has changes of its own not flushed yet). ``limits`` and ``counts``: those rows, read
    already (with the columns of ``_LIMITS_AND_QUOTAS`` and ``_COUNTS``).
    """
    params = {"event_id": event.id}
    db.session.flush()  # the statements below run on the connection: what the session holds is written first
    connection = db.session.connection()
    if limits is None and reread_limits:
        limits = connection.execute(_LIMITS_AND_QUOTAS, params).all()
    if limits is not None:
        if reread_limits and limits and event not in db.session.dirty:
            first = limits[0]
            set_committed_value(event, "capacity", first.capacity)
            set_committed_value(event, "online_capacity", first.online_capacity)
            set_committed_value(event, "offer_hours", first.offer_hours)
        quotas = {row.category: row.seats for row in limits if row.category is not None}
    else:
        quotas = {category: seats for category, seats in connection.execute(_QUOTAS, params)}
    tally = _Tally(capacity=event.capacity, quotas=quotas, online_capacity=event.online_capacity)
    if counts is None:
        counts = connection.execute(_COUNTS, params)
    for mode, status, category, meanwhile, n in counts:
        tally.counts[(mode, status, bool(meanwhile))] += n
        if mode is Mode.IN_PERSON and status in (S.CONFIRMED, S.OFFERED):
            tally.held_by_category[category] += n
        if (mode is Mode.ONLINE and status is S.CONFIRMED) or (status is S.OFFERED and meanwhile):
            tally.online_held += n
        if status is S.WAITLISTED or (status is S.CONFIRMED and meanwhile):
            tally.waiting += n
    return tally


def _tally(event: Event, limits: Sequence[sa.Row] | None = None, counts: Iterable[tuple] | None = None) -> _Tally:
    """The counts to decide on; call only after ``_lock(event)`` (``limits``, ``counts``: see ``_count``)."""
    stale: set[int] = db.session.info.get(_STALE_LIMITS) or set()
    tally = _count(event, reread_limits=event.id in stale, limits=limits, counts=counts)
    stale.discard(event.id)
    _race_window()
    return tally


# --- helpers ------------------------------------------------------------------------------------------


def _check_mode_offered(event: Event, mode: Mode) -> None:
    if mode is Mode.IN_PERSON and not event.format.has_venue:
        raise ModeNotOffered(event.format)
    if mode is Mode.ONLINE and not event.format.has_online:
        raise ModeNotOffered(event.format)


def _clean(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def _normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _validate_data(data: RegistrantData) -> None:
    if not (data.name or "").strip():
        raise DomainError(_("Please enter your name."), code="name_required", field="name")
    email = _normalize_email(data.email)
    local, _sep, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 254:
        raise DomainError(_("Please enter a valid email address."), code="email_invalid", field="email")
    if data.language not in LANGUAGES:
        raise DomainError(_("Choose English, Korean or Spanish."), code="language_invalid", field="language")


def _find_or_create(
    lookup: sa.Select[tuple[T]], params: dict[str, object], make: Callable[[], T], *, known_missing: bool = False
) -> T:
    """The row ``lookup`` finds, or a new one from ``make()``; a concurrent insert of the same row is absorbed."""
    if not known_missing:
        row = db.session.scalar(lookup, params)
        if row is not None:
            return row
    return _insert_new(make(), lookup, params, insert=insert_now)


def _organization(name: str | None) -> Organization | None:
    name = _clean(name, 200)
    if name is None:
        return None
    return _find_or_create(
        _ORGANIZATION_BY_NAME, {"name": name}, lambda: Organization(name=name, kind=OrganizationKind.OTHER)
    )


def _insert_new(
    row: T,
    lookup: sa.Select[tuple[T]],
    params: dict[str, object],
    *,
    insert: Callable[[Session, object], None] = insert_complete,
) -> T:
    """INSERT the new ``row`` (with ``insert``: ``insert_complete`` or ``insert_now``); a concurrent insert of the
    same row is absorbed (the row ``lookup`` finds then)."""
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite runs one writer at a time (the write lock is held): nobody can insert the same row meanwhile.
        insert(db.session, row)
        return row
    try:
        with db.session.begin_nested():
            insert(db.session, row)
    except IntegrityError:
        found = db.session.scalar(lookup, params)
        if found is None:
            raise
        return found
    return row


def _new_person(data: RegistrantData, email: str, organization: str | None, organization_id: int | None) -> Person:
    """The Person of a new email (``_clean``-ed ``organization`` is found as ``organization_id`` or created)."""
    if organization is not None and organization_id is None:
        created = Organization(name=organization, kind=OrganizationKind.OTHER)
        organization_id = _insert_new(created, _ORGANIZATION_BY_NAME, {"name": organization}).id
    person = Person(
        name=_clean(data.name, 200) or email,
        email=email,
        title=_clean(data.title, 300),
        organization_id=organization_id,
    )
    created = _insert_new(person, _PERSON_BY_EMAIL, {"email": email})
    if created is not person:  # someone else's registration created them meanwhile (PostgreSQL)
        _fill_blanks(created, data)
    return created


def _fill_blanks(person: Person, data: RegistrantData) -> None:
    """Merge: what we did not know about a person yet is taken from the registration; nothing is overwritten."""
    if person.title is None and data.title:
        person.title = _clean(data.title, 300)
    if person.organization_id is None and person.organization is None and data.organization:
        person.organization = _organization(data.organization)


def _keeps_in_person_details(registration: Registration) -> bool:
    return registration.mode is Mode.IN_PERSON or registration.online_meanwhile


def _make_confirmed(registration: Registration, mode: Mode, now: datetime) -> None:
    registration.mode = mode
    registration.status = S.CONFIRMED
    registration.confirmed_at = now
    registration.online_meanwhile = False
    registration.waitlisted_at = None
    registration.offer_expires_at = None
    if mode is Mode.ONLINE:
        registration.dietary_needs = None
        registration.accessibility_needs = None
        registration.join_token = registration.join_token or new_token()


def _make_waitlisted(registration: Registration, now: datetime, *, online_meanwhile: bool) -> None:
    registration.waitlisted_at = registration.waitlisted_at or now
    registration.offer_expires_at = None
    registration.confirmed_at = None
    if online_meanwhile:
        registration.mode = Mode.ONLINE
        registration.status = S.CONFIRMED
        registration.online_meanwhile = True
        registration.join_token = registration.join_token or new_token()
    else:
        registration.mode = Mode.IN_PERSON
        registration.status = S.WAITLISTED
        registration.online_meanwhile = False


def _seat_in_person(
    registration: Registration, tally: _Tally, when_full: str, now: datetime, event: Event
) -> RegistrationStatus:
    """Give ``registration`` an in-person seat, or put it on the waiting list as ``when_full`` says."""
    category = registration.category
    if tally.seat_free_for(category):
        _make_confirmed(registration, Mode.IN_PERSON, now)
        tally.held_by_category[category] += 1
        return S.CONFIRMED
    if when_full == "refuse":
        raise InPersonFull(event.format)
    if when_full == "online":
        if not event.format.has_online:
            raise InPersonFull(event.format)
        if not registration.online_meanwhile and not tally.online_place_free():
            raise OnlineFull()
        _make_waitlisted(registration, now, online_meanwhile=True)
        tally.online_held += 1
        return S.CONFIRMED
    _make_waitlisted(registration, now, online_meanwhile=False)
    return S.WAITLISTED


def _seat_online(registration: Registration, tally: _Tally, now: datetime) -> None:
    if not tally.online_place_free():
        raise OnlineFull()
    _make_confirmed(registration, Mode.ONLINE, now)
    tally.online_held += 1


def _offer_free_seats(event: Event, tally: _Tally, now: datetime) -> list[Registration]:
    """Offer free seats to the waiting list, first come first served, skipping people whose category is full."""
    if tally.waiting == 0 or not tally.any_seat_free:
        return []
    waiting = db.session.scalars(
        sa.select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.waitlisted_at.is_not(None),
            sa.or_(
                Registration.status == S.WAITLISTED,
                sa.and_(Registration.status == S.CONFIRMED, Registration.online_meanwhile.is_(True)),
            ),
        )
        .order_by(Registration.waitlisted_at, Registration.id)
    )
    offered: list[Registration] = []
    for registration in waiting:
        if not tally.any_seat_free:
            break
        if not tally.seat_free_for(registration.category):
            continue
        registration.status = S.OFFERED
        registration.mode = Mode.IN_PERSON
        registration.offer_expires_at = now + timedelta(hours=event.offer_hours)
        tally.held_by_category[registration.category] += 1
        tally.waiting -= 1
        offered.append(registration)
    if offered:
        db.session.flush()
        for registration in offered:
            notifications.notify_offered(registration)
    return offered


def _is_organizer(actor: User, event: Event) -> bool:
    return bool(actor.is_site_admin or actor.role_for(event) is Role.ORGANIZER)


def _require_active(registration: Registration) -> None:
    if registration.status is S.CANCELLED:
        raise InvalidTransition(_("This registration has been cancelled."), code="registration_cancelled")
    if registration.status is S.REJECTED:
        raise InvalidTransition(_("This registration was declined by the organizers."), code="registration_rejected")


# --- registering --------------------------------------------------------------------------------------


def register_attendee(
    event: Event,
    data: RegistrantData,
    *,
    invitation: Invitation | None = None,
    when_full: str = "waitlist",
    now: datetime | None = None,
) -> Registration:
    """Register someone for ``event``: confirmed, pending approval, waiting, or refused with a clear message.

    ``when_full`` says what happens when in-person seats are taken: ``"waitlist"`` joins the waiting list,
    ``"online"`` takes an online place meanwhile (and stays on the waiting list), ``"refuse"`` raises
    ``InPersonFull``. Nothing is written when an error is raised.
    """
    if when_full not in WHEN_FULL:
        raise ValueError(f"when_full must be one of {WHEN_FULL}")
    now = now or utcnow()
    if not event.registration_is_open(now):
        raise RegistrationClosed()
    if invitation is not None and invitation.event_id != event.id:
        raise InvitationRequired(_("This invitation is for another event."))
    if event.invitation_only and invitation is None:
        raise InvitationRequired()
    _validate_data(data)
    if not data.consent:
        raise ConsentRequired()
    _check_mode_offered(event, data.mode)
    email = _normalize_email(data.email)
    if invitation is not None and invitation.person.email and invitation.person.email != email:
        raise DomainError(
            _("This invitation is for %(email)s. Please register with that address.", email=invitation.person.email),
            code="invitation_email_mismatch",
            field="email",
        )

    _lock(event)
    # Under the lock, one statement: the limits and quotas, the person, their registration, the organization,
    # and the seat counts.
    db.session.flush()  # it runs on the connection: what the session holds is written first
    organization_name = _clean(data.organization, 200)
    params = {"event_id": event.id, "organization": organization_name}
    if invitation is not None:
        lookup = _REGISTRANT_BY_PERSON
        params["person_id"] = invitation.person_id
    else:
        lookup, params["email"] = _REGISTRANT_BY_EMAIL, email
    rows = db.session.connection().execute(lookup, params).all()
    found = [row for row in rows if row.n is None]
    counts = [row[-5:] for row in rows if row.n is not None]
    if not found:  # the event is gone
        raise RegistrationClosed()
    facts = found[0]
    person: Person | None
    if invitation is not None:
        person = invitation.person
    else:
        person = None if facts.person_id is None else db.session.get(Person, facts.person_id)
    registration = None if facts.registration_id is None else db.session.get(Registration, facts.registration_id)
    if registration is not None and registration.status is S.REJECTED:
        raise AlreadyRegistered(
            _("The organizers have declined a registration from this email address. Please contact them.")
        )
    if registration is not None and registration.status is not S.CANCELLED:
        raise AlreadyRegistered()

    tally = _tally(event, limits=found, counts=counts)
    _offer_free_seats(event, tally, now)  # the waiting list comes before newcomers

    fresh = registration is None
    if fresh:
        # Written by insert_complete: what is not set here or below is None (or its constant default).
        registration = Registration(
            event_id=event.id, manage_token=new_token(), ics_sequence=0, created_at=now, updated_at=now
        )
    else:
        registration.ics_sequence += 1
        registration.cancelled_at = None
    if invitation is not None:
        registration.invitation = invitation
        registration.invitation_id = invitation.id
        registration.category = invitation.category
    registration.consent_at = now
    registration.language = data.language
    registration.dietary_needs = _clean(data.dietary_needs, 2000)
    registration.accessibility_needs = _clean(data.accessibility_needs, 2000)
    registration.waitlisted_at = None
    registration.online_meanwhile = False

    moderated = event.moderation and not (invitation is not None and invitation.skip_moderation)
    if moderated:
        registration.mode = data.mode
        registration.status = S.PENDING
        registration.confirmed_at = None
        registration.offer_expires_at = None
    elif data.mode is Mode.ONLINE:
        _seat_online(registration, tally, now)
    else:
        _seat_in_person(registration, tally, when_full, now, event)
    if not _keeps_in_person_details(registration):
        registration.dietary_needs = registration.accessibility_needs = None

    # Decided: now write the person (merged by email) and the registration.
    if person is None:  # looked up under the lock just above
        person = _new_person(data, email, organization_name, facts.organization_id)
    else:
        _fill_blanks(person, data)
    if invitation is not None:
        invitation.state = InvitationState.ACCEPTED
        invitation.responded_at = now
    if fresh:
        registration.person_id = person.id
        insert_complete(db.session, registration)  # one INSERT; nothing else of this request is pending
        set_committed_value(registration, "event", event)
        set_committed_value(registration, "person", person)
    else:
        registration.person = person
    db.session.flush()
    _notify_status(registration)
    return registration


def _notify_status(registration: Registration) -> None:
    if registration.status is S.PENDING:
        notifications.notify_pending(registration)
    elif registration.status is S.WAITLISTED or registration.online_meanwhile:
        notifications.notify_waitlisted(registration)
    elif registration.status is S.CONFIRMED:
        notifications.notify_confirmed(registration)


def resend_manage_link(event: Event, email: str) -> Registration | None:
    """Email the personal manage link of ``email``'s active registration for ``event`` to that address.

    For someone who registers again (or lost their link): the link goes only to the mailbox, never to the
    page, so typing someone else's address reveals no link.
    """
    registration = db.session.scalar(
        sa.select(Registration)
        .join(Person, Person.id == Registration.person_id)
        .where(
            Registration.event_id == event.id,
            Person.email == _normalize_email(email),
            Registration.status.in_([S.CONFIRMED, S.WAITLISTED, S.PENDING, S.OFFERED]),
        )
    )
    if registration is not None:
        notifications.notify_manage_link(registration)
    return registration


def wait_online_meanwhile(registration: Registration, *, now: datetime | None = None) -> Registration:
    """Someone on the waiting list takes an online place meanwhile, keeping their place in the queue."""
    now = now or utcnow()
    event = registration.event
    _lock(event)
    _reread(registration)
    if registration.status is not S.WAITLISTED:
        raise InvalidTransition(_("Only people on the waiting list can take an online place meanwhile."))
    _check_mode_offered(event, Mode.ONLINE)
    tally = _tally(event)
    if not tally.online_place_free():
        raise OnlineFull()
    _make_waitlisted(registration, now, online_meanwhile=True)
    registration.ics_sequence += 1
    db.session.flush()
    notifications.notify_changed(registration)
    return registration


def switch_mode(
    registration: Registration, mode: Mode, *, when_full: str = "waitlist", now: datetime | None = None
) -> Registration:
    """Switch between in person and online, subject to capacity; a seat given up goes to the waiting list.

    Switching to online is final: it leaves the in-person waiting list (and gives up a seat offer).
    Switching to in person takes a free seat, or joins the waiting list as ``when_full`` says.
    """
    if when_full not in WHEN_FULL:
        raise ValueError(f"when_full must be one of {WHEN_FULL}")
    now = now or utcnow()
    event = registration.event
    _check_mode_offered(event, mode)
    _lock(event)
    _reread(registration)
    _require_active(registration)
    if now >= event.ends_at:
        raise InvalidTransition(_("This event has ended."), code="event_ended")
    if registration.status is S.PENDING:
        registration.mode = mode
        db.session.flush()
        return registration

    tally = _tally(event)
    held_seat = registration.mode is Mode.IN_PERSON and registration.status in (S.CONFIRMED, S.OFFERED)
    if mode is Mode.ONLINE:
        if registration.mode is Mode.ONLINE and not registration.online_meanwhile:
            return registration  # nothing to change
        holds_online = (registration.mode is Mode.ONLINE and registration.status is S.CONFIRMED) or (
            registration.status is S.OFFERED and registration.online_meanwhile
        )
        if not holds_online and not tally.online_place_free():
            raise OnlineFull()
        if held_seat:
            tally.held_by_category[registration.category] -= 1
        _make_confirmed(registration, Mode.ONLINE, now)
        registration.ics_sequence += 1
        db.session.flush()
        notifications.notify_changed(registration)
        if held_seat:
            _offer_free_seats(event, tally, now)
        return registration

    # To in person.
    if held_seat or registration.status is S.WAITLISTED:
        return registration  # already has (or waits for) a seat
    _offer_free_seats(event, tally, now)
    if registration.status is S.OFFERED:  # our own turn came just now
        return registration
    was_meanwhile = registration.online_meanwhile
    status = _seat_in_person(registration, tally, when_full, now, event)
    if was_meanwhile and registration.online_meanwhile:
        return registration  # still online meanwhile, still waiting
    registration.ics_sequence += 1
    db.session.flush()
    if status is S.WAITLISTED:
        notifications.notify_waitlisted(registration)
    else:
        notifications.notify_changed(registration)
    return registration


def update_details(registration: Registration, data: RegistrantData) -> Registration:
    """Change name, organization, title, needs or language; the email address stays as it is."""
    _require_active(registration)
    _validate_data(data)
    person = registration.person
    if _normalize_email(data.email) != (person.email or ""):
        raise DomainError(
            _("The email address cannot be changed here. Please contact the organizers."),
            code="email_change_not_allowed",
            field="email",
        )
    before = (
        person.name,
        person.title,
        person.organization_id,
        registration.dietary_needs,
        registration.accessibility_needs,
        registration.language,
    )
    person.name = _clean(data.name, 200) or person.name
    person.title = _clean(data.title, 300)
    person.organization = _organization(data.organization)
    registration.language = data.language
    if _keeps_in_person_details(registration):
        registration.dietary_needs = _clean(data.dietary_needs, 2000)
        registration.accessibility_needs = _clean(data.accessibility_needs, 2000)
    db.session.flush()
    after = (
        person.name,
        person.title,
        person.organization_id,
        registration.dietary_needs,
        registration.accessibility_needs,
        registration.language,
    )
    if after != before:
        registration.ics_sequence += 1
        db.session.flush()
        notifications.notify_changed(registration)
    return registration


def cancel_registration(registration: Registration, *, now: datetime | None = None) -> Registration:
    """Cancel; a seat it held goes to the next person on the waiting list."""
    now = now or utcnow()
    event = registration.event
    _lock(event)
    _reread(registration)
    _require_active(registration)
    tally = _tally(event)
    if registration.mode is Mode.IN_PERSON and registration.status in (S.CONFIRMED, S.OFFERED):
        tally.held_by_category[registration.category] -= 1
    registration.status = S.CANCELLED
    registration.cancelled_at = now
    registration.online_meanwhile = False
    registration.waitlisted_at = None
    registration.offer_expires_at = None
    registration.ics_sequence += 1
    db.session.flush()
    notifications.notify_cancelled(registration)
    _offer_free_seats(event, tally, now)
    return registration


# --- moderation ---------------------------------------------------------------------------------------


def approve_registration(registration: Registration, actor: User, *, now: datetime | None = None) -> Registration:
    """An organizer approves a pending registration: confirmed if there is room, else the waiting list."""
    now = now or utcnow()
    event = registration.event
    if not _is_organizer(actor, event):
        raise NotAllowed(_("Only the event's organizers can approve registrations."), code="not_organizer")
    _lock(event)
    _reread(registration)
    if registration.status is not S.PENDING:
        raise InvalidTransition(_("Only registrations awaiting approval can be approved."))
    tally = _tally(event)
    _offer_free_seats(event, tally, now)
    if registration.mode is Mode.ONLINE:
        _seat_online(registration, tally, now)
    else:
        _seat_in_person(registration, tally, "waitlist", now, event)
    db.session.flush()
    _notify_status(registration)
    return registration


def reject_registration(registration: Registration, actor: User, *, now: datetime | None = None) -> Registration:
    """An organizer rejects a pending registration."""
    now = now or utcnow()
    event = registration.event
    if not _is_organizer(actor, event):
        raise NotAllowed(_("Only the event's organizers can reject registrations."), code="not_organizer")
    _lock(event)
    _reread(registration)
    if registration.status is not S.PENDING:
        raise InvalidTransition(_("Only registrations awaiting approval can be rejected."))
    registration.status = S.REJECTED
    registration.cancelled_at = now
    db.session.flush()
    notifications.notify_rejected(registration)
    return registration


# --- the waiting list and offers ----------------------------------------------------------------------


def promote_from_waitlist(event: Event, *, now: datetime | None = None) -> list[Registration]:
    """Offer every free seat to the waiting list (FIFO, skipping people whose category is full)."""
    now = now or utcnow()
    _lock(event)
    return _offer_free_seats(event, _tally(event), now)


def confirm_offer(registration: Registration, *, now: datetime | None = None) -> Registration:
    """The person promoted from the waiting list takes the seat, before the deadline."""
    now = now or utcnow()
    event = registration.event
    _lock(event)
    _reread(registration)
    if registration.status is not S.OFFERED:
        raise InvalidTransition(_("There is no seat offer to confirm."))
    if registration.offer_expires_at is not None and now >= registration.offer_expires_at:
        raise InvalidTransition(
            _("The seat offer has expired. The seat went to the next person on the waiting list."),
            code="offer_expired",
        )
    _make_confirmed(registration, Mode.IN_PERSON, now)
    registration.ics_sequence += 1
    db.session.flush()
    notifications.notify_confirmed(registration)
    return registration


def _withdraw_offer(registration: Registration, now: datetime) -> None:
    """An offer declined or expired: back to online for those who had an online place, else cancelled."""
    registration.offer_expires_at = None
    registration.waitlisted_at = None
    if registration.online_meanwhile:
        registration.online_meanwhile = False
        registration.mode = Mode.ONLINE
        registration.status = S.CONFIRMED
        registration.join_token = registration.join_token or new_token()
        registration.dietary_needs = registration.accessibility_needs = None
    else:
        registration.status = S.CANCELLED
        registration.cancelled_at = now


def decline_offer(registration: Registration, *, now: datetime | None = None) -> Registration:
    """The person turns the offered seat down; it goes to the next person."""
    now = now or utcnow()
    event = registration.event
    _lock(event)
    _reread(registration)
    if registration.status is not S.OFFERED:
        raise InvalidTransition(_("There is no seat offer to decline."))
    tally = _tally(event)
    tally.held_by_category[registration.category] -= 1
    _withdraw_offer(registration, now)
    registration.ics_sequence += 1
    db.session.flush()
    if registration.status is S.CANCELLED:
        notifications.notify_cancelled(registration)
    else:
        notifications.notify_changed(registration)
    _offer_free_seats(event, tally, now)
    return registration


def expire_offers(*, now: datetime | None = None) -> int:
    """Periodic job: offers past their deadline go back, and their seats go to the next people. Returns how many.

    Run it inside ``write_transaction()`` and commit afterwards. Events are locked in id order.
    """
    now = now or utcnow()
    event_ids = db.session.scalars(
        sa.select(Registration.event_id)
        .where(Registration.status == S.OFFERED, Registration.offer_expires_at <= now)
        .distinct()
        .order_by(Registration.event_id)
    ).all()
    expired_count = 0
    for event_id in event_ids:
        event = db.session.get(Event, event_id)
        if event is None:
            continue
        _lock(event)
        expired = db.session.scalars(
            sa.select(Registration)
            .where(
                Registration.event_id == event_id,
                Registration.status == S.OFFERED,
                Registration.offer_expires_at <= now,
            )
            .order_by(Registration.offer_expires_at, Registration.id)
            .execution_options(populate_existing=True)
        ).all()
        if not expired:
            continue
        for registration in expired:
            _withdraw_offer(registration, now)
            registration.ics_sequence += 1
        db.session.flush()
        for registration in expired:
            notifications.notify_offer_expired(registration)
        expired_count += len(expired)
        _offer_free_seats(event, _tally(event), now)
    return expired_count


# --- limits -------------------------------------------------------------------------------------------


def _check_layout(event: Event, capacity: int | None, quotas: dict[Category, int], tally: _Tally) -> None:
    """Refuse limits that the seats already held would break."""
    if capacity is not None and capacity < 0:
        raise DomainError(_("Capacity cannot be negative."), code="capacity_negative", field="capacity")
    kept = sum(quotas.values())
    if capacity is not None and kept > capacity:
        raise DomainError(
            _(
                "The category quotas (%(kept)d seats) do not fit into the capacity (%(capacity)d).",
                kept=kept,
                capacity=capacity,
            ),
            code="quotas_exceed_capacity",
        )
    if capacity is not None and tally.held > capacity:
        raise DomainError(
            _("%(held)d people already hold in-person seats; the capacity cannot be lower.", held=tally.held),
            code="capacity_below_held",
            field="capacity",
        )
    for category, seats in quotas.items():
        if tally.held_by_category[category] > seats:
            raise DomainError(
                _(
                    "%(held)d people of this category already hold seats; the quota cannot be lower.",
                    held=tally.held_by_category[category],
                ),
                code="quota_below_held",
                field="seats",
            )
    shared_held = sum(n for category, n in tally.held_by_category.items() if category not in quotas)
    if capacity is not None and shared_held > capacity - kept:
        raise DomainError(
            _("The seats taken by other registrants leave no room for this quota."), code="quota_no_room", field="seats"
        )


def set_capacity(event: Event, capacity: int | None, *, now: datetime | None = None) -> list[Registration]:
    """Change the number of in-person seats (None: no limit); new seats go to the waiting list."""
    now = now or utcnow()
    _lock(event)
    tally = _tally(event)
    _check_layout(event, capacity, tally.quotas, tally)
    event.capacity = capacity
    tally.capacity = capacity
    db.session.flush()
    return _offer_free_seats(event, tally, now)


def set_online_capacity(event: Event, online_capacity: int | None) -> None:
    """Limit online places (None: no limit); not below the places already taken."""
    _lock(event)
    tally = _tally(event)
    if online_capacity is not None and (online_capacity < 0 or online_capacity < tally.online_held):
        raise DomainError(
            _("%(held)d people already hold online places; the limit cannot be lower.", held=tally.online_held),
            code="online_capacity_below_held",
            field="online_capacity",
        )
    event.online_capacity = online_capacity
    db.session.flush()


def set_category_quota(event: Event, category: Category, seats: int | None) -> None:
    """Keep ``seats`` in-person seats for ``category`` within the capacity (None removes the quota)."""
    if seats is not None and seats < 0:
        raise DomainError(_("A quota cannot be negative."), code="quota_negative", field="seats")
    _lock(event)
    tally = _tally(event)
    quotas = dict(tally.quotas)
    if seats is None:
        quotas.pop(category, None)
    else:
        quotas[category] = seats
    _check_layout(event, event.capacity, quotas, tally)
    quota = db.session.scalar(
        sa.select(CategoryQuota).where(CategoryQuota.event_id == event.id, CategoryQuota.category == category)
    )
    if seats is None:
        if quota is not None:
            db.session.delete(quota)
    elif quota is None:
        db.session.add(CategoryQuota(event_id=event.id, category=category, seats=seats))
    else:
        quota.seats = seats
    db.session.flush()
    tally.quotas = quotas
    _offer_free_seats(event, tally, utcnow())


# --- reading ------------------------------------------------------------------------------------------


def seat_counts(event: Event) -> SeatCounts:
    """Seats held, offered and free; waiting, online and pending counts; per category (held, quota)."""
    tally = _count(event)

    def total(mode: Mode | None, status: RegistrationStatus) -> int:
        return sum(n for (m, st, _meanwhile), n in tally.counts.items() if st is status and mode in (None, m))

    categories: Iterable[Category] = [c for c in Category if c in tally.quotas or tally.held_by_category[c]]
    return SeatCounts(
        capacity=event.capacity,
        in_person_confirmed=total(Mode.IN_PERSON, S.CONFIRMED),
        in_person_offered=total(Mode.IN_PERSON, S.OFFERED),
        waitlisted=tally.waiting,
        online_confirmed=total(Mode.ONLINE, S.CONFIRMED),
        online_capacity=event.online_capacity,
        pending=total(None, S.PENDING),
        by_category={c: (tally.held_by_category[c], tally.quotas.get(c)) for c in categories},
    )


def waiting_list(event: Event) -> list[Registration]:
    """The in-person waiting list in order: waiting people and those online meanwhile."""
    return list(
        db.session.scalars(
            sa.select(Registration)
            .where(Registration.event_id == event.id, Registration.waitlisted_at.is_not(None))
            .where(Registration.status.in_([S.WAITLISTED, S.CONFIRMED]))
            .order_by(Registration.waitlisted_at, Registration.id)
        )
    )


# --- personal links -----------------------------------------------------------------------------------


def record_join(registration: Registration, *, now: datetime | None = None) -> str:
    """An online attendee follows their personal join link: note the time, return the platform URL."""
    now = now or utcnow()
    may_join = (registration.mode is Mode.ONLINE and registration.status is S.CONFIRMED) or (
        registration.status is S.OFFERED and registration.online_meanwhile
    )
    if not may_join:
        raise DomainError(
            _("This link is for confirmed online attendees. Your registration does not include an online place."),
            code="join_not_allowed",
        )
    url = registration.event.online_url
    if not url:
        raise DomainError(
            _("The organizers have not published the online link yet. Please try again later."), code="no_online_url"
        )
    if registration.first_joined_at is None:
        registration.first_joined_at = now
    registration.last_joined_at = now
    db.session.flush()
    return url


def find_registration_by_manage_token(token: str) -> Registration | None:
    """The registration whose "manage my registration" link carries ``token``."""
    return find_by_token(Registration, Registration.manage_token, token)


def find_registration_by_join_token(token: str) -> Registration | None:
    """The registration whose personal join link carries ``token``."""
    return find_by_token(Registration, Registration.join_token, token)
