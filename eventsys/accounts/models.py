"""User and EventRole."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsys.common.db import enum_column, utcnow
from eventsys.common.enums import LabelledEnum
from eventsys.events.models import Event
from eventsys.extensions import db


class Role(LabelledEnum):
    #: Everything for that event.
    ORGANIZER = "organizer", _l("Organizer")
    #: Check-in only.
    DOOR = "door", _l("Door staff")


ROLE_LABELS = Role.labels()


class User(UserMixin, db.Model):
    """Someone who logs in: an organizer, door staff or a site admin. Attendees need no account."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased login name.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    #: Site admins create events and grant roles on any event.
    is_site_admin: Mapped[bool] = mapped_column(default=False)
    #: Deactivated accounts cannot log in (soft delete).
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    roles: Mapped[list[EventRole]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def role_for(self, event: Event) -> Role | None:
        """This user's role on ``event``, or None."""
        for role in self.roles:
            if role.event_id == event.id:
                return role.role
        return None

    def __repr__(self) -> str:
        return f"<User {self.email!r}>"


class EventRole(db.Model):
    """A user's role on one event: at most one per user and event."""

    __tablename__ = "event_role"
    __table_args__ = (sa.UniqueConstraint("user_id", "event_id", name="uq_event_role_user_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "event_role_kind"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")
    event: Mapped[Event] = relationship()
