"""Badges and per-event signing keys (badges), check-in lists, door devices and check-ins (check-in)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsys.common.db import enum_column, utcnow
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


class BadgeBatchStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return str(BADGE_BATCH_STATUS_LABELS[self])


BADGE_BATCH_STATUS_LABELS = {
    BadgeBatchStatus.QUEUED: _l("Queued"),
    BadgeBatchStatus.RUNNING: _l("Rendering"),
    BadgeBatchStatus.DONE: _l("Ready"),
    BadgeBatchStatus.FAILED: _l("Failed"),
}


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
