"""The JSON check-in API, for the scanner page and third-party scanners (documented in docs/checkin-api.md).

Every endpoint takes door staff (session + ``X-CSRFToken`` header) or a door device (``Authorization:
Bearer <token>``); see ``eventsys.common.access.door_access``. Answers are JSON; errors are JSON 4xx
(``{"error": code, "message": text}``), never an HTML page and never a 500 for bad input.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from eventsys.checkin import services
from eventsys.checkin.models import CheckIn, CheckInList, DoorDevice
from eventsys.common.access import door_access
from eventsys.common.db import commit_last, late_write_lock
from eventsys.common.errors import DomainError
from eventsys.common.timefmt import format_in_zone
from eventsys.events.models import Event
from eventsys.extensions import db

bp = Blueprint("checkin_api", __name__, url_prefix="/api/v1")

CODE_MAX = 512
#: A control character (below U+0020): refused in every text field.
CONTROL_RE = re.compile(r"[\x00-\x1f]")


class BadRequest(DomainError):
    """The request's JSON is missing or malformed."""


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[Response, int]:
    status = error.code or 500
    db.session.rollback()
    return jsonify({"error": error.name.lower().replace(" ", "_"), "message": error.description}), status


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> tuple[Response, int]:
    db.session.rollback()
    body = {"error": error.code, "message": error.message}
    if error.field:
        body["field"] = error.field
    return jsonify(body), error.status


def _actor() -> Any:
    return current_user if current_user.is_authenticated else None


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest(_("Send a JSON object (Content-Type: application/json)."), code="bad_json")
    return data


def _text(data: dict[str, Any], key: str, limit: int, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise BadRequest(_("%(field)s is missing.", field=key), code="missing_field", field=key)
        return None
    if not isinstance(value, str) or len(value) > limit or CONTROL_RE.search(value):
        raise BadRequest(_("%(field)s is not valid.", field=key), code="bad_field", field=key)
    return value


def _scanned_at(data: dict[str, Any]) -> datetime | None:
    raw = _text(data, "scanned_at", 64)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise BadRequest(
            _("scanned_at must be an ISO 8601 time with its offset, e.g. 2022-05-18T09:30:00+09:00."),
            code="bad_field",
            field="scanned_at",
        )
    return value


def _code_of(data: dict[str, Any]) -> str:
    code = data.get("code")
    return code.strip() if isinstance(code, str) else ""


def _list_for(event: Event, data: dict[str, Any], device: DoorDevice | None, at: datetime | None) -> CheckInList:
    """The list named in the request, else the device's, else the default list of the day."""
    if data.get("list") not in (None, ""):
        if not isinstance(data["list"], int | str) or isinstance(data["list"], bool):
            raise services.ListNotFound()
        return services.get_list(event, data["list"])
    if device is not None and device.list_id is not None:
        return services.get_list(event, device.list_id)
    when = at or services.utcnow()
    found = services.default_list_for(event, when)
    if found is None:
        services.ensure_default_lists(event)
        found = services.default_list_for(event, when)
    if found is None:
        raise BadRequest(_("Today is not an event day: choose a check-in list."), code="no_list", field="list")
    return found


def checkin_json(
    event: Event | services.ScanEvent, checkin: CheckIn | services.NewEntry | None
) -> dict[str, Any] | None:
    if checkin is None:
        return None
    return {
        "id": checkin.id,
        "list": checkin.list_id,
        "direction": checkin.direction.value,
        "door": checkin.door,
        "scanned_at": checkin.scanned_at.isoformat(),
        "scanned_at_local": format_in_zone(checkin.scanned_at, event.timezone, "short"),
        "annulled": checkin.annulled_at is not None,
    }


def result_json(event: Event | services.ScanEvent, result: services.CheckInResult) -> dict[str, Any]:
    return {
        "result": result.result,
        "message": result.message,
        "attendee": result.summary,
        "attention": result.attention,
        "checkin": checkin_json(event, result.checkin),
        "first_checkin": checkin_json(event, result.first_checkin),
        "replayed": result.replayed,
    }


class _ScanPrefetch:
    """For a device's badge scan at the day's door: the event, the device, the day's list and the badge's row
    in one statement, read as plain values (``DevicePrefetch`` of ``door_access``; ``services.extend_for_scan``).
    The badge's row is used only after the code's signature is verified (``redeem_badge``)."""

    def extend(self, statement: sa.Select[Any]) -> sa.Select[Any]:
        return services.extend_for_scan(statement)

    def params(self) -> dict[str, Any] | None:
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or data.get("direction", "in") != "in":
            return None
        if data.get("registration_id") not in (None, "") or data.get("list") not in (None, ""):
            return None
        try:
            at = _scanned_at(data)
        except BadRequest:
            return None  # the view says so, once access is granted
        params, g.scan_facts = services.scan_prefetch_params(_code_of(data), at or services.utcnow())
        return params

    def collect(self, rows: list[sa.Row[Any]]) -> tuple[Any, Any, Any]:
        return services.collect_scan_prefetch(rows, g.pop("scan_facts"))


def _touch(device: DoorDevice | services.ScanDevice | None) -> None:
    if device is not None:
        services.touch_device(device)


@bp.post("/events/<slug>/checkins")
@late_write_lock
@door_access(DoorDevice, prefetch=_ScanPrefetch())
def create_checkin(
    event: Event | services.ScanEvent,
    door_device: DoorDevice | services.ScanDevice | None,
    prefetched: Any = None,
) -> tuple[Response, int]:
    """Scan a badge: ``{code | registration_id, list?, door?, nonce, scanned_at?, direction?}``.

    A device's scan of a badge at the day's door gets the event and the device as the plain values its access
    check read (``services.ScanEvent``, ``ScanDevice``); every other path loads them as ORM objects.
    """
    data = _payload()
    nonce = _text(data, "nonce", 64, required=True)
    door = _text(data, "door", services.DOOR_MAX) or ""
    scanned_at = _scanned_at(data)
    direction = data.get("direction", "in")
    if direction not in ("in", "out"):
        raise BadRequest(_("direction is in or out."), code="bad_field", field="direction")
    registration_id = data.get("registration_id")
    by_code = direction == "in" and registration_id in (None, "")
    badge_facts = None
    checkin_list: Any = None
    if by_code and data.get("list") in (None, "") and (door_device is None or door_device.list_id is None):
        # The busiest case, a badge at the day's door: the day's list and the badge's row were read with the
        # device (a device's request), or are read now in one statement (door staff).
        if prefetched is not None:
            checkin_list, badge_facts = prefetched
        elif not isinstance(event, services.ScanEvent):
            checkin_list, badge_facts = services.day_list_for_scan(
                event, scanned_at or services.utcnow(), _code_of(data)
            )
    if checkin_list is None:
        event, door_device = services.as_orm(event), services.as_orm(door_device)
        checkin_list = _list_for(event, data, door_device, scanned_at)
    options = {
        "door": door,
        "nonce": nonce,
        "scanned_at": scanned_at,
        "actor": None if door_device else _actor(),
        "device": door_device,
    }
    if registration_id not in (None, "") and direction == "in":
        result = services.redeem_registration(event, registration_id, checkin_list, **options)
    else:
        code = _text(data, "code", CODE_MAX, required=True) or ""
        if direction == "out":
            result = services.record_exit(event, code.strip(), checkin_list, **options)
        else:
            result = services.redeem_badge(
                event, code.strip(), checkin_list, prefetched=badge_facts, entry_object=False, **options
            )
    _touch(door_device)
    body = result_json(event, result)
    body["list"] = {"id": checkin_list.id, "name": checkin_list.name}
    commit_last(db.session())
    return jsonify(body), 200


@bp.post("/events/<slug>/checkins/<int:checkin_id>/annul")
@late_write_lock
@door_access(DoorDevice)
def annul_checkin(event: Event, door_device: DoorDevice | None, checkin_id: int) -> tuple[Response, int]:
    """Undo a scan (the scanner's "undo last")."""
    checkin = services.annul_checkin(event, checkin_id, actor=None if door_device else _actor(), device=door_device)
    _touch(door_device)
    body = {"checkin": checkin_json(event, checkin)}
    db.session.commit()
    return jsonify(body), 200


@bp.get("/events/<slug>/attendees")
@door_access(DoorDevice)
def search(event: Event, door_device: DoorDevice | None) -> Response:
    """Find in-person attendees by name (``?q=``): name, organization, category, status and needs only."""
    query = request.args.get("q", "")
    response = jsonify({"attendees": services.search_attendees(event, query)})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/events/<slug>/checkin-lists")
@door_access(DoorDevice)
def lists(event: Event, door_device: DoorDevice | None) -> Response:
    """The event's check-in lists (and, for a device, the one it is fixed on)."""
    return jsonify(
        {
            "lists": [
                {
                    "id": cl.id,
                    "name": cl.name,
                    "day": cl.day.isoformat() if cl.day else None,
                    "session_id": cl.session_id,
                    "categories": cl.categories,
                    "allows_exit": cl.allows_exit,
                }
                for cl in services.lists_for(event)
            ],
            "device_list": door_device.list_id if door_device else None,
        }
    )


@bp.post("/events/<slug>/attendees/<int:registration_id>/badge")
@door_access(DoorDevice)
def print_badge(event: Event, door_device: DoorDevice | None, registration_id: int) -> tuple[Response, int]:
    """Prepare a badge for printing at the door (``{reissue: true}`` for a lost badge); nobody is checked in."""
    data = request.get_json(silent=True)
    reissue = isinstance(data, dict) and data.get("reissue") is True
    badge = services.badge_for_printing(
        event, registration_id, reissue=reissue, actor=None if door_device else _actor()
    )
    _touch(door_device)
    body = {
        "badge_id": badge.id,
        "reissued": reissue,
        "pdf_url": url_for("checkin_api.badge_pdf", slug=event.slug, badge_id=badge.id),
    }
    db.session.commit()
    return jsonify(body), 200


@bp.get("/events/<slug>/badges/<int:badge_id>.pdf")
@door_access(DoorDevice)
def badge_pdf(event: Event, door_device: DoorDevice | None, badge_id: int) -> Response:
    """The single-badge PDF (A6), for printing at the door. Only a live badge of this event."""
    pdf = services.single_badge_pdf(event, badge_id)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="badge-{badge_id}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- offline doors ------------------------------------------------------------------------------------


def _since(raw: str | None) -> datetime | None:
    if raw in (None, ""):
        return None
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise BadRequest(_("since must be a cursor from an earlier door pack."), code="bad_field", field="since")
    return value


@bp.get("/events/<slug>/door-pack")
@door_access(DoorDevice)
def door_pack(event: Event, door_device: DoorDevice | None) -> Response:
    """What the scanner page keeps for scanning offline (``?list=<id>&since=<cursor>``); see services.door_pack."""
    checkin_list = _list_for(event, {"list": request.args.get("list")}, door_device, None)
    pack = services.door_pack(event, checkin_list, since=_since(request.args.get("since")))
    if door_device is None:
        # A page opened offline from the cache carries an old token: the next upload uses this one.
        from flask_wtf.csrf import generate_csrf

        pack["csrf_token"] = generate_csrf()
    else:
        pack["door"] = door_device.name
    response = jsonify(pack)
    response.headers["Cache-Control"] = "no-store"
    return response


def _offline_scan(event: Event, item: Any, door_device: DoorDevice | None) -> services.OfflineScan:
    if not isinstance(item, dict):
        raise BadRequest(_("Each scan is a JSON object."), code="bad_json")
    nonce = _text(item, "nonce", 64, required=True) or ""
    scanned_at = _scanned_at(item)
    kind = item.get("kind") or "checkin"
    if kind not in services.OFFLINE_KINDS:
        raise BadRequest(_("kind is checkin, exit or annul."), code="bad_field", field="kind")
    badge_id = None
    annuls = None
    if kind == "annul":
        code = (_text(item, "code", CODE_MAX) or "").strip()
        annuls = _text(item, "annuls", 64, required=True)
    elif kind == "checkin" and item.get("code") in (None, "") and item.get("badge") not in (None, ""):
        code = ""
        badge = item["badge"]
        if not isinstance(badge, int) or isinstance(badge, bool) or not 0 < badge < 2**31:
            raise BadRequest(_("%(field)s is not valid.", field="badge"), code="bad_field", field="badge")
        badge_id = badge
    else:
        code = (_text(item, "code", CODE_MAX, required=True) or "").strip()
    return services.OfflineScan(
        code=code,
        checkin_list=_list_for(event, item, door_device, scanned_at),
        nonce=nonce,
        scanned_at=scanned_at,
        door=_text(item, "door", services.DOOR_MAX) or "",
        kind=kind,
        badge_id=badge_id,
        annuls=annuls,
    )


@bp.post("/events/<slug>/checkins/batch")
@door_access(DoorDevice)
def checkin_batch(event: Event, door_device: DoorDevice | None) -> tuple[Response, int]:
    """Upload scans queued offline: ``{scans: [{kind?, code, list, door, nonce, scanned_at}, ...]}`` → one result each.

    ``kind`` is ``checkin`` (default; ``badge`` instead of ``code`` for someone found by name), ``exit`` or
    ``annul`` (with ``annuls``: the nonce of the scan to undo). Results come in the order of the scans, each
    with its ``nonce`` and ``kind``. The server keeps the earliest scan time and records duplicates and
    refusals (``duplicate``); a retried upload gets the same answers.
    """
    data = _payload()
    items = data.get("scans")
    if not isinstance(items, list):
        raise BadRequest(_("scans is missing."), code="missing_field", field="scans")
    if len(items) > services.BATCH_MAX:
        raise BadRequest(services.batch_too_large_message(), code="batch_too_large", field="scans")
    parsed: list[services.OfflineScan | DomainError] = []
    for item in items:
        try:
            parsed.append(_offline_scan(event, item, door_device))
        except DomainError as error:
            parsed.append(error)
    scans = [scan for scan in parsed if isinstance(scan, services.OfflineScan)]
    if len({scan.nonce for scan in scans}) != len(scans):
        raise BadRequest(_("Each scan needs its own nonce."), code="duplicate_nonce", field="nonce")
    answers = services.upload_offline_scans(event, scans, actor=None if door_device else _actor(), device=door_device)
    results = []
    for item, scan in zip(items, parsed, strict=True):
        nonce = item.get("nonce") if isinstance(item, dict) else None
        if isinstance(scan, DomainError):
            results.append({"nonce": nonce, "error": scan.code, "message": scan.message, "field": scan.field})
            continue
        answer = answers[scan.nonce]
        if isinstance(answer, DomainError):
            results.append({"nonce": nonce, "error": answer.code, "message": answer.message, "field": answer.field})
            continue
        body = result_json(event, answer.answer)
        body["nonce"] = scan.nonce
        body["kind"] = scan.kind
        body["list"] = scan.checkin_list.id
        body["duplicate"] = services.conflict_json(answer.conflict) if answer.conflict is not None else None
        if scan.kind == "annul":
            body["annuls"] = scan.annuls
            body["promoted"] = checkin_json(event, answer.promoted)
        results.append(body)
    _touch(door_device)
    db.session.commit()
    return jsonify({"results": results}), 200
