"""Check-in pages: lists and door devices (organizers), the scanner page (door staff, door devices), the dashboard."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from eventsys.accounts.models import Role
from eventsys.checkin import services
from eventsys.checkin.forms import DeviceForm, DeviceRenameForm, ListForm
from eventsys.checkin.models import CheckInList, DoorDevice
from eventsys.common.access import event_role_required, personal_link, public
from eventsys.common.db import write_transaction
from eventsys.common.errors import DomainError
from eventsys.common.forms import ActionForm, commit_or_refuse
from eventsys.events.models import Category, Event
from eventsys.extensions import db

bp = Blueprint("checkin", __name__)


def _with_default_lists(event: Event) -> list[CheckInList]:
    """The event's lists, creating the default day lists first if some are missing.

    GET pages read in a deferred transaction; the creation runs in a write transaction of its own (SQLite
    takes its write lock at BEGIN), after the read one ends.
    """
    if services.missing_default_days(event):
        db.session.commit()
        with write_transaction():
            services.ensure_default_lists(event)
            db.session.commit()
    return services.lists_for(event)


# --- the dashboard ------------------------------------------------------------------------------------


@bp.get("/manage/events/<slug>/checkin/")
@event_role_required(Role.ORGANIZER)
def dashboard(event: Event) -> str:
    """The live door dashboard: checked in / expected by list, category and door; last scans; scans per minute."""
    _with_default_lists(event)
    return render_template("checkin/dashboard.html", event=event, data=services.dashboard(event))


@bp.get("/manage/events/<slug>/checkin/dashboard.json")
@event_role_required(Role.ORGANIZER)
def dashboard_data(event: Event) -> Response:
    """The dashboard's figures as JSON, polled by static/js/dashboard.js."""
    response = jsonify(services.dashboard(event))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- lists --------------------------------------------------------------------------------------------


def _day_choices(event: Event) -> list[SelectChoice]:
    days = [SelectChoice(d.isoformat(), d.isoformat()) for d in services.event_days(event)]
    return [SelectChoice("", _("Any day")), *days]


@bp.route("/manage/events/<slug>/checkin/lists", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def lists(event: Event) -> str | Response | tuple[str, int]:
    """The event's check-in lists, and a form to add one for a session or some categories."""
    form = ListForm()
    form.day.choices = _day_choices(event)
    if form.validate_on_submit():
        from datetime import date

        with commit_or_refuse(form) as outcome:
            services.create_list(
                event,
                name=form.name.data,
                day=date.fromisoformat(form.day.data) if form.day.data else None,
                session_id=form.session_id.data,
                categories=list(form.categories.data) or None,
                allows_exit=form.allows_exit.data,
            )
        if outcome.ok:
            flash(_("The list was added."), "success")
            return redirect(url_for("checkin.lists", slug=event.slug))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "checkin/lists.html",
        event=event,
        lists=_with_default_lists(event) if status == 200 else services.lists_for(event),
        form=form,
        action_form=ActionForm(),
        category_labels={c.value: c.label for c in Category},
    ), status


@bp.post("/manage/events/<slug>/checkin/lists/<int:list_id>/exits")
@event_role_required(Role.ORGANIZER)
def list_exits(event: Event, list_id: int) -> Response:
    """Turn exit scans on or off for a list."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        checkin_list = services.get_list(event, list_id)
    except DomainError:
        abort(404)
    services.set_allows_exit(checkin_list, request.form.get("allows_exit") == "1")
    db.session.commit()
    flash(
        _("Exit scans are on for %(name)s.", name=checkin_list.name)
        if checkin_list.allows_exit
        else _("Exit scans are off for %(name)s.", name=checkin_list.name),
        "success",
    )
    return redirect(url_for("checkin.lists", slug=event.slug))


# --- door devices -------------------------------------------------------------------------------------


def _list_choices(event: Event) -> list[SelectChoice]:
    lists = [SelectChoice(str(cl.id), cl.name) for cl in services.lists_for(event)]
    return [SelectChoice("", _("The day's list")), *lists]


@bp.route("/manage/events/<slug>/checkin/devices", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def devices(event: Event) -> str | Response | tuple[str, int]:
    """Door devices: a setup link and QR per door that a volunteer opens on a phone; revocable at any time."""
    form = DeviceForm()
    if request.method == "GET":
        _with_default_lists(event)
    form.list_id.choices = _list_choices(event)
    if form.validate_on_submit():
        with commit_or_refuse(form) as outcome:
            checkin_list = services.get_list(event, form.list_id.data) if form.list_id.data else None
            device = services.pair_device(event, form.name.data, checkin_list=checkin_list, actor=current_user)
        if outcome.ok:
            flash(_("%(name)s is ready: open its setup link on the door's phone.", name=device.name), "success")
            return redirect(url_for("checkin.devices", slug=event.slug) + f"#device-{device.id}")
    return _devices_page(event, form, 400 if form.is_submitted() else 200)


def _devices_page(
    event: Event, form: DeviceForm, status: int, rename: tuple[int, DeviceRenameForm] | None = None
) -> tuple[str, int]:
    return render_template(
        "checkin/devices.html",
        event=event,
        devices=services.devices_for(event),
        form=form,
        action_form=ActionForm(),
        setup_url=_setup_url,
        setup_qr=_setup_qr,
        rename=rename,
    ), status


def _setup_url(device: DoorDevice) -> str:
    return url_for("checkin.door", token=device.token, _external=True)


def _setup_qr(device: DoorDevice) -> str:
    from markupsafe import Markup

    from eventsys.common.qr import qr_svg

    return Markup(qr_svg(_setup_url(device), title=_("Setup link of %(name)s", name=device.name)))  # noqa: S704


@bp.post("/manage/events/<slug>/checkin/devices/<int:device_id>/revoke")
@event_role_required(Role.ORGANIZER)
def device_revoke(event: Event, device_id: int) -> Response:
    """Revoke a door device: its link stops working at once."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    device = db.session.get(DoorDevice, device_id)
    if device is None or device.event_id != event.id:
        abort(404)
    services.revoke_device(device)
    db.session.commit()
    flash(_("%(name)s can no longer check people in.", name=device.name), "success")
    return redirect(url_for("checkin.devices", slug=event.slug))


@bp.post("/manage/events/<slug>/checkin/devices/<int:device_id>/rename")
@event_role_required(Role.ORGANIZER)
def device_rename(event: Event, device_id: int) -> Response | tuple[str, int]:
    """Rename a door device: its next scans count under the new name; its setup link stays the same."""
    device = db.session.get(DoorDevice, device_id)
    if device is None or device.event_id != event.id:
        abort(404)
    form = DeviceRenameForm()
    if form.validate_on_submit():
        with commit_or_refuse(form) as outcome:
            old_name = device.name
            services.rename_device(device, form.name.data)
        if outcome.ok:
            flash(_("%(old)s is now called %(new)s.", old=old_name, new=device.name), "success")
            return redirect(url_for("checkin.devices", slug=event.slug) + f"#device-{device.id}")
    db.session.rollback()
    device_form = DeviceForm(formdata=None)
    device_form.list_id.choices = _list_choices(event)
    return _devices_page(event, device_form, 400, rename=(device_id, form))


# --- the scanner page ---------------------------------------------------------------------------------


@bp.get("/manage/events/<slug>/checkin/scan")
@event_role_required(Role.DOOR)
def scanner(event: Event) -> str:
    """The scanner page for door staff (logged in): camera, keyboard-wedge field, search by name."""
    lists = _with_default_lists(event)
    chosen = None
    if request.args.get("list"):
        try:
            chosen = services.get_list(event, request.args["list"])
        except DomainError:
            abort(404)
    if chosen is None:
        chosen = services.default_list_for(event, services.utcnow()) or (lists[0] if lists else None)
    return render_template(
        "checkin/scanner.html",
        event=event,
        lists=lists,
        chosen=chosen,
        device=None,
        messages=services.result_messages(),
    )


@bp.get("/door/<token>")
@personal_link
def door(token: str) -> str:
    """A door device's scanner page, opened from its setup link; the token is sent as a bearer token."""
    device = services.device_for_token(token)
    if device is None:
        abort(404)
    event = db.session.get(Event, device.event_id)
    lists = _with_default_lists(event)
    device = db.session.get(DoorDevice, device.id)  # reloaded after the commit above
    chosen = device.checkin_list or services.default_list_for(event, services.utcnow())
    response = render_template(
        "checkin/scanner.html",
        event=event,
        lists=lists,
        chosen=chosen,
        device=device,
        token=token,
        messages=services.result_messages(),
    )
    return response


# --- the offline scanner: service worker --------------------------------------------------------------

#: What the scanner page needs to start with the network off (static/sw.js caches it at install).
OFFLINE_ASSETS = (
    "css/main.css",
    "css/checkin.css",
    "js/localtime.js",
    "js/door-logout.js",
    "vendor/jsqr/jsQR.js",
    "js/offline-scanner.js",
    "js/scanner.js",
    "favicon.svg",
    "manifest.json",
    "icons/scanner-192.png",
    "icons/scanner-512.png",
)
_SW_CACHE: dict[tuple[float, ...], str] = {}


@bp.get("/scanner-sw.js")
@public
def service_worker() -> Response:
    """The scanner page's service worker (static/sw.js), at the site root so it may control the scanner pages.

    Its cache version is a digest of the assets it caches, so a deploy that changes one installs a new worker.
    """
    import hashlib
    import json
    from pathlib import Path

    folder = Path(current_app.static_folder or "static")
    files = [folder / "sw.js", *(folder / name for name in OFFLINE_ASSETS)]
    stamp = tuple(path.stat().st_mtime for path in files)
    body = _SW_CACHE.get(stamp)
    if body is None:
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.read_bytes())
        assets = [url_for("static", filename=name) for name in OFFLINE_ASSETS]
        body = (
            (folder / "sw.js")
            .read_text(encoding="utf-8")
            .replace('"__VERSION__"', json.dumps(digest.hexdigest()[:16]))
            .replace("__ASSETS__", json.dumps(assets))
        )
        _SW_CACHE.clear()
        _SW_CACHE[stamp] = body
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response
