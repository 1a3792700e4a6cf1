"""The builder's JSON endpoint: move, resize or unschedule one session; answers with the fresh warnings.

The request carries the CSRF token in the ``X-CSRFToken`` header (Flask-WTF checks it before the view
runs). Errors answer ``{"error": message, "code": code}`` with a 4xx status and change nothing, so the
client can show the message and put the session back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from eventsys.accounts.models import Role
from eventsys.agenda import services
from eventsys.agenda.models import Session
from eventsys.agenda.views import _session_json, bp
from eventsys.common.access import event_role_required
from eventsys.common.errors import DomainError
from eventsys.events.models import Event
from eventsys.extensions import db


def _error(message: str, code: str, status: int = 400) -> tuple[Response, int]:
    return jsonify({"error": message, "code": code}), status


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError(value)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(value)
    return parsed.astimezone(UTC)


@bp.post("/manage/events/<slug>/agenda/api/sessions/<int:session_id>")
@event_role_required(Role.ORGANIZER)
def api_schedule(event: Event, session_id: int) -> tuple[Response, int] | Response:
    """Set a session's start, end and room (all null: unscheduled). Body: JSON {starts_at, ends_at, room_id}."""
    session = db.session.get(Session, session_id)
    if session is None or session.event_id != event.id or session.deleted_at is not None:
        return _error(_("This session does not exist any more."), "unknown_session", 404)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not {"starts_at", "ends_at", "room_id"} <= body.keys():
        return _error(_("The request is not understood."), "bad_request")
    try:
        starts_at = _parse_time(body["starts_at"]) if body["starts_at"] is not None else None
        ends_at = _parse_time(body["ends_at"]) if body["ends_at"] is not None else None
    except ValueError:
        return _error(_("The times are not understood."), "bad_time")
    room_id = body["room_id"]
    if room_id is not None and (not isinstance(room_id, int) or isinstance(room_id, bool)):
        return _error(_("Choose one of this event's rooms."), "unknown_room")
    try:
        services.schedule_session(session, starts_at, ends_at, room_id)
    except DomainError as error:
        db.session.rollback()
        return _error(error.message, error.code, error.status)
    db.session.commit()
    warnings = services.agenda_warnings(event)
    return jsonify({"session": _session_json(session), "warnings": [w.as_json() for w in warnings]}), 200
