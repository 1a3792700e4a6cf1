"""Who may use each view. Every view function carries one of these decorators, and a test checks it.

- ``public``: anyone.
- ``personal_link``: anyone holding a personal link's secret token (attendees, invitees).
- ``login_required``: any logged-in user.
- ``site_admin_required``: site admins.
- ``event_role_required(Role.ORGANIZER)``: organizers of the event named by the ``slug`` URL argument
  (site admins count as organizers everywhere); ``Role.DOOR`` also admits organizers.
- ``door_access(DoorDevice)``: JSON endpoints for the doors: door staff (or organizers) by their session,
  or a paired door device of that event by its token in an ``Authorization: Bearer`` header. A view may
  have facts of its own read in the same statement as the device (``DevicePrefetch``).

Anonymous users are sent to the login page, logged-in users without the right get 403, and an unknown
event slug gets 404. The event is loaded once and handed to the view as ``event``; its statement (and, for the
doors, the one that reads the event and the device together) is built once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from flask import abort, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from eventsys.accounts.models import Role
from eventsys.common.tokens import looks_like_token
from eventsys.events.models import Event
from eventsys.extensions import csrf, db, login_manager

F = TypeVar("F", bound=Callable[..., Any])

ACCESS_ATTR = "access_rule"

#: Built once: every organizer page and door request loads its event by the slug in the URL.
_EVENT_BY_SLUG = sa.select(Event).where(Event.slug == sa.bindparam("slug"))


def _mark(view: Callable[..., Any], rule: str) -> None:
    setattr(view, ACCESS_ATTR, rule)


def public(view: F) -> F:
    """Anyone may use this view."""
    _mark(view, "public")
    return view


def personal_link(view: F) -> F:
    """Anyone holding the personal link's secret token may use this view (attendees have no account).

    The view itself looks the token up (``eventsys.common.tokens.find_by_token``) and answers 404 for an
    unknown or revoked one, so a wrong token reveals nothing.
    """
    _mark(view, "personal_link")
    return view


def login_required(view: F) -> F:
    """Any logged-in user may use this view."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    _mark(wrapped, "login")
    return wrapped  # type: ignore[return-value]


def site_admin_required(view: F) -> F:
    """Only site admins may use this view."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_site_admin:
            abort(403)
        return view(*args, **kwargs)

    _mark(wrapped, "site_admin")
    return wrapped  # type: ignore[return-value]


def user_has_role(user: Any, event: Event, role: Role) -> bool:
    """Whether ``user`` holds ``role`` on ``event``: organizers and site admins may do what door staff may."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_site_admin:
        return True
    held = user.role_for(event)
    if held is None:
        return False
    return held is Role.ORGANIZER or held is role


def event_role_required(role: Role) -> Callable[[F], F]:
    """Only users with ``role`` on the event in the URL may use this view; it receives ``event``."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, slug: str, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            event = db.session.scalar(_EVENT_BY_SLUG, {"slug": slug})
            if event is None:
                abort(404)
            if not user_has_role(current_user, event, role):
                abort(403)
            return view(*args, event=event, **kwargs)

        _mark(wrapped, f"event:{role.value}")
        return wrapped  # type: ignore[return-value]

    return decorator


class DevicePrefetch(Protocol):
    """A door view's own read of the event and the device, with facts of its own: one statement, not two.

    ``extend(statement)`` (once per process) adds the columns it reads, and any outer joins, to a statement of
    no columns yet: the event by its slug (``event``) with the device holding the token if it is that event's
    (an outer join of the device's table). ``params()``
    gives the request's other bind parameters, or None when this request needs none: then the event and the
    device are loaded as ORM objects, as for every door view. ``collect(rows)`` turns the rows (at least one;
    read as plain rows on the session's connection) into the event, the device (None if no device of the event
    holds the token; it has ``admits(token)``, checked here) and what the view receives as ``prefetched``: the
    view receives them instead of ORM objects. The rows are read before anything is checked: what they say must
    not be trusted beyond what the view verifies.
    """

    def extend(self, statement: sa.Select[Any]) -> sa.Select[Any]: ...

    def params(self) -> dict[str, Any] | None: ...

    def collect(self, rows: list[sa.Row[Any]]) -> tuple[Any, Any, Any]: ...


def door_access(device_model: type, *, prefetch: DevicePrefetch | None = None) -> Callable[[F], F]:
    """Door staff of the event in the URL, by session, or one of its door devices, by bearer token.

    The view receives ``event`` and ``door_device`` (None for a person; ``flask.g.door_device`` too).
    ``device_model`` is the door devices' model (``eventsys.checkin.models.DoorDevice``: ``event_id``,
    ``token``, ``revoked_at``).

    - A request with ``Authorization: Bearer <token>`` is a device's: the session is ignored (neither the
      login nor CSRF is looked at), and the device must belong to this event and not be revoked (else 401).
      The event and the device come back from one statement; a token of the wrong shape is refused before
      any query, and the token found is confirmed with a constant-time comparison (as
      ``eventsys.checkin.services.device_for_token``). Device requests are exempt from CSRF: a CSRF attack
      rides on credentials the browser attaches by itself (cookies), and a browser never attaches an
      Authorization header by itself, so a forged cross-site request cannot carry the token.
    - Otherwise the logged-in user needs the door role (or organizer, or site admin) on the event: 401
      without a session, 403 without the role. Requests that change something (not GET/HEAD) must send the
      CSRF token, in the ``X-CSRFToken`` header (the scanner page does) or a ``csrf_token`` field.

    Refusals are JSON (``{"error": code, "message": text}``), never a redirect to the login page.

    With ``prefetch``, the view also takes ``prefetched``: for a device's request, what ``prefetch.collect``
    made of the rows read with the device, and the event and device as it made them; None otherwise (a
    person's request, or ``prefetch.params`` None: then ``event`` and ``door_device`` are ORM objects).
    """
    # Built once: the event by its slug with the device holding the token, if that device is the event's; as ORM
    # objects, and (for ``prefetch``) as plain columns the prefetch chooses, on the same joins.
    holds_token = sa.and_(device_model.token == sa.bindparam("token"), device_model.event_id == Event.id)
    by_slug = Event.slug == sa.bindparam("slug")
    event_and_device = sa.select(Event, device_model).outerjoin(device_model, holds_token).where(by_slug)
    own_statement = None
    if prefetch is not None:
        joined = Event.__table__.outerjoin(device_model.__table__, holds_token)
        own_statement = prefetch.extend(sa.select().select_from(joined).where(by_slug))

    def refuse(status: int, code: str, message: str) -> Any:
        response = jsonify({"error": code, "message": message})
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="eventsys doors"'
        return response

    def device_request(slug: str, token: str) -> tuple[Any, Any, Any] | None:
        """The event, its active device holding ``token`` and what ``prefetch`` collected; or None."""
        if not looks_like_token(token):
            return None
        params = {"slug": slug, "token": token}
        extra = prefetch.params() if prefetch is not None else None
        if extra is None:
            row = db.session.execute(event_and_device, params).first()
            if row is None:
                return None
            event, device, prefetched = row[0], row[1], None
        else:
            # Plain rows on the session's connection: the session's ORM path costs more than this statement.
            rows = db.session.connection().execute(own_statement, {**params, **extra}).all()
            if not rows:
                return None
            event, device, prefetched = prefetch.collect(rows)  # type: ignore[union-attr]
        if device is None or not device.admits(token):  # DoorDevice.admits: the same rule as the pairing page
            return None
        return event, device, prefetched

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, slug: str, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            if header[:7].lower() == "bearer ":
                found = device_request(slug, header[7:].strip())
                if found is None:
                    return refuse(401, "unauthorized", _("This door link is not valid (any more)."))
                event, device, prefetched = found
            else:
                device = prefetched = None
                if not current_user.is_authenticated:
                    return refuse(401, "unauthorized", _("Please log in to see this page."))
                event = db.session.scalar(_EVENT_BY_SLUG, {"slug": slug})
                if event is None:
                    return refuse(404, "not_found", _("There is no such event."))
                if not user_has_role(current_user, event, Role.DOOR):
                    return refuse(403, "forbidden", _("You have no door access to this event."))
                if request.method not in ("GET", "HEAD", "OPTIONS"):
                    csrf.protect()  # raises CSRFError (400)
            g.door_device = device
            if prefetch is not None:
                kwargs["prefetched"] = prefetched
            return view(*args, event=event, door_device=device, **kwargs)

        csrf.exempt(wrapped)  # checked above, for session requests only
        _mark(wrapped, "event:door_or_device")
        return wrapped  # type: ignore[return-value]

    return decorator
