"""Organization, Person and Event."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsys.common.db import enum_column, utcnow
from eventsys.common.enums import LabelledEnum
from eventsys.extensions import db


class OrganizationKind(LabelledEnum):
    CITY = "city", _l("City or local government")
    CORPORATION = "corporation", _l("Corporation")
    EMBASSY = "embassy", _l("Embassy")
    UNIVERSITY = "university", _l("University")
    INTERNATIONAL = "international_organization", _l("International organization")
    NGO = "ngo", _l("NGO")
    OTHER = "other", _l("Other")


class EventKind(LabelledEnum):
    KICKOFF = "kickoff", _l("Kick-off")
    GENERAL_ASSEMBLY = "general_assembly", _l("General Assembly")
    OTHER = "other", _l("Other")


EVENT_KIND_LABELS = EventKind.labels()


class EventFormat(LabelledEnum):
    IN_PERSON = "in_person", _l("In person")
    ONLINE = "online", _l("Online")
    HYBRID = "hybrid", _l("Hybrid (in person and online)")

    @property
    def has_venue(self) -> bool:
        return self is not EventFormat.ONLINE

    @property
    def has_online(self) -> bool:
        return self is not EventFormat.IN_PERSON


EVENT_FORMAT_LABELS = EventFormat.labels()


class Category(LabelledEnum):
    """The participant categories an association invites and seats by."""

    MEMBER_CITY = "member_city", _l("Member city")
    PARTNER = "partner", _l("Partner")
    EMBASSY = "embassy", _l("Embassy")
    SPEAKER = "speaker", _l("Speaker")
    YOUTH = "youth", _l("Youth")
    PRESS = "press", _l("Press")
    STAFF = "staff", _l("Staff")


CATEGORY_LABELS = Category.labels()


class EventStatus(LabelledEnum):
    DRAFT = "draft", _l("Draft")
    PUBLISHED = "published", _l("Published")
    CLOSED = "closed", _l("Closed")


class Organization(db.Model):
    """A city, company, embassy, university or other body whose people take part."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Display name, unique so imports can find an organization by name.
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[OrganizationKind] = mapped_column(enum_column(OrganizationKind, "organization_kind"))
    #: ISO 3166-1 alpha-2 code of the country the organization belongs to or represents.
    country: Mapped[str | None] = mapped_column(sa.String(2))

    people: Mapped[list[Person]] = relationship(back_populates="organization")

    def __repr__(self) -> str:
        return f"<Organization {self.name!r}>"


class Person(db.Model):
    """Someone who is invited, registers, speaks, signs or receives a certificate: one row per email."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Title or position, e.g. "Mayor of Seoul and President of WeGO".
    title: Mapped[str | None] = mapped_column(sa.String(300))
    #: Lower-cased; the key imports and registrations merge on. Unique where present.
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id", ondelete="SET NULL"))
    #: Stored file name of a validated photo (uploads arrive with the agenda issue).
    photo: Mapped[str | None] = mapped_column(sa.String(100))
    bio: Mapped[str | None] = mapped_column(sa.Text)

    organization: Mapped[Organization | None] = relationship(back_populates="people")

    def __repr__(self) -> str:
        return f"<Person {self.name!r}>"


class Event(db.Model):
    """A kick-off, General Assembly or other gathering, in person, online or both."""

    __tablename__ = "event"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint("online_capacity IS NULL OR online_capacity >= 0", name="online_capacity_not_negative"),
        sa.CheckConstraint("offer_hours > 0", name="offer_hours_positive"),
        sa.CheckConstraint(
            "registration_opens_at IS NULL OR registration_closes_at IS NULL "
            "OR registration_closes_at > registration_opens_at",
            name="registration_window",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: URL name, e.g. "wego-2022-kickoff".
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind, "event_kind"), default=EventKind.OTHER)
    format: Mapped[EventFormat] = mapped_column(enum_column(EventFormat, "event_format"))
    description: Mapped[str | None] = mapped_column(sa.Text)
    #: IANA zone name; all times are stored in UTC and shown in this zone.
    timezone: Mapped[str] = mapped_column(sa.String(64))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    venue_name: Mapped[str | None] = mapped_column(sa.String(200))
    venue_address: Mapped[str | None] = mapped_column(sa.Text)
    #: The video platform URL. Never shown publicly: only registered online attendees reach it.
    online_url: Mapped[str | None] = mapped_column(sa.String(500))
    #: In-person seats; None means no limit.
    capacity: Mapped[int | None]
    registration_opens_at: Mapped[datetime | None]
    registration_closes_at: Mapped[datetime | None]
    invitation_only: Mapped[bool] = mapped_column(default=False)
    #: Registrations wait for an organizer's approval (invitations may skip it).
    moderation: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: Online places; None means no limit.
    online_capacity: Mapped[int | None]
    #: Hours a person promoted from the waiting list has to confirm their seat.
    offer_hours: Mapped[int] = mapped_column(default=48, server_default="48")
    status: Mapped[EventStatus] = mapped_column(
        enum_column(EventStatus, "event_status"), default=EventStatus.DRAFT, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_public(self) -> bool:
        return self.status in (EventStatus.PUBLISHED, EventStatus.CLOSED)

    def registration_is_open(self, now: datetime | None = None) -> bool:
        """Whether registrations are accepted at ``now``: published and inside the window."""
        now = now or utcnow()
        if self.status is not EventStatus.PUBLISHED:
            return False
        if self.registration_opens_at and now < self.registration_opens_at:
            return False
        closes = self.registration_closes_at or self.ends_at
        return now < closes

    def __repr__(self) -> str:
        return f"<Event {self.slug!r}>"
