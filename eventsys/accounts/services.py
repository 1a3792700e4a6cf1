"""Business rules for accounts: creating users, checking passwords, granting roles."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from eventsys.accounts.models import EventRole, Role, User
from eventsys.common.db import utcnow
from eventsys.common.errors import DomainError, NotAllowed
from eventsys.events.models import Event
from eventsys.extensions import db

MIN_PASSWORD_LENGTH = 10
# A hash to check against when no user matches, so a missing account takes as long as a wrong password.
_DUMMY_HASH: dict[str, str] = {}


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _hash(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


def create_user(email: str, name: str, password: str, *, is_site_admin: bool = False) -> User:
    """Create an account; emails are unique regardless of case."""
    email = normalize_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            _("Use at least %(n)d characters for the password.", n=MIN_PASSWORD_LENGTH),
            code="password_short",
            field="password",
        )
    if get_user_by_email(email) is not None:
        raise DomainError(_("An account with this email already exists."), code="email_taken", field="email")
    user = User(email=email, name=name.strip(), password_hash=_hash(password), is_site_admin=is_site_admin)
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            _("Use at least %(n)d characters for the password.", n=MIN_PASSWORD_LENGTH),
            code="password_short",
            field="password",
        )
    user.password_hash = _hash(password)
    db.session.flush()


def get_user_by_email(email: str) -> User | None:
    if "\x00" in email:  # no account has one, and PostgreSQL refuses NUL in a query parameter
        return None
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Takes as long whether or not the user exists."""
    user = get_user_by_email(email)
    if user is None:
        if "hash" not in _DUMMY_HASH:
            _DUMMY_HASH["hash"] = _hash("not-a-real-password")
        check_password_hash(_DUMMY_HASH["hash"], password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def _may_manage_roles(actor: User | None, event: Event) -> bool:
    if actor is None:  # the command line
        return True
    return actor.is_site_admin or actor.role_for(event) is Role.ORGANIZER


def grant_role(actor: User | None, event: Event, user: User, role: Role) -> EventRole:
    """Give ``user`` ``role`` on ``event``, replacing any role they had there. ``actor`` None is the CLI."""
    if not _may_manage_roles(actor, event):
        raise NotAllowed(_("Only the event's organizers may change its team."), code="not_allowed")
    existing = db.session.scalar(
        sa.select(EventRole).where(EventRole.user_id == user.id, EventRole.event_id == event.id)
    )
    if existing is not None:
        if existing.role is Role.ORGANIZER and role is not Role.ORGANIZER:
            _ensure_other_organizer(event, user)
        existing.role = role
        db.session.flush()
        return existing
    event_role = EventRole(user=user, event_id=event.id, role=role)
    db.session.add(event_role)
    db.session.flush()
    return event_role


def revoke_role(actor: User | None, event: Event, user: User) -> None:
    """Take away ``user``'s role on ``event``. The last organizer cannot be removed."""
    if not _may_manage_roles(actor, event):
        raise NotAllowed(_("Only the event's organizers may change its team."), code="not_allowed")
    existing = db.session.scalar(
        sa.select(EventRole).where(EventRole.user_id == user.id, EventRole.event_id == event.id)
    )
    if existing is None:
        raise DomainError(_("This person has no role on the event."), code="no_role")
    if existing.role is Role.ORGANIZER:
        _ensure_other_organizer(event, user)
    db.session.delete(existing)
    db.session.flush()


def _ensure_other_organizer(event: Event, user: User) -> None:
    others = db.session.scalar(
        sa.select(sa.func.count(EventRole.id)).where(
            EventRole.event_id == event.id, EventRole.role == Role.ORGANIZER, EventRole.user_id != user.id
        )
    )
    if not others:
        raise DomainError(_("An event needs at least one organizer."), code="last_organizer")


def event_team(event: Event) -> Sequence[EventRole]:
    """The roles on ``event``, organizers first."""
    return db.session.scalars(
        sa.select(EventRole)
        .join(User)
        .where(EventRole.event_id == event.id)
        .order_by(EventRole.role.desc(), User.name)
        .options(sa.orm.joinedload(EventRole.user))
    ).all()
