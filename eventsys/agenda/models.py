"""Room, Session, SessionSpeaker, AgendaVersion, Star and AgendaFeed.

Organizers edit the draft agenda (the ``Session`` rows). Publishing freezes it into an ``AgendaVersion``
whose ``snapshot`` (JSON) is what the public pages, the feeds and the personal agenda show, so the public
never sees half-finished edits and every published version can be compared with any other.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsys.common.db import enum_column, utcnow
from eventsys.events.models import Event, Person
from eventsys.extensions import db
from eventsys.registration.models import Registration


class SessionKind(enum.StrEnum):
    KEYNOTE = "keynote"
    TALK = "talk"
    PANEL = "panel"
    CEREMONY = "ceremony"
    WORKSHOP = "workshop"
    PRESENTATION = "presentation"
    BREAK = "break"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(SESSION_KIND_LABELS[self])


SESSION_KIND_LABELS = {
    SessionKind.KEYNOTE: _l("Keynote"),
    SessionKind.TALK: _l("Talk"),
    SessionKind.PANEL: _l("Panel"),
    SessionKind.CEREMONY: _l("Ceremony"),
    SessionKind.WORKSHOP: _l("Workshop"),
    SessionKind.PRESENTATION: _l("Presentation"),
    SessionKind.BREAK: _l("Break"),
    SessionKind.OTHER: _l("Other"),
}


class SessionFormat(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"

    @property
    def label(self) -> str:
        return str(SESSION_FORMAT_LABELS[self])

    @property
    def has_online(self) -> bool:
        return self is not SessionFormat.IN_PERSON

    @property
    def has_venue(self) -> bool:
        return self is not SessionFormat.ONLINE


SESSION_FORMAT_LABELS = {
    SessionFormat.IN_PERSON: _l("In person"),
    SessionFormat.ONLINE: _l("Online"),
    SessionFormat.HYBRID: _l("Hybrid"),
}


class SpeakerRole(enum.StrEnum):
    SPEAKER = "speaker"
    MODERATOR = "moderator"
    PRESENTER = "presenter"
    SIGNATORY = "signatory"
    HOST = "host"

    @property
    def label(self) -> str:
        return str(SPEAKER_ROLE_LABELS[self])


SPEAKER_ROLE_LABELS = {
    SpeakerRole.SPEAKER: _l("Speaker"),
    SpeakerRole.MODERATOR: _l("Moderator"),
    SpeakerRole.PRESENTER: _l("Presenter"),
    SpeakerRole.SIGNATORY: _l("Signatory"),
    SpeakerRole.HOST: _l("Host"),
}


class FeedScope(enum.StrEnum):
    STARRED = "starred"
    ALL = "all"


class Room(db.Model):
    """A room of the event's venue (or an online channel), shown as a column of the grid."""

    __tablename__ = "room"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "name", name="uq_room_event_name"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    #: Seats; None when unknown (no capacity warning then).
    capacity: Mapped[int | None]
    #: Column order in the grid, left to right.
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship()


class Session(db.Model):
    """One item of the programme. Unscheduled while it has no start; a plenary spans every room."""

    __tablename__ = "agenda_session"
    __table_args__ = (
        sa.CheckConstraint("(starts_at IS NULL) = (ends_at IS NULL)", name="start_and_end_together"),
        sa.CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("sequence >= 0", name="sequence_not_negative"),
        sa.Index("ix_agenda_session_event_starts", "event_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str | None] = mapped_column(sa.Text)
    kind: Mapped[SessionKind] = mapped_column(enum_column(SessionKind, "session_kind"), default=SessionKind.TALK)
    format: Mapped[SessionFormat] = mapped_column(
        enum_column(SessionFormat, "session_format"), default=SessionFormat.HYBRID
    )
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("room.id", ondelete="SET NULL"), index=True)
    #: Spans every room (opening, break, closing): the grid shows it across all columns.
    plenary: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: Hidden sessions stay in the draft and are never published.
    is_public: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: Stream or video-call URL. Never published: registered online attendees reach it through their
    #: personal join link only.
    stream_url: Mapped[str | None] = mapped_column(sa.String(500))
    #: iCalendar SEQUENCE: goes up when a published version changes the session.
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: Deleted from the draft. While the latest published version still shows it, it keeps its stars (so
    #: followers hear of the removal) until the next publish; then it is retired: speakers, stars and MOU
    #: links go, the row stays so its id (and calendar UID) is never reused. Never-published sessions are
    #: deleted at once.
    deleted_at: Mapped[datetime | None]

    event: Mapped[Event] = relationship()
    room: Mapped[Room | None] = relationship()
    speakers: Mapped[list[SessionSpeaker]] = relationship(
        back_populates="session",
        order_by="SessionSpeaker.position",
        cascade="all, delete-orphan",
    )

    @property
    def is_scheduled(self) -> bool:
        return self.starts_at is not None and self.ends_at is not None


class SessionSpeaker(db.Model):
    """A person on a session, in order, with their role (speaker, moderator ...)."""

    __tablename__ = "session_speaker"
    __table_args__ = (sa.UniqueConstraint("session_id", "person_id", name="uq_session_speaker_session_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("agenda_session.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[SpeakerRole] = mapped_column(enum_column(SpeakerRole, "speaker_role"), default=SpeakerRole.SPEAKER)
    position: Mapped[int] = mapped_column(default=0)

    session: Mapped[Session] = relationship(back_populates="speakers")
    person: Mapped[Person] = relationship()


class AgendaVersion(db.Model):
    """A published agenda, numbered 1, 2, 3 ... per event; ``snapshot`` is what the public sees."""

    __tablename__ = "agenda_version"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "number", name="uq_agenda_version_event_number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    #: Rooms, public scheduled sessions and their people, as published (see services.build_snapshot).
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    #: What changed since the previous version (see services.diff_snapshots), for the public page.
    changes: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)


class Star(db.Model):
    """A session in an attendee's personal agenda."""

    __tablename__ = "agenda_star"
    __table_args__ = (sa.UniqueConstraint("registration_id", "session_id", name="uq_agenda_star_registration_session"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registration.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("agenda_session.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    registration: Mapped[Registration] = relationship()
    session: Mapped[Session] = relationship()


class AgendaFeed(db.Model):
    """An attendee's private calendar feed: an unguessable, revocable URL, starred sessions or the whole agenda."""

    __tablename__ = "agenda_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registration.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scope: Mapped[FeedScope] = mapped_column(enum_column(FeedScope, "feed_scope"), default=FeedScope.STARRED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    registration: Mapped[Registration] = relationship()
