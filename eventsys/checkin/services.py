"""Door check-in rules: lists, redeeming a badge, exits, undo, door devices, search and the dashboard figures.

``redeem_badge`` owns the one decision "may this badge come in on this list now?". It answers with a
``CheckInResult`` whose ``result`` is one of ``RESULTS``; only ``ok`` writes a row.

Concurrency. Two doors may scan the same badge at the same moment (a shared screenshot of a QR, a
double read). The decision takes a row lock on the badge (``SELECT ... FOR UPDATE`` on PostgreSQL; on
SQLite the transaction holds the write lock from ``BEGIN IMMEDIATE``), once, late (after everything that
needs no lock was checked), and then writes the new entry with one statement that first looks for a live
entry (``INSERT ... SELECT ... WHERE NOT EXISTS``) and writes nothing if there is one. Behind the lock, the
database itself refuses a second live entry for a badge and list (the partial unique index
``uq_checkin_live_entry``): if that ever fires (the lock switched off, or a writer that forgot it), the
insert is undone (in its savepoint on PostgreSQL) and the scan answers ``already_checked_in`` instead of failing.

Idempotency. Every scan carries a ``nonce`` (the scanner's request id, unique in the database). A retried
request with a nonce already stored gets the stored check-in's answer again, flagged ``replayed``, and
writes nothing.

Test-only switches (config): ``LOCKING_ENABLED = False`` skips the lock and, only then,
``RACE_WINDOW_SECONDS`` keeps the transaction open that long after writing a new entry (its look for a
live entry and its write are one statement), so the control tests show the race.

Callers commit once. Code outside a web request wraps the transaction in ``write_transaction()``.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, make_transient_to_detached

from eventsys.accounts.models import User
from eventsys.checkin import badges
from eventsys.checkin.models import (
    Badge,
    CheckIn,
    CheckInConflict,
    CheckInDirection,
    CheckInList,
    DoorDevice,
    device_admits,
    list_admits,
)
from eventsys.common.db import claim_write_lock, utcnow
from eventsys.common.errors import DomainError, NotAllowed
from eventsys.common.timefmt import format_in_zone
from eventsys.common.tokens import looks_like_token, new_token
from eventsys.events.models import Category, Event, Organization, Person
from eventsys.extensions import db
from eventsys.registration.models import Mode, Registration, RegistrationStatus

#: Every answer a scan can get.
RESULTS = (
    "ok",  # in (or, for an exit scan, out)
    "already_checked_in",  # a live entry exists on this list: with the first entry's time and door
    "invalid",  # not a badge code of ours: unreadable, forged, or signed with another key
    "revoked",  # a real code, replaced by a re-issue or revoked when the registration changed
    "cancelled",  # the registration was cancelled (and its badge not yet revoked)
    "not_in_person",  # the registration is online (or not confirmed): no seat in the room
    "wrong_event",  # a genuine badge of another event of ours
    "not_yet_open",  # the list's day has not begun (in the event's zone)
    "list_closed",  # the list's day is over
    "not_admitted",  # the list (a session or category list) does not admit this badge's category
    "not_checked_in",  # an exit scan for someone with no live entry on the list
)
#: Results shown in red at the door.
REFUSALS = frozenset(RESULTS) - {"ok", "already_checked_in"}
#: Categories whose arrival the door should notice (the scanner shows purple).
VIP_CATEGORIES = (Category.SPEAKER, Category.EMBASSY)
#: A scanner's clock may run ahead of the server's by this much before its time is replaced by the server's.
CLOCK_SKEW = timedelta(minutes=5)
NONCE_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
DOOR_MAX = 100


# --- errors -------------------------------------------------------------------------------------------


class CheckInError(DomainError):
    """The request itself is wrong (unknown list, bad nonce ...), as opposed to a scan's answer."""


class ListNotFound(CheckInError):
    status = 404

    def __init__(self) -> None:
        super().__init__(_("There is no such check-in list for this event."), code="list_not_found", field="list")


# --- results ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry just written, as its row holds it: what the door's answer shows (``redeem_badge(entry_object=False)``).

    Has the attributes of a ``CheckIn`` that ``eventsys.checkin.api.checkin_json`` reads.
    """

    id: int
    list_id: int
    direction: CheckInDirection
    door: str
    scanned_at: datetime
    annulled_at: None = None


@dataclass
class CheckInResult:
    """The answer to one scan, as the door sees it."""

    result: str
    message: str
    #: The attendee as door staff may see them (``attendee_summary``); None when the code is not ours.
    summary: dict[str, Any] | None = None
    #: For ``ok``: the entry written (a ``NewEntry`` when the caller asked for no ORM object).
    checkin: CheckIn | NewEntry | None = None
    #: For ``already_checked_in``: the live entry (its time and door).
    first_checkin: CheckIn | None = None
    #: The same nonce was seen before: this is that scan's answer again, nothing was written.
    replayed: bool = False
    #: The database refused a duplicate live entry (only happens when the lock is switched off).
    raced: bool = False
    #: Why the door should look twice (``ok`` with needs or a VIP): shown in purple.
    attention: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.result == "ok"


def _message(result: str, direction: CheckInDirection = CheckInDirection.IN) -> str:
    if result == "ok":
        return _("Welcome!") if direction is CheckInDirection.IN else _("Exit recorded.")
    messages = {
        "already_checked_in": _("Already checked in."),
        "invalid": _("This is not a valid badge."),
        "revoked": _("This badge was revoked. Ask for a new one at the desk."),
        "cancelled": _("This registration was cancelled."),
        "not_in_person": _("This registration is not for attending in person."),
        "wrong_event": _("This badge is for another event."),
        "not_yet_open": _("This check-in list is not open yet."),
        "list_closed": _("This check-in list is closed."),
        "not_admitted": _("This badge's category is not admitted on this list."),
        "not_checked_in": _("This person is not checked in on this list."),
    }
    return messages[result]


def result_messages() -> dict[str, str]:
    """Every result's message in the current language (the scanner page shows them when it decides offline)."""
    return {result: _message(result) for result in RESULTS}


# --- what door staff may see ------------------------------------------------------------------------


def attendee_summary(registration: Registration) -> dict[str, Any]:
    """The minimum the door needs: name, organization, category, status and needs. No email, no token."""
    person = registration.person
    return _summary(
        registration.id,
        person.name,
        person.organization.name if person.organization else None,
        registration.category,
        registration.status,
        registration.mode,
        registration.accessibility_needs,
    )


def attention_reasons(registration: Registration) -> list[str]:
    """Why door staff should look twice at this arrival: accessibility needs, or a VIP category."""
    return _attention(registration.accessibility_needs, registration.category)


# --- lists --------------------------------------------------------------------------------------------


def event_days(event: Event) -> list[date]:
    """The event's days in its own zone, first to last."""
    tz = event.tz
    first = event.starts_at.astimezone(tz).date()
    # An event ending at midnight does not run on the next day.
    last = (event.ends_at - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def missing_default_days(event: Event) -> list[date]:
    """Event days that have no default list yet."""
    existing = set(
        db.session.scalars(
            sa.select(CheckInList.day).where(CheckInList.event_id == event.id, CheckInList.is_default.is_(True))
        )
    )
    return [day for day in event_days(event) if day not in existing]


def ensure_default_lists(event: Event) -> None:
    """Create the default list of each event day that has none; safe when two requests do it at once."""
    days = event_days(event)
    missing = set(missing_default_days(event))
    for number, day in enumerate(days, start=1):
        if day not in missing:
            continue
        name = _("Day %(number)d · %(day)s", number=number, day=day.isoformat()) if len(days) > 1 else _("Entrance")
        try:
            with db.session.begin_nested():
                db.session.add(CheckInList(event_id=event.id, name=name, day=day, is_default=True))
        except IntegrityError:
            pass  # another request made it first: uq_checkin_list_default_day


def lists_for(event: Event) -> list[CheckInList]:
    """The event's lists: default day lists by day, then the others by name."""
    return list(
        db.session.scalars(
            sa.select(CheckInList)
            .where(CheckInList.event_id == event.id)
            .order_by(CheckInList.is_default.desc(), CheckInList.day, CheckInList.name, CheckInList.id)
        )
    )


def get_list(event: Event, list_id: object) -> CheckInList:
    """The event's list with this id (an int or its text), or ListNotFound."""
    try:
        number = int(str(list_id))
    except ValueError:
        raise ListNotFound() from None
    found = db.session.get(CheckInList, number) if 0 < number < 2**31 else None
    if found is None or found.event_id != event.id:
        raise ListNotFound()
    return found


def default_list_for(event: Event, at: datetime) -> CheckInList | None:
    """The default list of the event day ``at`` falls on (in the event's zone), if it exists."""
    day = at.astimezone(event.tz).date()
    return db.session.scalar(_DEFAULT_LIST, {"event_id": event.id, "day": day})


#: Built once: the door's list is looked up on every scan.
_DEFAULT_LIST = sa.select(CheckInList).where(
    CheckInList.event_id == sa.bindparam("event_id"),
    CheckInList.is_default.is_(True),
    CheckInList.day == sa.bindparam("day"),
)


def create_list(
    event: Event,
    *,
    name: str,
    day: date | None = None,
    session_id: int | None = None,
    categories: list[str] | None = None,
    allows_exit: bool = False,
) -> CheckInList:
    """An organizer's list for a day, a session or some categories (None = all categories)."""
    name = (name or "").strip()
    if not name:
        raise CheckInError(_("Give the list a name."), code="name_required", field="name")
    if day is not None and day not in event_days(event):
        raise CheckInError(_("Choose one of the event's days."), code="not_an_event_day", field="day")
    if categories is not None:
        valid = {c.value for c in Category}
        if not categories or not set(categories) <= valid:
            raise CheckInError(_("Choose at least one category."), code="categories_required", field="categories")
        categories = sorted(set(categories))
    checkin_list = CheckInList(
        event_id=event.id,
        name=name[:120],
        day=day,
        session_id=session_id,
        categories=categories,
        allows_exit=allows_exit,
    )
    db.session.add(checkin_list)
    db.session.flush()
    return checkin_list


def set_allows_exit(checkin_list: CheckInList, allows_exit: bool) -> None:
    """Turn exit scans on or off for a list (a default day list too)."""
    checkin_list.allows_exit = allows_exit
    db.session.flush()


# --- redeeming a badge ------------------------------------------------------------------------------


def _clamp(scanned_at: datetime | None, now: datetime) -> datetime:
    """The scanner's time, unless it is missing or ahead of ours (a wrong phone clock)."""
    if scanned_at is None or scanned_at.tzinfo is None or scanned_at > now + CLOCK_SKEW:
        return now
    return min(scanned_at, now)


def _check_nonce(nonce: str | None) -> str:
    if nonce is None:
        return new_token()
    if not isinstance(nonce, str) or not NONCE_RE.match(nonce):
        raise CheckInError(
            _("The request id (nonce) must be 8 to 64 letters, digits or - _ . :"), code="bad_nonce", field="nonce"
        )
    return nonce


def _replay(event: Event | ScanEvent, nonce: str) -> CheckInResult | None:
    """The stored answer for a nonce already used, or None. A nonce of another event's scan is refused."""
    previous = db.session.scalar(
        sa.select(CheckIn).where(CheckIn.nonce == nonce).options(joinedload(CheckIn.checkin_list))
    )
    if previous is None:
        return None
    if previous.checkin_list.event_id != event.id:
        raise CheckInError(_("This request id (nonce) was already used."), code="nonce_reused", field="nonce")
    registration = previous.badge.registration
    return CheckInResult(
        result="ok",
        message=_message("ok", previous.direction),
        summary=attendee_summary(registration),
        checkin=previous,
        replayed=True,
        attention=attention_reasons(registration) if previous.direction is CheckInDirection.IN else [],
    )


def _lock_badge(badge_id: int) -> None:
    """Serialize decisions about one badge until the end of the transaction (see the module docstring)."""
    # SQLite, in a request that began late: its write lock, now (else it is held from BEGIN IMMEDIATE).
    claim_write_lock(db.session)
    if not current_app.config.get("LOCKING_ENABLED", True):
        return
    if db.session.get_bind().dialect.name == "sqlite":
        return  # the transaction holds SQLite's write lock
    db.session.execute(_LOCK_BADGE, {"badge_id": badge_id})


def _race_window() -> None:
    """Test-only: keep a new entry uncommitted a while (others look meanwhile), only when locking is off."""
    config = current_app.config
    if not config.get("LOCKING_ENABLED", True):
        seconds = float(config.get("RACE_WINDOW_SECONDS") or 0)
        if seconds > 0:
            time.sleep(seconds)


def _live_entry(badge_id: int, list_id: int) -> CheckIn | None:
    return db.session.scalar(
        sa.select(CheckIn)
        .where(
            CheckIn.badge_id == badge_id,
            CheckIn.list_id == list_id,
            CheckIn.direction == CheckInDirection.IN,
            CheckIn.closed_at.is_(None),
            CheckIn.annulled_at.is_(None),
        )
        .execution_options(populate_existing=True)
    )


# --- the single scan's hot path -------------------------------------------------------------------
# A door scan is the busiest request of an event day, so its statements are built once per process and run
# as SQL expressions: the admission facts come back as one row (badge, registration, person, organization),
# the live entry as an id, and the entry is written with one INSERT (no unit of work). Only what the caller
# keeps becomes an ORM object (the new entry; a live entry it is shown).

_badge_t = Badge.__table__
_registration_t = Registration.__table__
_person_t = Person.__table__
_organization_t = Organization.__table__
_checkin_t = CheckIn.__table__

#: A badge with its registration, person and (if any) organization.
_ADMITTED_BADGES = (
    _badge_t.join(_registration_t, _registration_t.c.id == _badge_t.c.registration_id)
    .join(_person_t, _person_t.c.id == _registration_t.c.person_id)
    .outerjoin(_organization_t, _organization_t.c.id == _person_t.c.organization_id)
)
#: Everything the door decides on and may show, for one badge.
_ADMISSION = (
    sa.select(
        _badge_t.c.event_id,
        _badge_t.c.code,
        _badge_t.c.revoked_at,
        _registration_t.c.id.label("registration_id"),
        _registration_t.c.status,
        _registration_t.c.mode,
        _registration_t.c.category,
        _registration_t.c.accessibility_needs,
        _person_t.c.name,
        _organization_t.c.name.label("organization"),
    )
    .select_from(_ADMITTED_BADGES)
    .where(_badge_t.c.id == sa.bindparam("badge_id"))
)
_list_t = CheckInList.__table__
#: A default list as a scan reads it (``DayList.of``), then the admission facts of one badge.
_DAY_LIST_COLUMNS = (
    _list_t.c.id.label("list_id"),
    _list_t.c.event_id.label("list_event_id"),
    _list_t.c.name.label("list_name"),
    _list_t.c.day.label("list_day"),
    _list_t.c.categories.label("list_categories"),
    *_ADMISSION.selected_columns,
)
#: The day's default list with the admission facts of one badge (all NULL if there is no such badge).
_DAY_LIST_AND_ADMISSION = (
    sa.select(*_DAY_LIST_COLUMNS)
    .select_from(_list_t.outerjoin(_ADMITTED_BADGES, _badge_t.c.id == sa.bindparam("badge_id")))
    .where(
        _list_t.c.event_id == sa.bindparam("event_id"),
        _list_t.c.is_default.is_(True),
        _list_t.c.day == sa.bindparam("day"),
    )
)
_LIVE_ENTRY_ID = sa.select(_checkin_t.c.id).where(
    _checkin_t.c.badge_id == sa.bindparam("badge_id"),
    _checkin_t.c.list_id == sa.bindparam("list_id"),
    _checkin_t.c.direction == CheckInDirection.IN,
    _checkin_t.c.closed_at.is_(None),
    _checkin_t.c.annulled_at.is_(None),
)
_LOCK_BADGE = sa.select(_badge_t.c.id).where(_badge_t.c.id == sa.bindparam("badge_id")).with_for_update()
#: The columns a new entry is written with (the others take their defaults: NULL).
_ENTRY_COLUMNS = (
    "badge_id",
    "list_id",
    "direction",
    "door",
    "device_id",
    "user_id",
    "nonce",
    "scanned_at",
    "created_at",
)
#: A new entry, written only if the badge has no live entry on the list: the look and the write are one
#: statement, run behind the badge lock (so what it looks at cannot change before it writes).
_INSERT_ENTRY_UNLESS_LIVE = (
    sa.insert(_checkin_t)
    .from_select(
        _ENTRY_COLUMNS,
        sa.select(*(sa.bindparam(name, type_=_checkin_t.c[name].type) for name in _ENTRY_COLUMNS)).where(
            ~sa.exists(_LIVE_ENTRY_ID)
        ),
    )
    .returning(_checkin_t.c.id)
)


#: Per language, the texts a door answer repeats on every scan: the results' messages and the labels of
#: statuses and categories. The catalogs do not change while the app runs, so each worker looks them up once.
#: Keyed by the ``babel.Locale`` itself (hashed on its parts; its string form costs more to build).
_DOOR_TEXTS: dict[object, dict[object, str]] = {}


def _door_texts() -> dict[object, str]:
    locale = get_locale() or "en"
    texts = _DOOR_TEXTS.get(locale)
    if texts is None:
        texts = {result: _message(result) for result in RESULTS}
        texts.update({status: status.label for status in RegistrationStatus})
        texts.update({category: category.label for category in Category})
        _DOOR_TEXTS[locale] = texts
    return texts


def _summary(
    registration_id: int,
    name: str,
    organization: str | None,
    category: Category | None,
    status: RegistrationStatus,
    mode: Mode,
    needs: str | None,
) -> dict[str, Any]:
    texts = _door_texts()
    return {
        "registration_id": registration_id,
        "name": name,
        "organization": organization,
        "category": category.value if category else None,
        "category_label": texts[category] if category else None,
        "status": status.value,
        "status_label": texts[status],
        "mode": mode.value,
        "needs": needs or None,
    }


def _attention(needs: str | None, category: Category | None) -> list[str]:
    reasons = []
    if needs:
        reasons.append(_("Needs: %(needs)s", needs=needs))
    if category in VIP_CATEGORIES:
        reasons.append(_("VIP: %(category)s", category=category.label))  # type: ignore[union-attr]
    return reasons


#: Public keys of events, by (id, created_at): a key never changes, so each worker reads it once.
_PUBLIC_KEYS: dict[tuple[int, datetime], VerifyKey] = {}


def _verify(
    event: Event | ScanEvent, code: object, parsed: tuple[badges.VerifiedCode, bytes, bytes] | None = None
) -> badges.VerifiedCode:
    """``badges.verify_code``, with the door's own event key read and loaded once per process.

    The door's own event is checked with libsodium (PyNaCl): the same Ed25519 verification as the
    ``cryptography`` package's, which makes the keys and signs the badges, at less than half its cost per scan
    (tests/checkin/test_badges.py holds the two to the same answers). ``parsed``: ``badges.parse_code(code)``,
    if the caller has it already.
    """
    text = code if isinstance(code, str) else ""
    claims, payload, signature = parsed or badges.parse_code(text)
    if claims.event_id != event.id:
        return badges.verify_code(text)
    cache_key = (event.id, event.created_at)
    public_key = _PUBLIC_KEYS.get(cache_key)
    if public_key is None:
        try:
            public_key = VerifyKey(badges.event_public_key(as_orm(event)))
        except (ValueError, TypeError) as error:
            raise badges.InvalidCode() from error
        _PUBLIC_KEYS[cache_key] = public_key
    try:
        public_key.verify(payload, signature)
    except (BadSignatureError, ValueError, TypeError) as error:
        raise badges.InvalidCode() from error
    return claims


@dataclass
class _Scan:
    """A scan's request, checked: the list belongs to the event, the nonce is well formed, the time clamped."""

    nonce: str
    scanned_at: datetime
    now: datetime


def _scan(
    event: Event | ScanEvent,
    checkin_list: ScanList,
    nonce: str | None,
    scanned_at: datetime | None,
    now: datetime | None,
) -> _Scan:
    """The preamble every scan shares (entry or exit)."""
    now = now or utcnow()
    if checkin_list.event_id != event.id:
        raise ListNotFound()
    return _Scan(nonce=_check_nonce(nonce), scanned_at=_clamp(scanned_at, now), now=now)


@dataclass
class _Admission:
    """What ``_admit`` found: a refusal, or the badge that may pass with what the door shows."""

    refusal: CheckInResult | None
    badge_id: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    attention: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DayList:
    """A day's default list as a door scan reads it (``day_list_for_scan``): what the scan and its answer use.

    ``redeem_badge`` takes it where it takes a ``CheckInList``; it is read with plain SQL, not loaded as an
    ORM object (the busiest request of an event day needs no more).
    """

    id: int
    event_id: int
    name: str
    day: date | None
    categories: list[str] | None

    def admits(self, category: str | None) -> bool:
        return list_admits(self.categories, category)

    @classmethod
    def of(cls, row: sa.Row[Any]) -> DayList:
        """The list in a row read with ``_DAY_LIST_COLUMNS``."""
        return cls(row.list_id, row.list_event_id, row.list_name, row.list_day, row.list_categories)


#: The list a scan is on: a ``CheckInList``, or the day's default list as ``day_list_for_scan`` read it.
ScanList = CheckInList | DayList


@dataclass
class Prefetched:
    """A badge's admission row, read with the day's list (``day_list_for_scan``) before the signature is checked."""

    #: The code as ``badges.parse_code`` split it (claims, payload, signature): not verified yet.
    parsed: tuple[badges.VerifiedCode, bytes, bytes]
    row: sa.Row[Any] | None

    @property
    def badge_id(self) -> int:
        return self.parsed[0].badge_id


def day_list_for_scan(event: Event, at: datetime, code: object) -> tuple[ScanList | None, Prefetched | None]:
    """``default_list_for(event, at)``, and in the same statement the admission row of the badge ``code`` names.

    The row is only read here; ``redeem_badge`` uses it after verifying the code's signature (a forged code
    naming a real badge is still refused as invalid). A code that names no badge of this event is not looked up.
    """
    try:
        parsed = badges.parse_code(code if isinstance(code, str) else "")
    except badges.InvalidCode:
        return default_list_for(event, at), None
    claims = parsed[0]
    if claims.event_id != event.id:
        return default_list_for(event, at), None
    day = at.astimezone(event.tz).date()
    params = {"event_id": event.id, "day": day, "badge_id": claims.badge_id}
    found = db.session.connection().execute(_DAY_LIST_AND_ADMISSION, params).first()
    if found is None:
        return None, None
    day_list = DayList.of(found)
    return day_list, Prefetched(parsed, found if found.event_id is not None else None)


# --- the day's list and the badge's row, read with the door device (eventsys.common.access.DevicePrefetch) ---

#: A scan's day in the event's zone is one of these UTC dates: the day before, the day, the day after.
_PREFETCH_DAYS = ("scan_day_before", "scan_day", "scan_day_after")


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """A device's badge scan's event, as the statement that checks the device's token read it (plain values).

    What the scan and its answer use of the event; ``redeem_badge`` takes it where it takes an ``Event``. Any
    other path of the request loads the ORM object (``orm``).
    """

    id: int
    slug: str
    timezone: str
    created_at: datetime

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def orm(self) -> Event:
        event = db.session.get(Event, self.id)
        assert event is not None  # read in this transaction
        return event


@dataclass(frozen=True, slots=True)
class ScanDevice:
    """The door device of a badge scan, read with its event (``ScanEvent``): what the scan uses of it."""

    id: int
    name: str
    list_id: int | None
    token: str
    revoked_at: datetime | None
    last_seen_at: datetime | None

    def admits(self, token: str) -> bool:
        """``DoorDevice.admits``: the same rule."""
        return device_admits(self.token, self.revoked_at, token)

    def orm(self) -> DoorDevice:
        device = db.session.get(DoorDevice, self.id)
        assert device is not None  # read in this transaction
        return device


def as_orm(found: Any) -> Any:
    """The ORM object of a ``ScanEvent`` or ``ScanDevice`` (for what needs more of them); anything else as is."""
    return found.orm() if isinstance(found, ScanEvent | ScanDevice) else found


_event_t = Event.__table__
_device_t = DoorDevice.__table__
_SCAN_EVENT_COLUMNS = tuple(
    _event_t.c[name].label(f"scan_event_{name}") for name in ("id", "slug", "timezone", "created_at")
)
_SCAN_DEVICE_COLUMNS = tuple(
    _device_t.c[name].label(f"scan_device_{name}")
    for name in ("id", "name", "list_id", "token", "revoked_at", "last_seen_at")
)


def extend_for_scan(statement: sa.Select[Any]) -> sa.Select[Any]:
    """A device's badge scan in one statement: to the event by its slug and the device holding the token (the
    statement of ``door_access``), the columns of both that a scan uses, the event's default lists of the
    scan's three candidate days and the admission row of the badge the code names (outer joins: a row per list
    found)."""
    return (
        statement.add_columns(*_SCAN_EVENT_COLUMNS, *_SCAN_DEVICE_COLUMNS, *_DAY_LIST_COLUMNS)
        .outerjoin(
            _list_t,
            sa.and_(
                _list_t.c.event_id == _event_t.c.id,
                _list_t.c.is_default.is_(True),
                _list_t.c.day.in_([sa.bindparam(name, type_=sa.Date()) for name in _PREFETCH_DAYS]),
            ),
        )
        .outerjoin(_ADMITTED_BADGES, _badge_t.c.id == sa.bindparam("scan_badge_id"))
    )


@dataclass(frozen=True)
class ScanFacts:
    """What a scan's prefetch parsed before its statement ran: the code (unverified) and the scan's time."""

    parsed: tuple[badges.VerifiedCode, bytes, bytes] | None
    at: datetime


def scan_prefetch_params(code: object, at: datetime) -> tuple[dict[str, Any], ScanFacts]:
    """The bind parameters of ``extend_for_scan`` (beside ``slug`` and ``token``) for a badge ``code`` scanned
    at ``at``."""
    try:
        parsed: tuple[badges.VerifiedCode, bytes, bytes] | None = badges.parse_code(
            code if isinstance(code, str) else ""
        )
    except badges.InvalidCode:
        parsed = None
    day = at.astimezone(UTC).date()
    params: dict[str, Any] = {"scan_badge_id": parsed[0].badge_id if parsed else None}
    params.update(zip(_PREFETCH_DAYS, (day - timedelta(days=1), day, day + timedelta(days=1)), strict=True))
    return params, ScanFacts(parsed, at)


def collect_scan_prefetch(
    rows: list[sa.Row[Any]], facts: ScanFacts
) -> tuple[ScanEvent, ScanDevice | None, tuple[DayList, Prefetched | None] | None]:
    """The event, its device (None: no device of the event holds the token) and what ``day_list_for_scan``
    answers, from the rows of ``extend_for_scan`` (at least one); the last is None if the day has no list yet
    (the caller then takes the slow path, which makes the day's lists)."""
    first = rows[0]
    event = ScanEvent(
        first.scan_event_id, first.scan_event_slug, first.scan_event_timezone, first.scan_event_created_at
    )
    device = None
    if first.scan_device_id is not None:
        device = ScanDevice(
            first.scan_device_id,
            first.scan_device_name,
            first.scan_device_list_id,
            first.scan_device_token,
            first.scan_device_revoked_at,
            first.scan_device_last_seen_at,
        )
    day = facts.at.astimezone(event.tz).date()
    row = next((r for r in rows if r.list_id is not None and r.list_day == day), None)
    if row is None:
        return event, device, None
    day_list = DayList.of(row)
    if facts.parsed is None or facts.parsed[0].event_id != event.id:
        return event, device, (day_list, None)  # not a code of this event: nothing of it was read
    return event, device, (day_list, Prefetched(facts.parsed, row if row.event_id is not None else None))


def _admit(
    event: Event | ScanEvent,
    code: str,
    checkin_list: ScanList,
    scanned_at: datetime,
    prefetched: Prefetched | None = None,
) -> _Admission:
    """Everything that needs no lock: the signature, the badge, the registration, the list's rules (one query)."""

    def refuse(result: str, summary: dict[str, Any] | None = None) -> _Admission:
        return _Admission(CheckInResult(result=result, message=_message(result), summary=summary))

    if prefetched is not None and prefetched.parsed[0].code != code.strip().upper():
        prefetched = None  # read for another code
    try:
        verified = _verify(event, code, prefetched.parsed if prefetched is not None else None)
    except badges.InvalidCode:
        return refuse("invalid")
    if verified.event_id != event.id:
        # Signed with the key of the event it names, and that is another of our events.
        return refuse("wrong_event")
    if prefetched is not None and prefetched.badge_id == verified.badge_id:
        row = prefetched.row
    else:
        row = db.session.execute(_ADMISSION, {"badge_id": verified.badge_id}).first()
    if row is None or row.event_id != event.id or row.code != verified.code:
        return refuse("invalid")
    status, mode, category, needs = row.status, row.mode, row.category, row.accessibility_needs
    summary = _summary(row.registration_id, row.name, row.organization, category, status, mode, needs)
    if status is RegistrationStatus.CANCELLED:
        # Badges are revoked with their registration (eventsys.checkin.badges); "cancelled" only if one was missed.
        return refuse("revoked" if row.revoked_at is not None else "cancelled", summary)
    if row.revoked_at is not None and mode is Mode.IN_PERSON:
        return refuse("revoked", summary)  # re-issued (lost badge), or the registration left its seat
    if mode is not Mode.IN_PERSON or status is not RegistrationStatus.CONFIRMED:
        return refuse("not_in_person", summary)
    if checkin_list.day is not None:
        today = scanned_at.astimezone(event.tz).date()
        if today < checkin_list.day:
            return refuse("not_yet_open", summary)
        if today > checkin_list.day:
            return refuse("list_closed", summary)
    if not checkin_list.admits(category.value if category else None):
        return refuse("not_admitted", summary)
    return _Admission(None, verified.badge_id, summary, _attention(needs, category))


def _insert_entry_unless_live(values: dict[str, Any]) -> int | None:
    """Write a new entry with one statement unless the badge already has a live one on the list: its id, or None.

    Raises IntegrityError if the database refuses the row: a nonce already stored, or (only when the badge lock
    is off) a live entry written meanwhile by another transaction. On PostgreSQL the INSERT runs in a
    SAVEPOINT, so that the transaction stays usable after such a refusal; SQLite undoes only the failed
    statement by itself.
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        return connection.execute(_INSERT_ENTRY_UNLESS_LIVE, values).scalar()
    with db.session.begin_nested():  # the SAVEPOINT is emitted when the session's connection is asked for
        return db.session.connection().execute(_INSERT_ENTRY_UNLESS_LIVE, values).scalar()


def _entry_object(new_id: int, values: dict[str, Any]) -> CheckIn:
    """The entry just written with ``values``, as a persistent object of the session (no query)."""
    entry = CheckIn(id=new_id, entry_id=None, closed_at=None, annulled_at=None, **values)
    make_transient_to_detached(entry)
    db.session.add(entry)
    return entry


def _live_entry_now(badge_id: int, list_id: int) -> CheckIn | None:
    """The badge's live entry on the list, as the database has it now (after the lock)."""
    live_id = db.session.execute(_LIVE_ENTRY_ID, {"badge_id": badge_id, "list_id": list_id}).scalar()
    return None if live_id is None else db.session.get(CheckIn, live_id, populate_existing=True)


def redeem_badge(
    event: Event | ScanEvent,
    code: str,
    checkin_list: ScanList,
    *,
    door: str = "",
    nonce: str | None = None,
    scanned_at: datetime | None = None,
    actor: User | None = None,
    device: DoorDevice | ScanDevice | None = None,
    now: datetime | None = None,
    prefetched: Prefetched | None = None,
    entry_object: bool = True,
) -> CheckInResult:
    """Check a badge in on a list: ``ok`` (one new entry) or the reason it may not pass. Never commits.

    ``prefetched``: the badge's admission row as ``day_list_for_scan`` read it with ``checkin_list``.
    ``entry_object``: an ``ok`` carries the new entry as a ``CheckIn`` of the session; False: as a ``NewEntry``
    (the door API, which only shows it).
    """
    scan = _scan(event, checkin_list, nonce, scanned_at, now)
    # A retried request is recognised below, when its entry is found live (or its nonce refused on insert):
    # the common path spends no query on it.
    admission = _admit(event, code, checkin_list, scan.scanned_at, prefetched)
    if admission.refusal is not None:
        return admission.refusal
    badge_id, summary = admission.badge_id, admission.summary

    def already(live: CheckIn | None, *, raced: bool = False) -> CheckInResult:
        return CheckInResult(
            result="already_checked_in",
            message=_message("already_checked_in"),
            summary=summary,
            first_checkin=live,
            raced=raced,
        )

    _lock_badge(badge_id)
    values = {
        "badge_id": badge_id,
        "list_id": checkin_list.id,
        "direction": CheckInDirection.IN,
        "door": _door(door, device),
        "device_id": device.id if device else None,
        "user_id": actor.id if actor else None,
        "nonce": scan.nonce,
        "scanned_at": scan.scanned_at,
        "created_at": scan.now,
    }
    try:
        new_id = _insert_entry_unless_live(values)
        _race_window()
    except IntegrityError:
        # A retried request whose entry is no longer live (its nonce is stored), or, with the lock off only,
        # another door's entry written between this statement's look and its write.
        replay = _replay(event, scan.nonce)
        if replay is not None:
            return replay
        return already(_live_entry_now(badge_id, checkin_list.id), raced=True)
    if new_id is None:
        live = _live_entry_now(badge_id, checkin_list.id)
        if live is not None and live.nonce == scan.nonce:
            replay = _replay(event, scan.nonce)
            assert replay is not None
            return replay
        return already(live)
    if entry_object:
        entry: CheckIn | NewEntry = _entry_object(new_id, values)
    else:
        entry = NewEntry(new_id, checkin_list.id, CheckInDirection.IN, values["door"], scan.scanned_at)
    return CheckInResult(
        result="ok", message=_door_texts()["ok"], summary=summary, checkin=entry, attention=admission.attention
    )


def redeem_registration(
    event: Event, registration_id: object, checkin_list: CheckInList, **options: Any
) -> CheckInResult:
    """Check in someone found by name at the door (no badge at hand): their live badge, issued if they have none.

    The same rules as a scan apply (``redeem_badge``); a cancelled or online registration is refused the same way.
    """
    registration = _registration_of(event, registration_id)
    if registration.status is RegistrationStatus.CANCELLED:
        return CheckInResult(result="cancelled", message=_message("cancelled"), summary=attendee_summary(registration))
    if registration.mode is not Mode.IN_PERSON or registration.status is not RegistrationStatus.CONFIRMED:
        return CheckInResult(
            result="not_in_person", message=_message("not_in_person"), summary=attendee_summary(registration)
        )
    badge = _live_badge(registration) or badges.issue_badge(registration)
    return redeem_badge(event, badge.code, checkin_list, **options)


def _registration_of(event: Event, registration_id: object) -> Registration:
    try:
        number = int(str(registration_id))
    except ValueError:
        number = 0
    registration = db.session.get(Registration, number) if 0 < number < 2**31 else None
    if registration is None or registration.event_id != event.id:
        raise CheckInError(_("There is no such registration."), code="registration_not_found")
    return registration


def _live_badge(registration: Registration) -> Badge | None:
    return db.session.scalar(
        sa.select(Badge).where(Badge.registration_id == registration.id, Badge.revoked_at.is_(None))
    )


def record_exit(
    event: Event,
    code: str,
    checkin_list: CheckInList,
    *,
    door: str = "",
    nonce: str | None = None,
    scanned_at: datetime | None = None,
    actor: User | None = None,
    device: DoorDevice | None = None,
    now: datetime | None = None,
) -> CheckInResult:
    """Record that a badge left: closes its live entry on the list (``ok``) or ``not_checked_in``."""
    scan = _scan(event, checkin_list, nonce, scanned_at, now)
    if not checkin_list.allows_exit:
        raise CheckInError(_("This list does not take exit scans."), code="exits_not_allowed", field="direction")
    replay = _replay(event, scan.nonce)
    if replay is not None:
        return replay
    try:
        verified = _verify(event, code)
    except badges.InvalidCode:
        return CheckInResult(result="invalid", message=_message("invalid"))
    if verified.event_id != event.id:
        return CheckInResult(result="wrong_event", message=_message("wrong_event"))
    badge = db.session.get(Badge, verified.badge_id)
    if badge is None or badge.event_id != event.id or badge.code != verified.code:
        return CheckInResult(result="invalid", message=_message("invalid"))
    # A revoked or cancelled badge may still leave the room: exits are never refused for that.
    summary = attendee_summary(badge.registration)
    _lock_badge(badge.id)
    live = _live_entry(badge.id, checkin_list.id)
    if live is None:
        return CheckInResult(result="not_checked_in", message=_message("not_checked_in"), summary=summary)
    live.closed_at = scan.now
    exit_scan = CheckIn(
        badge_id=badge.id,
        list_id=checkin_list.id,
        direction=CheckInDirection.OUT,
        door=_door(door, device),
        device_id=device.id if device else None,
        user_id=actor.id if actor else None,
        nonce=scan.nonce,
        entry_id=live.id,
        scanned_at=scan.scanned_at,
        created_at=scan.now,
    )
    db.session.add(exit_scan)
    db.session.flush()
    return CheckInResult(result="ok", message=_message("ok", CheckInDirection.OUT), summary=summary, checkin=exit_scan)


def _door(door: str | None, device: DoorDevice | ScanDevice | None) -> str:
    text = " ".join((door or "").split())[:DOOR_MAX]
    if not text and device is not None:
        return device.name
    return text


def annul_checkin(
    event: Event, checkin_id: object, *, actor: User | None = None, device: DoorDevice | None = None
) -> CheckIn:
    """Undo a scan. An annulled entry no longer counts; an annulled exit re-opens the entry it closed.

    A door device may undo only its own scans; door staff and organizers any scan of the event. An undone entry
    that another door's offline scan duplicated hands the entry to that scan (``_promote_duplicate``).
    """
    return _annul(event, checkin_id, actor=actor, device=device)[0]


def _annul(
    event: Event, checkin_id: object, *, actor: User | None = None, device: DoorDevice | None = None
) -> tuple[CheckIn, CheckIn | None]:
    """``annul_checkin``, and the entry promoted in place of the undone one (if any)."""
    try:
        number = int(str(checkin_id))
    except ValueError:
        number = 0
    checkin = db.session.get(CheckIn, number) if 0 < number < 2**31 else None
    if checkin is None or checkin.checkin_list.event_id != event.id:
        raise CheckInError(_("There is no such check-in."), code="checkin_not_found")
    if device is not None and checkin.device_id != device.id:
        raise NotAllowed(_("This door can undo only its own scans."), code="not_this_door")
    _lock_badge(checkin.badge_id)
    db.session.refresh(checkin)
    if checkin.annulled_at is not None:
        return checkin, None  # undone already: undo is idempotent
    now = utcnow()
    if checkin.direction is CheckInDirection.OUT and checkin.entry_id is not None:
        entry = db.session.get(CheckIn, checkin.entry_id)
        if entry is not None and entry.annulled_at is None:
            if _live_entry(checkin.badge_id, checkin.list_id) is not None:
                raise CheckInError(_("This person came in again since; undo that entry first."), code="entry_since")
            entry.closed_at = None
    checkin.annulled_at = now
    db.session.flush()
    promoted = _promote_duplicate(checkin, now) if checkin.direction is CheckInDirection.IN else None
    return checkin, promoted


def history(badge: Badge, checkin_list: CheckInList | None = None) -> list[CheckIn]:
    """Every entry and exit of a badge (on one list, if given), oldest first, annulled ones included."""
    query = sa.select(CheckIn).where(CheckIn.badge_id == badge.id)
    if checkin_list is not None:
        query = query.where(CheckIn.list_id == checkin_list.id)
    return list(db.session.scalars(query.order_by(CheckIn.scanned_at, CheckIn.id)))


# --- door devices -------------------------------------------------------------------------------------


def pair_device(event: Event, name: str, *, checkin_list: CheckInList | None = None, actor: User) -> DoorDevice:
    """A new door device with its secret setup link token, optionally fixed on one list."""
    name = " ".join((name or "").split())
    if not name:
        raise CheckInError(_("Give the door a name, e.g. North door."), code="name_required", field="name")
    if checkin_list is not None and checkin_list.event_id != event.id:
        raise ListNotFound()
    device = DoorDevice(
        event_id=event.id,
        name=name[:DOOR_MAX],
        token=new_token(),
        list_id=checkin_list.id if checkin_list else None,
        created_by_id=actor.id,
    )
    db.session.add(device)
    db.session.flush()
    return device


def revoke_device(device: DoorDevice) -> DoorDevice:
    """The device's link stops working at once; its past scans stay."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        db.session.flush()
    return device


def rename_device(device: DoorDevice, name: str) -> DoorDevice:
    """A new door name: the device's next scans count under it; earlier scans keep the name they were made under."""
    name = " ".join((name or "").split())
    if not name:
        raise CheckInError(_("Give the door a name, e.g. North door."), code="name_required", field="name")
    device.name = name[:DOOR_MAX]
    db.session.flush()
    return device


#: Built once: every request of a door device looks its token up.
_DEVICE_BY_TOKEN = sa.select(DoorDevice).where(DoorDevice.token == sa.bindparam("token"))


def device_for_token(token: str) -> DoorDevice | None:
    """The active device holding this setup token, or None (unknown or revoked).

    As ``find_by_token`` (a shape check first, a constant-time comparison last), with its statement built once.
    """
    if not looks_like_token(token):
        return None
    device = db.session.scalar(_DEVICE_BY_TOKEN, {"token": token})
    return device if device is not None and device.admits(token) else None


def touch_device(device: DoorDevice | ScanDevice, now: datetime | None = None) -> None:
    """Note that the device is in use, at most once a minute (no write on every scan)."""
    now = now or utcnow()
    if device.last_seen_at is not None and now - device.last_seen_at <= timedelta(minutes=1):
        return
    if isinstance(device, ScanDevice):
        db.session.connection().execute(_TOUCH_DEVICE, {"device_id": device.id, "now": now})
    else:
        device.last_seen_at = now
        db.session.flush()


_TOUCH_DEVICE = (
    _device_t.update().where(_device_t.c.id == sa.bindparam("device_id")).values(last_seen_at=sa.bindparam("now"))
)


def lists_by_event(event_ids: list[int]) -> dict[int, list[CheckInList]]:
    """The check-in lists of several events (for "My events"), in ``lists_for`` order; one query."""
    found: dict[int, list[CheckInList]] = {event_id: [] for event_id in event_ids}
    if event_ids:
        for checkin_list in db.session.scalars(
            sa.select(CheckInList)
            .where(CheckInList.event_id.in_(event_ids))
            .order_by(CheckInList.is_default.desc(), CheckInList.day, CheckInList.name, CheckInList.id)
        ):
            found[checkin_list.event_id].append(checkin_list)
    return found


def devices_for(event: Event) -> list[DoorDevice]:
    return list(
        db.session.scalars(
            sa.select(DoorDevice)
            .where(DoorDevice.event_id == event.id)
            .order_by(DoorDevice.revoked_at.is_not(None), DoorDevice.name, DoorDevice.id)
        )
    )


# --- search and printing at the door ------------------------------------------------------------------


SEARCH_LIMIT = 20


def search_attendees(event: Event, query: str) -> list[dict[str, Any]]:
    """In-person registrations whose name contains ``query``: only what the door needs to see."""
    text = " ".join((query or "").split())[:100]
    if len(text) < 2:
        return []
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = db.session.scalars(
        sa.select(Registration)
        .join(Registration.person)
        .where(
            Registration.event_id == event.id,
            Registration.mode == Mode.IN_PERSON,
            sa.func.lower(Person.name).like(pattern, escape="\\"),
        )
        .options(joinedload(Registration.person).joinedload(Person.organization))
        .order_by(Person.name, Registration.id)
        .limit(SEARCH_LIMIT)
    ).all()
    live = {
        badge.registration_id: badge
        for badge in db.session.scalars(
            sa.select(Badge).where(Badge.registration_id.in_([r.id for r in rows]), Badge.revoked_at.is_(None))
        )
    }
    results = []
    for registration in rows:
        summary = attendee_summary(registration)
        summary["has_badge"] = registration.id in live
        results.append(summary)
    return results


def badge_for_printing(event: Event, registration_id: object, *, reissue: bool, actor: User | None) -> Badge:
    """The badge to print at the door: the live one, a first one for a late registrant, or a re-issue.

    Re-issuing (a lost badge) revokes the old code, which then answers ``revoked`` at every door.
    Nobody is checked in by printing.
    """
    registration = _registration_of(event, registration_id)
    if registration.mode is not Mode.IN_PERSON or registration.status is not RegistrationStatus.CONFIRMED:
        raise CheckInError(_("Only confirmed in-person registrations get a badge."), code="no_badge")
    live = _live_badge(registration)
    if live is None:
        return badges.issue_badge(registration)
    if reissue:
        return badges.reissue_badge(live, actor=actor)
    return live


def single_badge_pdf(event: Event, badge_id: object) -> bytes:
    """The A6 PDF of one live badge of the event, rendered by the badge module (for printing at the door)."""
    try:
        number = int(str(badge_id))
    except ValueError:
        number = 0
    badge = db.session.get(Badge, number) if 0 < number < 2**31 else None
    if badge is None or badge.event_id != event.id or badge.revoked_at is not None:
        raise CheckInError(_("There is no such badge."), code="badge_not_found")
    return badges.badge_pdf(badge)


# --- the door dashboard -------------------------------------------------------------------------------


def dashboard(event: Event, now: datetime | None = None) -> dict[str, Any]:
    """Checked in / expected in person, by list, category and door; the last scans; scans per minute."""
    now = now or utcnow()
    expected_rows = db.session.execute(
        sa.select(Registration.category, sa.func.count())
        .where(
            Registration.event_id == event.id,
            Registration.mode == Mode.IN_PERSON,
            Registration.status == RegistrationStatus.CONFIRMED,
        )
        .group_by(Registration.category)
    ).all()
    expected_by_category = {(c.value if c else None): n for c, n in expected_rows}
    expected_total = sum(expected_by_category.values())

    # Every entry not annulled, with what the figures need: one query.
    entries = db.session.execute(
        sa.select(
            CheckIn.list_id,
            CheckIn.badge_id,
            CheckIn.door,
            CheckIn.closed_at,
            Registration.id,
            Registration.category,
        )
        .join(CheckIn.checkin_list)
        .join(CheckIn.badge)
        .join(Badge.registration)
        .where(
            CheckInList.event_id == event.id,
            CheckIn.direction == CheckInDirection.IN,
            CheckIn.annulled_at.is_(None),
        )
    ).all()
    lists = lists_for(event)
    people_by_list: dict[int, set[int]] = {cl.id: set() for cl in lists}
    inside_by_list: Counter[int] = Counter()
    people_by_category: dict[str | None, set[int]] = {}
    people_by_door: dict[str, set[int]] = {}
    scans_by_door: Counter[str] = Counter()
    for list_id, _badge_id, door, closed_at, registration_id, category in entries:
        people_by_list.setdefault(list_id, set()).add(registration_id)
        if closed_at is None:
            inside_by_list[list_id] += 1
        people_by_category.setdefault(category.value if category else None, set()).add(registration_id)
        people_by_door.setdefault(door or "", set()).add(registration_id)
        scans_by_door[door or ""] += 1

    def expected_for(cl: CheckInList) -> int:
        if cl.categories is None:
            return expected_total
        return sum(n for c, n in expected_by_category.items() if c in cl.categories)

    categories = sorted(set(expected_by_category) | set(people_by_category), key=lambda c: (c is None, c or ""))
    labels = {c.value: str(c.label) for c in Category}

    since = now - timedelta(minutes=10)
    recent = db.session.execute(
        sa.select(CheckIn, Person.name, CheckInList.name)
        .join(CheckIn.checkin_list)
        .join(CheckIn.badge)
        .join(Badge.registration)
        .join(Registration.person)
        .where(CheckInList.event_id == event.id)
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
        .limit(15)
    ).all()
    minute_rows = db.session.scalars(
        sa.select(CheckIn.created_at)
        .join(CheckIn.checkin_list)
        .where(CheckInList.event_id == event.id, CheckIn.created_at >= since, CheckIn.annulled_at.is_(None))
    ).all()
    per_minute = [0] * 10
    for created in minute_rows:
        index = 9 - int((now - created).total_seconds() // 60)
        if 0 <= index < 10:
            per_minute[index] += 1

    return {
        "generated_at": now.isoformat(),
        "expected": expected_total,
        "checked_in": len({reg for people in people_by_list.values() for reg in people}),
        "lists": [
            {
                "id": cl.id,
                "name": cl.name,
                "day": cl.day.isoformat() if cl.day else None,
                "checked_in": len(people_by_list.get(cl.id, ())),
                "inside": inside_by_list.get(cl.id, 0) if cl.allows_exit else None,
                "expected": expected_for(cl),
            }
            for cl in lists
        ],
        "categories": [
            {
                "category": c,
                "label": labels.get(c or "", _("No category")),
                "checked_in": len(people_by_category.get(c, ())),
                "expected": expected_by_category.get(c, 0),
            }
            for c in categories
        ],
        "doors": [
            {"door": door or _("(no door)"), "people": len(people), "scans": scans_by_door[door]}
            for door, people in sorted(people_by_door.items())
        ],
        "last_scans": [
            {
                "id": checkin.id,
                "name": name,
                "list": list_name,
                "door": checkin.door,
                "direction": checkin.direction.value,
                "annulled": checkin.annulled_at is not None,
                "at": checkin.scanned_at.isoformat(),
            }
            for checkin, name, list_name in recent
        ],
        "per_minute": per_minute,
        "scans_last_minute": per_minute[-1],
        "offline_conflicts": offline_conflicts(event),
    }


# --- offline doors: the door pack and uploads of queued scans -------------------------------------------
#
# A scanner page that loses the network keeps working from a "door pack" (``door_pack``): the event's public
# key, the revoked badges, the attendee summaries door access may see, and the list's live entries. Its scans
# are queued on the device and uploaded later (``upload_offline_scans``). The rules for an upload:
#
# - Idempotent by nonce: a scan already applied (its nonce on a check-in or a conflict row) gets its stored
#   answer again and writes nothing.
# - Earliest time wins: when a badge already has a live entry on the list, the entry keeps the earliest scan
#   (time, door, device, nonce) and the later scan is recorded as a duplicate (``CheckInConflict``), so both
#   doors learn it on their next sync and the dashboard shows it.
# - A scan the server refuses (e.g. a badge revoked while the door was offline) is recorded as a conflict
#   too, and reported to the door.
# - Exits and undos queue like entries (``exit_offline_scan``, ``annul_offline_scan``) and apply in scan-time
#   order per badge. Undoing a scan that lost to another door's earlier scan leaves that door's entry alone
#   (``superseded``); undoing an entry another door also scanned hands the entry to that door's scan.

#: A ``since`` cursor is moved back by this much, so a transaction that committed late is not missed.
DOOR_PACK_OVERLAP = timedelta(minutes=2)
#: Most scans one upload may carry.
BATCH_MAX = 200


def _conflict_by_nonce(event: Event, nonce: str) -> CheckInConflict | None:
    conflict = db.session.scalar(
        sa.select(CheckInConflict)
        .where(CheckInConflict.nonce == nonce)
        .options(joinedload(CheckInConflict.checkin_list))
    )
    if conflict is not None and conflict.checkin_list.event_id != event.id:
        raise CheckInError(_("This request id (nonce) was already used."), code="nonce_reused", field="nonce")
    return conflict


def _offline_summary_pairs(event: Event, start: datetime | None) -> list[tuple[Badge, Registration]]:
    query = (
        sa.select(Badge, Registration)
        .join(Badge.registration)
        .where(
            Badge.event_id == event.id,
            Badge.revoked_at.is_(None),
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.mode == Mode.IN_PERSON,
        )
        .options(joinedload(Badge.registration).joinedload(Registration.person).joinedload(Person.organization))
        .order_by(Badge.id)
    )
    if start is not None:
        query = query.where(sa.or_(Badge.issued_at >= start, Registration.updated_at >= start))
    return [(badge, registration) for badge, registration in db.session.execute(query).unique()]


def offline_summary(registration: Registration) -> dict[str, Any]:
    """What a door pack carries about one attendee: what the door sees online, minus ids (never an email)."""
    summary = attendee_summary(registration)
    del summary["registration_id"]
    return summary


def conflict_json(conflict: CheckInConflict, name: str | None = None) -> dict[str, Any]:
    kept = conflict.checkin
    return {
        "nonce": conflict.nonce,
        "badge_id": conflict.badge_id,
        "result": conflict.result,
        "message": _message(conflict.result) if conflict.result in RESULTS else conflict.result,
        "name": name,
        "door": conflict.door,
        "scanned_at": conflict.scanned_at.isoformat(),
        "kept": {"door": kept.door, "scanned_at": kept.scanned_at.isoformat()} if kept is not None else None,
        "created_at": conflict.created_at.isoformat(),
    }


def door_pack(
    event: Event, checkin_list: CheckInList, *, since: datetime | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """What a door needs to scan offline on ``checkin_list``: everything, or what changed since ``since``.

    The answer's ``cursor`` is the ``since`` of the next sync. Nothing in it is more than door access sees
    online: attendee summaries (name, organization, category, status, needs) keyed by badge id, no emails.
    """
    import base64

    now = now or utcnow()
    if checkin_list.event_id != event.id:
        raise ListNotFound()
    start = since - DOOR_PACK_OVERLAP if since is not None else None
    public_key = base64.urlsafe_b64encode(badges.event_public_key(event)).decode("ascii").rstrip("=")

    attendees = {
        str(badge.id): offline_summary(registration) for badge, registration in _offline_summary_pairs(event, start)
    }
    revoked_query = sa.select(Badge.id).where(Badge.event_id == event.id, Badge.revoked_at.is_not(None))
    if start is not None:
        revoked_query = revoked_query.where(Badge.revoked_at >= start)
    revoked = list(db.session.scalars(revoked_query.order_by(Badge.id)))

    entries = sa.select(CheckIn).where(CheckIn.list_id == checkin_list.id, CheckIn.direction == CheckInDirection.IN)
    live_query = entries.where(CheckIn.closed_at.is_(None), CheckIn.annulled_at.is_(None))
    if start is not None:
        live_query = live_query.where(sa.or_(CheckIn.created_at >= start, CheckIn.scanned_at >= start))
        # Entries an earlier scan took over (earliest time wins) keep their created_at: changed conflicts say so.
        taken_over = sa.select(CheckInConflict.checkin_id).where(
            CheckInConflict.list_id == checkin_list.id, CheckInConflict.created_at >= start
        )
        live_query = live_query.union_all(
            sa.select(CheckIn).where(
                CheckIn.id.in_(taken_over), CheckIn.closed_at.is_(None), CheckIn.annulled_at.is_(None)
            )
        )
        live_rows = db.session.scalars(sa.select(CheckIn).from_statement(live_query)).all()
        released = sorted(
            set(
                db.session.scalars(
                    sa.select(CheckIn.badge_id).where(
                        CheckIn.list_id == checkin_list.id,
                        CheckIn.direction == CheckInDirection.IN,
                        sa.or_(CheckIn.annulled_at >= start, CheckIn.closed_at >= start),
                    )
                )
            )
        )
    else:
        live_rows = db.session.scalars(live_query).all()
        released = []
    checkins = {
        str(entry.badge_id): {
            "id": entry.id,
            "door": entry.door,
            "scanned_at": entry.scanned_at.isoformat(),
            "scanned_at_local": format_in_zone(entry.scanned_at, event.timezone, "short"),
            "nonce": entry.nonce,
        }
        for entry in live_rows
    }

    conflict_query = (
        sa.select(CheckInConflict, Person.name)
        .outerjoin(CheckInConflict.badge)
        .outerjoin(Badge.registration)
        .outerjoin(Registration.person)
        .where(CheckInConflict.list_id == checkin_list.id)
        .options(joinedload(CheckInConflict.checkin))
        .order_by(CheckInConflict.created_at, CheckInConflict.id)
    )
    if start is not None:
        conflict_query = conflict_query.where(CheckInConflict.created_at >= start)
    conflicts = [conflict_json(conflict, name) for conflict, name in db.session.execute(conflict_query)]

    return {
        "cursor": now.isoformat(),
        "full": since is None,
        "event": {"id": event.id, "slug": event.slug, "name": event.name, "timezone": event.timezone},
        "list": {
            "id": checkin_list.id,
            "name": checkin_list.name,
            "day": checkin_list.day.isoformat() if checkin_list.day else None,
            "categories": checkin_list.categories,
            "allows_exit": checkin_list.allows_exit,
        },
        "public_key": public_key,
        "attendees": attendees,
        "revoked": revoked,
        "checkins": checkins,
        "released": released,
        "conflicts": conflicts,
    }


#: What a door may queue offline: an entry, an exit (lists that take exits), an undo of an earlier scan.
OFFLINE_KINDS = ("checkin", "exit", "annul")
#: Answers to an uploaded undo (``kind="annul"``), besides the errors of a bad request.
ANNUL_RESULTS = (
    "annulled",  # the scan's entry (or exit) is undone
    "superseded",  # the scan was a duplicate: another door's earlier scan holds the entry, which stays
    "nothing_to_undo",  # the server has no entry for that scan (refused, invalid, never uploaded)
)


@dataclass
class OfflineScan:
    """One scan a door queued while offline, as uploaded.

    ``kind`` is ``checkin`` (``code``, or ``badge_id`` for someone found by name in the door pack), ``exit``
    (``code``) or ``annul`` (``annuls``: the nonce of the scan to undo).
    """

    code: str
    checkin_list: CheckInList
    nonce: str
    scanned_at: datetime | None
    door: str = ""
    kind: str = "checkin"
    badge_id: int | None = None
    annuls: str | None = None


@dataclass
class OfflineResult:
    """The server's answer to one uploaded scan."""

    nonce: str
    answer: CheckInResult
    #: The conflict recorded for this badge by this upload or an earlier one (duplicate or refusal).
    conflict: CheckInConflict | None = None
    #: An undo of an entry another door had also scanned: that door's scan, now the live entry.
    promoted: CheckIn | None = None


def _conflict_answer(event: Event, conflict: CheckInConflict) -> CheckInResult:
    registration = conflict.badge.registration if conflict.badge is not None else None
    summary = attendee_summary(registration) if registration is not None else None
    return CheckInResult(
        result=conflict.result,
        message=_message(conflict.result),
        summary=summary,
        first_checkin=conflict.checkin,
        replayed=True,
    )


def redeem_offline_scan(
    event: Event,
    scan: OfflineScan,
    *,
    actor: User | None = None,
    device: DoorDevice | None = None,
    now: datetime | None = None,
) -> OfflineResult:
    """Apply one scan a door made offline: the same rules as ``redeem_badge``, plus earliest-time-wins.

    - A nonce already applied gets its stored answer (an ``ok``, or the conflict recorded for it).
    - No live entry: the scan checks the badge in, at its offline scan time.
    - A live entry from a later scan: this scan takes it over (time, door, device, nonce) and the later scan
      becomes the duplicate; a live entry from an earlier scan: this scan is the duplicate.
    - A refusal of a real badge (revoked while the door was offline ...) is recorded as a conflict.
    """
    now = now or utcnow()
    checkin_list = scan.checkin_list
    if checkin_list.event_id != event.id:
        raise ListNotFound()
    nonce = _check_nonce(scan.nonce)
    existing = _conflict_by_nonce(event, nonce)
    if existing is not None:
        return OfflineResult(nonce, _conflict_answer(event, existing), existing)
    # Applied before (its entry may be closed or undone since): the stored answer, nothing written.
    replay = _replay(event, nonce)
    if replay is not None:
        return OfflineResult(nonce, replay)
    scanned_at = _clamp(scan.scanned_at, now)
    door = _door(scan.door, device)
    code = scan.code or _code_of_badge(event, scan.badge_id)
    answer = redeem_badge(
        event,
        code,
        checkin_list,
        door=door,
        nonce=nonce,
        scanned_at=scanned_at,
        actor=actor,
        device=device,
        now=now,
    )
    if answer.result == "ok":
        return OfflineResult(nonce, answer)

    if answer.result == "already_checked_in" and answer.first_checkin is not None:
        live = answer.first_checkin
        if scanned_at < live.scanned_at:
            # This scan came first: the entry becomes this scan, and the later one is the duplicate.
            conflict = CheckInConflict(
                list_id=checkin_list.id,
                badge_id=live.badge_id,
                checkin_id=live.id,
                result="already_checked_in",
                door=live.door,
                device_id=live.device_id,
                user_id=live.user_id,
                nonce=live.nonce,
                scanned_at=live.scanned_at,
                created_at=now,
            )
            live.scanned_at = scanned_at
            live.door = door
            live.device_id = device.id if device else None
            live.user_id = actor.id if actor else None
            live.nonce = nonce
            db.session.flush()  # the entry lets go of the later nonce before the conflict row takes it
            db.session.add(conflict)
            db.session.flush()
            registration = live.badge.registration
            taken = CheckInResult(
                result="ok",
                message=_message("ok"),
                summary=answer.summary,
                checkin=live,
                attention=attention_reasons(registration),
            )
            return OfflineResult(nonce, taken, conflict)
        conflict = CheckInConflict(
            list_id=checkin_list.id,
            badge_id=live.badge_id,
            checkin_id=live.id,
            result="already_checked_in",
            door=door,
            device_id=device.id if device else None,
            user_id=actor.id if actor else None,
            nonce=nonce,
            scanned_at=scanned_at,
            created_at=now,
        )
        db.session.add(conflict)
        db.session.flush()
        return OfflineResult(nonce, answer, conflict)

    if answer.summary is None:
        return OfflineResult(nonce, answer)  # not a badge of ours: nothing to record against a badge
    # A real badge refused (revoked, cancelled, online, not admitted ...): the door let them in offline.
    claims, _payload, _signature = badges.parse_code(code)
    conflict = CheckInConflict(
        list_id=checkin_list.id,
        badge_id=claims.badge_id,
        result=answer.result,
        door=door,
        device_id=device.id if device else None,
        user_id=actor.id if actor else None,
        nonce=nonce,
        scanned_at=scanned_at,
        created_at=now,
    )
    db.session.add(conflict)
    db.session.flush()
    return OfflineResult(nonce, answer, conflict)


def _code_of_badge(event: Event, badge_id: int | None) -> str:
    """The code of a badge found by name in the door pack (a check-in without the QR at hand)."""
    badge = db.session.get(Badge, badge_id) if badge_id is not None and 0 < badge_id < 2**31 else None
    if badge is None or badge.event_id != event.id:
        raise CheckInError(_("There is no such badge."), code="badge_not_found", field="badge")
    return badge.code


def _annul_message(result: str, door: str = "") -> str:
    messages = {
        "annulled": _("Undone."),
        "superseded": _("Nothing undone: an earlier scan at %(door)s holds this check-in, and it stays.", door=door),
        "nothing_to_undo": _("Nothing to undo: the server has no check-in for that scan."),
    }
    return messages[result]


def _promote_duplicate(entry: CheckIn, now: datetime) -> CheckIn | None:
    """After undoing ``entry``: the earliest other scan recorded as its duplicate becomes the live entry.

    The badge was read at two doors; undoing one door's scan (a mistake at that door) leaves the other
    door's scan standing. The duplicate's conflict row becomes that entry (same nonce, door and time).
    """
    duplicate = db.session.scalar(
        sa.select(CheckInConflict)
        .where(CheckInConflict.checkin_id == entry.id, CheckInConflict.result == "already_checked_in")
        .order_by(CheckInConflict.scanned_at, CheckInConflict.id)
        .limit(1)
    )
    if duplicate is None or _live_entry(entry.badge_id, entry.list_id) is not None:
        return None
    # The other duplicates of the undone entry now point at the promoted one.
    others = list(
        db.session.scalars(
            sa.select(CheckInConflict).where(CheckInConflict.checkin_id == entry.id, CheckInConflict.id != duplicate.id)
        )
    )
    promoted = CheckIn(
        badge_id=entry.badge_id,
        list_id=entry.list_id,
        direction=CheckInDirection.IN,
        door=duplicate.door,
        device_id=duplicate.device_id,
        user_id=duplicate.user_id,
        nonce=duplicate.nonce,
        scanned_at=duplicate.scanned_at,
        created_at=now,
    )
    db.session.delete(duplicate)
    db.session.flush()  # the conflict lets go of the nonce before the entry takes it
    db.session.add(promoted)
    db.session.flush()
    for other in others:
        other.checkin_id = promoted.id
    db.session.flush()
    return promoted


def annul_offline_scan(
    event: Event,
    scan: OfflineScan,
    *,
    actor: User | None = None,
    device: DoorDevice | None = None,
    now: datetime | None = None,
) -> OfflineResult:
    """Apply an undo a door queued offline: undo the scan whose nonce is ``scan.annuls``.

    - That scan holds an entry (or is an exit): it is annulled (``annulled``), as ``annul_checkin`` does; a
      device may undo only its own scans. If another door's scan of the same badge was recorded as the
      duplicate of that entry, it becomes the live entry (``promoted``): that door did let the person in.
    - That scan was the duplicate of another door's earlier scan (earliest time wins): the other door's entry
      stays and the door is told so (``superseded``, with that entry as ``first_checkin``).
    - The server has no entry for it (refused, invalid, lost): ``nothing_to_undo``.

    Undoing twice writes nothing the second time (``replayed``).
    """
    now = now or utcnow()
    nonce = _check_nonce(scan.nonce)
    target = _check_nonce(scan.annuls) if scan.annuls else None
    if target is None:
        raise CheckInError(_("annuls is missing."), code="missing_field", field="annuls")
    entry = db.session.scalar(
        sa.select(CheckIn).where(CheckIn.nonce == target).options(joinedload(CheckIn.checkin_list))
    )
    if entry is not None and entry.checkin_list.event_id == event.id:
        replayed = entry.annulled_at is not None
        _entry, promoted = _annul(event, entry.id, actor=actor, device=device)
        summary = attendee_summary(entry.badge.registration)
        answer = CheckInResult(
            result="annulled", message=_annul_message("annulled"), summary=summary, checkin=entry, replayed=replayed
        )
        return OfflineResult(nonce, answer, promoted=promoted)
    conflict = _conflict_by_nonce(event, target)
    if conflict is not None and conflict.result == "already_checked_in" and conflict.checkin is not None:
        kept = conflict.checkin
        summary = attendee_summary(conflict.badge.registration) if conflict.badge is not None else None
        answer = CheckInResult(
            result="superseded",
            message=_annul_message("superseded", kept.door),
            summary=summary,
            first_checkin=kept,
        )
        return OfflineResult(nonce, answer, conflict)
    return OfflineResult(nonce, CheckInResult(result="nothing_to_undo", message=_annul_message("nothing_to_undo")))


def exit_offline_scan(
    event: Event,
    scan: OfflineScan,
    *,
    actor: User | None = None,
    device: DoorDevice | None = None,
    now: datetime | None = None,
) -> OfflineResult:
    """Apply an exit a door queued offline: ``record_exit`` at the scan's time (idempotent by nonce)."""
    now = now or utcnow()
    nonce = _check_nonce(scan.nonce)
    answer = record_exit(
        event,
        scan.code,
        scan.checkin_list,
        door=_door(scan.door, device),
        nonce=nonce,
        scanned_at=_clamp(scan.scanned_at, now),
        actor=actor,
        device=device,
        now=now,
    )
    return OfflineResult(nonce, answer)


_KIND_RANK = {"checkin": 0, "exit": 1, "annul": 2}


def _badge_of_code(code: str) -> int:
    try:
        return badges.parse_code(code)[0].badge_id
    except badges.InvalidCode:
        return 0


def _badge_order(scans: list[OfflineScan]) -> dict[str, tuple[int, float, int]]:
    """Each scan's place in the upload: by badge, then scan time (an undo goes with the badge it undoes)."""
    badge_of: dict[str, int] = {}
    for scan in scans:
        if scan.kind != "annul":
            badge_of[scan.nonce] = scan.badge_id if scan.badge_id and not scan.code else _badge_of_code(scan.code)
    targets = [scan.annuls for scan in scans if scan.kind == "annul" and scan.annuls and scan.annuls not in badge_of]
    if targets:
        for model in (CheckIn, CheckInConflict):
            for target, badge_id in db.session.execute(
                sa.select(model.nonce, model.badge_id).where(model.nonce.in_(targets))
            ):
                badge_of.setdefault(target, badge_id or 0)
    order = {}
    for scan in scans:
        badge_id = badge_of.get(scan.annuls or "", 0) if scan.kind == "annul" else badge_of[scan.nonce]
        when = scan.scanned_at.timestamp() if scan.scanned_at else 0.0
        order[scan.nonce] = (badge_id, when, _KIND_RANK.get(scan.kind, 0))
    return order


def upload_offline_scans(
    event: Event,
    scans: list[OfflineScan],
    *,
    actor: User | None = None,
    device: DoorDevice | None = None,
    now: datetime | None = None,
) -> dict[str, OfflineResult | DomainError]:
    """Apply a door's queued scans; the answer for each nonce (a scan with a bad request gets its error).

    A scan is an entry, an exit or an undo (``OfflineScan.kind``). Scans are applied by badge id, then scan
    time (an undo goes with the badge of the scan it undoes, after it), so two uploads lock badges in the same
    order (no deadlock between two doors uploading at once), a badge's earliest scan in one upload wins at
    once, and "in, undo, in again" ends with one entry. Each scan runs in a savepoint: one bad scan does not
    undo the others. Flushes, never commits.
    """
    if len(scans) > BATCH_MAX:
        raise CheckInError(batch_too_large_message(), code="batch_too_large", field="scans")
    now = now or utcnow()
    results: dict[str, OfflineResult | DomainError] = {}
    order = _badge_order(scans)
    apply = {"checkin": redeem_offline_scan, "exit": exit_offline_scan, "annul": annul_offline_scan}
    for scan in sorted(scans, key=lambda scan: order[scan.nonce]):
        try:
            with db.session.begin_nested():
                if scan.kind not in apply:
                    raise CheckInError(_("kind is checkin, exit or annul."), code="bad_field", field="kind")
                results[scan.nonce] = apply[scan.kind](event, scan, actor=actor, device=device, now=now)
        except DomainError as error:
            results[scan.nonce] = error
    return results


def batch_too_large_message() -> str:
    return ngettext("Send at most %(num)d scan at once.", "Send at most %(num)d scans at once.", BATCH_MAX)


def offline_conflicts(event: Event, limit: int = 20) -> list[dict[str, Any]]:
    """The latest conflicts of uploaded offline scans (duplicates, refusals), newest first, for the dashboard."""
    rows = db.session.execute(
        sa.select(CheckInConflict, Person.name, CheckInList.name)
        .join(CheckInConflict.checkin_list)
        .outerjoin(CheckInConflict.badge)
        .outerjoin(Badge.registration)
        .outerjoin(Registration.person)
        .where(CheckInList.event_id == event.id)
        .options(joinedload(CheckInConflict.checkin))
        .order_by(CheckInConflict.created_at.desc(), CheckInConflict.id.desc())
        .limit(limit)
    ).all()
    found = []
    for conflict, name, list_name in rows:
        item = conflict_json(conflict, name)
        item["list"] = list_name
        found.append(item)
    return found
