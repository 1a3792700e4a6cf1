"""Badges and per-event signing keys (badges), check-in lists, door devices and check-ins (check-in)."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsys.common.db import enum_column, utcnow
from eventsys.common.enums import LabelledEnum
from eventsys.common.tokens import token_matches
from eventsys.events.models import Category, Event
from eventsys.extensions import db
from eventsys.registration.models import Registration


class EventKey(db.Model):
    """The Ed25519 key pair an event signs its badge codes with (one per event, made on first use)."""

    __tablename__ = "event_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), unique=True)
    #: Raw 32-byte Ed25519 private key.
    private_key: Mapped[bytes] = mapped_column(sa.LargeBinary(64))
    #: Raw 32-byte Ed25519 public key (what an offline scanner needs).
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[Event] = relationship()


class Badge(db.Model):
    """A badge issued to a confirmed in-person registration; its ``code`` is what the QR carries.

    A registration has at most one live badge (``revoked_at`` empty). Revoked badges are kept, so their
    codes answer "revoked" at the door.
    """

    __tablename__ = "badge"
    __table_args__ = (
        sa.Index(
            "uq_badge_live_registration",
            "registration_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registration.id", ondelete="CASCADE"), index=True)
    #: The signed code (base32, upper case, no padding); see eventsys.checkin.badges.
    code: Mapped[str] = mapped_column(sa.String(160), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    #: Why it was revoked: "cancelled", "online", "reissued" ...
    revoke_reason: Mapped[str | None] = mapped_column(sa.String(200))
    #: When an organizer's bulk print last included it.
    printed_at: Mapped[datetime | None]

    event: Mapped[Event] = relationship()
    registration: Mapped[Registration] = relationship()

    @property
    def live(self) -> bool:
        return self.revoked_at is None


class BadgeBatchStatus(LabelledEnum):
    QUEUED = "queued", _l("Queued")
    RUNNING = "running", _l("Rendering")
    DONE = "done", _l("Ready")
    FAILED = "failed", _l("Failed")


class BadgeBatch(db.Model):
    """An organizer's bulk badge PDF, rendered on the task queue; the file lives under the instance folder."""

    __tablename__ = "badge_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    #: "a6", "a4x4" or "labels".
    layout: Mapped[str] = mapped_column(sa.String(16))
    #: Only badges of this category, if set.
    category: Mapped[Category | None] = mapped_column(enum_column(Category, "badge_batch_category"))
    only_unprinted: Mapped[bool] = mapped_column(default=False)
    #: Language of the printed labels (category, date): the organizer's at the time of the request.
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    status: Mapped[BadgeBatchStatus] = mapped_column(
        enum_column(BadgeBatchStatus, "badge_batch_status"), default=BadgeBatchStatus.QUEUED
    )
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    #: File name under <instance>/badges/ once done.
    file_name: Mapped[str | None] = mapped_column(sa.String(100))
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


# --- Check-in (door staff and door devices) -------------------------------------------------------------


class CheckInDirection(enum.StrEnum):
    #: Someone came in through the door.
    IN = "in"
    #: Someone left (only on lists that take exit scans).
    OUT = "out"


class CheckInList(db.Model):
    """What a door admits to: one per event day by default, or a session or category list an organizer adds.

    A badge has at most one live entry per list (see ``CheckIn``); scanning it on day 2's list is a fresh entry.
    """

    __tablename__ = "checkin_list"
    __table_args__ = (
        # One default list per event day, even when two requests create the defaults at once.
        sa.Index(
            "uq_checkin_list_default_day",
            "event_id",
            "day",
            unique=True,
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    #: The event day (in the event's zone) the list admits on; None = any day.
    day: Mapped[date | None] = mapped_column(sa.Date)
    #: The agenda session this list is for (no foreign key yet: the agenda tables arrive separately).
    session_id: Mapped[int | None]
    #: Category values (``Category``) the list admits; None = everyone.
    categories: Mapped[list[str] | None] = mapped_column(sa.JSON)
    #: The list also takes exit scans, so the dashboard shows who is inside now.
    allows_exit: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: Made automatically, one per event day.
    is_default: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[Event] = relationship()

    def admits(self, category: str | None) -> bool:
        """Whether a badge of ``category`` may enter on this list."""
        return list_admits(self.categories, category)


def list_admits(categories: list[str] | None, category: str | None) -> bool:
    """The one rule of a check-in list's categories: None admits everyone, else only the categories named."""
    return categories is None or (category is not None and category in categories)


class DoorDevice(db.Model):
    """A phone or tablet at a door, paired through a secret setup link: check-in-only access to one event."""

    __tablename__ = "door_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    #: Also the door name its scans are counted under, e.g. "North door".
    name: Mapped[str] = mapped_column(sa.String(100))
    #: Secret of the setup link, sent as ``Authorization: Bearer <token>`` by the scanner page.
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The list this door checks people in on; None = the default list of the day.
    list_id: Mapped[int | None] = mapped_column(sa.ForeignKey("checkin_list.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    #: Updated at most once a minute.
    last_seen_at: Mapped[datetime | None]

    event: Mapped[Event] = relationship()
    checkin_list: Mapped[CheckInList | None] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def admits(self, token: str) -> bool:
        """The one rule for a door's setup link or bearer token (``device_admits``)."""
        return device_admits(self.token, self.revoked_at, token)


def device_admits(stored_token: str, revoked_at: datetime | None, token: str) -> bool:
    """The one rule for a door's setup link or bearer token: it is the device's own (compared in constant
    time), and the device is not revoked."""
    return token_matches(stored_token, token) and revoked_at is None


class CheckIn(db.Model):
    """One scan at a door: an entry (``in``) or an exit (``out``). The history keeps every one.

    An entry is live until an exit closes it (``closed_at``) or it is annulled (undo). The database allows
    at most one live entry per badge and list: the partial unique index below is the backstop behind the
    badge row lock in ``eventsys.checkin.services.redeem_badge``.
    """

    __tablename__ = "checkin"
    __table_args__ = (
        sa.Index(
            "uq_checkin_live_entry",
            "badge_id",
            "list_id",
            unique=True,
            sqlite_where=sa.text("direction = 'in' AND closed_at IS NULL AND annulled_at IS NULL"),
            postgresql_where=sa.text("direction = 'in' AND closed_at IS NULL AND annulled_at IS NULL"),
        ),
        sa.Index("ix_checkin_list_created", "list_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    badge_id: Mapped[int] = mapped_column(sa.ForeignKey("badge.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(sa.ForeignKey("checkin_list.id", ondelete="CASCADE"))
    direction: Mapped[CheckInDirection] = mapped_column(enum_column(CheckInDirection, "checkin_direction"))
    #: The door's name as the scanner reported it (a device's name by default).
    door: Mapped[str] = mapped_column(sa.String(100), default="")
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("door_device.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    #: The scanner's idempotency key: a retried request finds this row instead of making a second one.
    nonce: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: For an exit: the entry it closed.
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("checkin.id", ondelete="SET NULL"))
    #: When the scanner read the badge (its clock; never later than the server's).
    scanned_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: An entry: when an exit closed it.
    closed_at: Mapped[datetime | None]
    #: Undone by door staff or an organizer; kept for the history, never counted.
    annulled_at: Mapped[datetime | None]

    badge: Mapped[Badge] = relationship()
    checkin_list: Mapped[CheckInList] = relationship()
    device: Mapped[DoorDevice | None] = relationship()


class CheckInConflict(db.Model):
    """An offline scan the server could not apply as its own entry, kept so both doors and the dashboard see it.

    A door that was offline uploads its queued scans later (``eventsys.checkin.services.upload_offline_scans``).
    ``result`` says what happened to the scan:

    - ``already_checked_in``: the badge was also scanned at another door (or twice at the same one) while a
      door was offline. The server keeps one entry, with the earliest scan time (``checkin_id``); this row is
      the other scan, the duplicate.
    - a refusal (``revoked``, ``not_in_person`` ...): the door let someone in offline whom the server refuses,
      e.g. a badge revoked while the door was offline.

    The scan's ``nonce`` is unique here too, so a retried upload finds this row and writes nothing new.
    """

    __tablename__ = "checkin_conflict"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(sa.ForeignKey("checkin_list.id", ondelete="CASCADE"))
    badge_id: Mapped[int | None] = mapped_column(sa.ForeignKey("badge.id", ondelete="CASCADE"))
    #: For a duplicate: the entry the server kept (the earliest scan).
    checkin_id: Mapped[int | None] = mapped_column(sa.ForeignKey("checkin.id", ondelete="SET NULL"))
    #: ``already_checked_in`` or one of the refusals of ``eventsys.checkin.services.RESULTS``.
    result: Mapped[str] = mapped_column(sa.String(32))
    door: Mapped[str] = mapped_column(sa.String(100), default="")
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("door_device.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    nonce: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: When the offline door read the badge (its clock).
    scanned_at: Mapped[datetime]
    #: When the upload reached the server.
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    badge: Mapped[Badge | None] = relationship()
    checkin_list: Mapped[CheckInList] = relationship()
    checkin: Mapped[CheckIn | None] = relationship()
