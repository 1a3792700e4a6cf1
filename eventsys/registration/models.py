"""Registration and CategoryQuota."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsys.common.db import enum_column, utcnow
from eventsys.common.enums import LabelledEnum
from eventsys.events.models import Category, Event, Person
from eventsys.extensions import db
from eventsys.invitations.models import Invitation


class Mode(LabelledEnum):
    IN_PERSON = "in_person", _l("In person")
    ONLINE = "online", _l("Online")


MODE_LABELS = Mode.labels()


class RegistrationStatus(LabelledEnum):
    #: Waiting for an organizer's approval.
    PENDING = "pending", _l("Awaiting approval")
    #: In-person seats were full; waiting for one to free up.
    WAITLISTED = "waitlisted", _l("On the waiting list")
    #: Promoted from the waiting list; must confirm before ``offer_expires_at``.
    OFFERED = "offered", _l("Seat offered")
    CONFIRMED = "confirmed", _l("Confirmed")
    CANCELLED = "cancelled", _l("Cancelled")
    REJECTED = "rejected", _l("Rejected")


REGISTRATION_STATUS_LABELS = RegistrationStatus.labels()

#: Statuses that hold an in-person seat (an offer holds its seat until it expires).
SEAT_HOLDING = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED)


class Registration(db.Model):
    """A person's registration for an event, in person or online. One per person and event."""

    __tablename__ = "registration"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "person_id", name="uq_registration_event_person"),
        # Covers the seat counts (services._COUNTS) as well as lookups by event and status.
        sa.Index(
            "ix_registration_event_status_mode_category", "event_id", "status", "mode", "category", "online_meanwhile"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invitation.id", ondelete="SET NULL"))
    mode: Mapped[Mode] = mapped_column(enum_column(Mode, "registration_mode"))
    status: Mapped[RegistrationStatus] = mapped_column(enum_column(RegistrationStatus, "registration_status"))
    #: The category seats are counted against (from the invitation), if any.
    category: Mapped[Category | None] = mapped_column(enum_column(Category, "registration_category"))
    #: In person only.
    dietary_needs: Mapped[str | None] = mapped_column(sa.Text)
    accessibility_needs: Mapped[str | None] = mapped_column(sa.Text)
    #: When the registrant agreed to the privacy notice.
    consent_at: Mapped[datetime]
    #: Language of the emails to this registrant: en, ko or es.
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    #: Secret of the "manage my registration" link.
    manage_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: Secret of the personal join link for online attendees.
    join_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    first_joined_at: Mapped[datetime | None]
    last_joined_at: Mapped[datetime | None]
    #: Order on the in-person waiting list, earliest first. Set while waiting: status WAITLISTED, or
    #: status CONFIRMED online with ``online_meanwhile`` (an online place taken while waiting for a seat).
    waitlisted_at: Mapped[datetime | None]
    #: Attends online while on the in-person waiting list; an expired seat offer returns them to online.
    online_meanwhile: Mapped[bool] = mapped_column(default=False)
    offer_expires_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    #: iCalendar SEQUENCE of the calendar entry we sent; goes up on every change.
    ics_sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    person: Mapped[Person] = relationship()
    invitation: Mapped[Invitation | None] = relationship()


class CategoryQuota(db.Model):
    """In-person seats kept for one category, e.g. 20 for embassies. They count within the event's capacity."""

    __tablename__ = "category_quota"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "category", name="uq_category_quota_event_category"),
        sa.CheckConstraint("seats >= 0", name="seats_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"))
    category: Mapped[Category] = mapped_column(enum_column(Category, "quota_category"))
    seats: Mapped[int]
