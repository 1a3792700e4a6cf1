"""Agenda pages: the organizer's builder and forms, the public agenda and feeds, the attendee's personal agenda.

Thin views: every rule is in ``eventsys.agenda.services``; the JSON endpoint of the drag-and-drop builder is
in ``eventsys.agenda.api``. The public pages and feeds render the latest published version's snapshot, so
they run the same few queries whatever the size of the agenda.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from eventsys.accounts.models import Role
from eventsys.agenda import calendar, programme, services
from eventsys.agenda.forms import (
    ConfirmDeleteForm,
    FeedForm,
    PublishForm,
    RenewFeedForm,
    RoomForm,
    SessionForm,
    SpeakerForm,
    StarForm,
)
from eventsys.agenda.models import FeedScope, Room, Session, SessionFormat, SessionKind, SessionSpeaker, SpeakerRole
from eventsys.common.access import event_role_required, personal_link, public, user_has_role
from eventsys.common.errors import DomainError
from eventsys.common.forms import commit_or_refuse
from eventsys.common.timefmt import NonexistentLocalTime, is_valid_timezone, local_to_utc, utc_to_local, zone_label
from eventsys.events.models import Event, Person
from eventsys.extensions import db
from eventsys.registration import services as registration_services
from eventsys.registration.views import join_and_redirect

bp = Blueprint("agenda", __name__)

# --- rendered published agendas, per process ------------------------------------------------------------------
# A published version never changes, so its rendered grid and feed are kept (per worker process, a few dozen at
# most) under a key naming everything they depend on: the version, the event's own last change (venue, name), the
# zone, the language and the base URL. A new version, an edited event or another zone simply makes a new key.

# Threads asking for the same missing key wait for one build (a big programme PDF takes seconds to render).

_RENDERED: OrderedDict[tuple, Any] = OrderedDict()
_RENDERED_MAX = 64
_RENDERED_LOCK = threading.Lock()
_BUILDING: dict[tuple, threading.Lock] = {}


def _cached(key: tuple) -> tuple[bool, Any]:
    with _RENDERED_LOCK:
        if key in _RENDERED:
            _RENDERED.move_to_end(key)
            return True, _RENDERED[key]
    return False, None


def _rendered(key: tuple, build: Callable[[], Any]) -> Any:
    found, value = _cached(key)
    if found:
        return value
    with _RENDERED_LOCK:
        building = _BUILDING.setdefault(key, threading.Lock())
    with building:
        found, value = _cached(key)
        if found:
            return value
        try:
            value = build()
            with _RENDERED_LOCK:
                _RENDERED[key] = value
                while len(_RENDERED) > _RENDERED_MAX:
                    _RENDERED.popitem(last=False)
        finally:
            with _RENDERED_LOCK:
                _BUILDING.pop(key, None)
    return value


def _version_key(event: Event, version: Any) -> tuple:
    return (event.id, version.id, version.number, version.published_at.isoformat(), event.updated_at.isoformat())


@bp.app_template_filter("agenda_time")
def agenda_time(value: datetime, zone: str) -> str:
    """A time of day in ``zone``, in the page's locale (e.g. 14:05 or 2:05 PM)."""
    from babel.dates import format_time
    from flask_babel import get_locale

    return format_time(value.astimezone(ZoneInfo(zone)), format="short", locale=get_locale() or "en")


@bp.app_template_filter("agenda_iso_time")
def agenda_iso_time(value: str | None, zone: str) -> str:
    """A stored ISO time (from a snapshot) as a date and time in ``zone``."""
    if not value:
        return ""
    local = datetime.fromisoformat(value)
    return f"{agenda_date(local, zone)} {agenda_time(local, zone)}"


@bp.app_template_filter("agenda_date")
def agenda_date(value: Any, zone: str | None = None) -> str:
    """A day, in full, in the page's locale; datetimes are first put in ``zone``."""
    from babel.dates import format_date
    from flask_babel import get_locale

    if isinstance(value, datetime) and zone:
        value = value.astimezone(ZoneInfo(zone))
    return format_date(value, format="full", locale=get_locale() or "en")


# --- helpers --------------------------------------------------------------------------------------------------


def _visible_event(slug: str) -> Event:
    """A published event, or a draft for its own team."""
    event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
    if event is None or not (event.is_public or user_has_role(current_user, event, Role.DOOR)):
        abort(404)
    return event


def _published(event: Event) -> services.PublishedAgenda | None:
    version = services.latest_version(event.id)
    return services.published_agenda(version) if version is not None else None


def _session_of(event: Event, session_id: int) -> Session:
    session = db.session.get(Session, session_id)
    if session is None or session.event_id != event.id or session.deleted_at is not None:
        abort(404)
    return session


def _room_of(event: Event, room_id: int) -> Room:
    room = db.session.get(Room, room_id)
    if room is None or room.event_id != event.id:
        abort(404)
    return room


def _display_zone(event: Event) -> tuple[str, bool]:
    """The zone the page shows times in: ``?zone=`` (an IANA name, or "event"), else the event's."""
    asked = request.args.get("zone", "")
    if asked and asked != "event" and is_valid_timezone(asked):
        return asked, True
    return event.timezone, asked == "event"


def _calendar_response(body: bytes, etag: str, last_modified: datetime, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.set_etag(etag)
    response.last_modified = last_modified
    response.headers["Cache-Control"] = "private, no-cache" if filename.startswith("my-") else "public, no-cache"
    return response.make_conditional(request)


def _not_modified(etag: str, last_modified: datetime) -> Response | None:
    """A 304 before any rendering when the client already has this version."""
    if request.if_none_match:
        fresh = request.if_none_match.contains(etag)
    else:
        since = request.if_modified_since
        fresh = since is not None and since >= last_modified.replace(microsecond=0)
    if not fresh:
        return None
    response = Response(status=304)
    response.set_etag(etag)
    response.last_modified = last_modified
    return response


# --- the organizer's builder ----------------------------------------------------------------------------------


def _session_json(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "title": session.title,
        "kind": session.kind.value,
        "kind_label": session.kind.label,
        "format": session.format.value,
        "format_label": session.format.label,
        "starts_at": session.starts_at.isoformat() if session.starts_at else None,
        "ends_at": session.ends_at.isoformat() if session.ends_at else None,
        "room_id": session.room_id,
        "plenary": session.plenary,
        "is_public": session.is_public,
        "speakers": [link.person.name for link in session.speakers],
        "edit_url": url_for("agenda.session_edit", slug=session.event.slug, session_id=session.id),
    }


@bp.get("/manage/events/<slug>/agenda")
@event_role_required(Role.ORGANIZER)
def builder(event: Event) -> str:
    """The agenda builder: the grid (with JavaScript), the list of sessions with their forms, the warnings."""
    sessions = services.sessions_of(event)
    rooms = services.rooms_of(event)
    warnings = services.agenda_warnings(event, sessions, rooms)
    warned = defaultdict(list)
    for warning in warnings:
        for session_id in warning.session_ids:
            warned[session_id].append(warning)
    data = {
        "event": {
            "timezone": event.timezone,
            "starts_at": event.starts_at.isoformat(),
            "ends_at": event.ends_at.isoformat(),
        },
        "rooms": [{"id": r.id, "name": r.name, "capacity": r.capacity} for r in rooms],
        "sessions": [_session_json(s) for s in sessions],
        "warnings": [w.as_json() for w in warnings],
        "save_url": url_for("agenda.api_schedule", slug=event.slug, session_id=0),
        "snap_minutes": services.SNAP_MINUTES,
        "labels": {
            "unscheduled": _("Unscheduled"),
            "all_rooms": _("All rooms"),
            "saving": _("Saving…"),
            "saved": _("Saved."),
            "save_failed": _("Not saved: %(error)s. The session is back where it was."),
            "no_warnings": _("No conflicts."),
            "day": _("Day"),
            "rooms_shown": _("Rooms shown"),
            "drop_here": _("Drop a session here to unschedule it."),
        },
    }
    version = services.latest_version(event.id)
    return render_template(
        "agenda/builder.html",
        event=event,
        sessions=sessions,
        rooms=rooms,
        warnings=warnings,
        warned=warned,
        version=version,
        data=data,
    )


def _speaker_lines(session: Session) -> str:
    lines = []
    for link in session.speakers:
        ident = link.person.email or f"id:{link.person.id}"
        lines.append(f"{ident}, {link.role.value}")
    return "\n".join(lines)


def _parse_speakers(form: SessionForm, event: Event) -> list[tuple[Person, SpeakerRole]] | None:
    """The speakers textarea as (person, role) pairs; errors go on the field and give None."""
    pairs: list[tuple[Person, SpeakerRole]] = []
    problems: list[str] = []
    for number, raw in enumerate((form.speakers.data or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        ident, _sep, role_text = line.partition(",")
        ident, role_text = ident.strip().lower(), role_text.strip().lower() or "speaker"
        try:
            role = SpeakerRole(role_text)
        except ValueError:
            problems.append(_("Line %(number)d: unknown role “%(role)s”.", number=number, role=role_text[:40]))
            continue
        person = None
        if ident.startswith("id:") and ident[3:].isdigit():
            person = db.session.get(Person, int(ident[3:]))
        elif "@" in ident:
            person = db.session.scalar(sa.select(Person).where(Person.email == ident))
        if person is None:
            problems.append(
                _("Line %(number)d: no person with this email. Add them as a speaker first.", number=number)
            )
            continue
        pairs.append((person, role))
    if problems:
        form.speakers.errors = [*form.speakers.errors, *problems]
        return None
    return pairs


def _session_data(form: SessionForm, event: Event) -> services.SessionData | None:
    times: dict[str, datetime | None] = {}
    for name in ("starts_at", "ends_at"):
        field = getattr(form, name)
        if field.data is None:
            times[name] = None
            continue
        try:
            times[name] = local_to_utc(field.data, event.timezone)
        except NonexistentLocalTime:
            message = _("This time does not exist in the event's zone (a daylight-saving change).")
            field.errors = [*field.errors, message]
            return None
    speakers = _parse_speakers(form, event)
    if speakers is None:
        return None
    return services.SessionData(
        title=form.title.data,
        kind=SessionKind(form.kind.data),
        format=SessionFormat(form.format.data),
        description=form.description.data,
        starts_at=times["starts_at"],
        ends_at=times["ends_at"],
        room_id=int(form.room_id.data) if form.room_id.data else None,
        plenary=form.plenary.data,
        is_public=form.is_public.data,
        stream_url=form.stream_url.data,
        speakers=speakers,
    )


def _session_form(event: Event, session: Session | None) -> str | Response | tuple[str, int]:
    form = SessionForm()
    form.set_rooms(services.rooms_of(event))
    if session is not None and not form.is_submitted():
        form.title.data = session.title
        form.kind.data = session.kind.value
        form.format.data = session.format.value
        form.description.data = session.description
        form.starts_at.data = utc_to_local(session.starts_at, event.timezone) if session.starts_at else None
        form.ends_at.data = utc_to_local(session.ends_at, event.timezone) if session.ends_at else None
        form.room_id.data = str(session.room_id) if session.room_id else ""
        form.plenary.data = session.plenary
        form.is_public.data = session.is_public
        form.stream_url.data = session.stream_url
        form.speakers.data = _speaker_lines(session)
    if form.validate_on_submit():
        data = _session_data(form, event)
        if data is not None:
            with commit_or_refuse(form) as outcome:
                if session is None:
                    session = services.create_session(event, data)
                else:
                    services.update_session(session, data)
            if outcome.ok:
                flash(_("Session saved."), "success")
                return redirect(url_for("agenda.builder", slug=event.slug) + f"#session-{session.id}")
    status = 400 if form.is_submitted() else 200
    return render_template("agenda/session_form.html", event=event, session=session, form=form), status


@bp.route("/manage/events/<slug>/agenda/sessions/new", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def session_new(event: Event) -> str | Response | tuple[str, int]:
    """Add a session (scheduled or not)."""
    return _session_form(event, None)


@bp.route("/manage/events/<slug>/agenda/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def session_edit(event: Event, session_id: int) -> str | Response | tuple[str, int]:
    """Edit a session: the plain-form way to set its start, end and room by keyboard, without JavaScript."""
    return _session_form(event, _session_of(event, session_id))


@bp.route("/manage/events/<slug>/agenda/sessions/<int:session_id>/delete", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def session_delete(event: Event, session_id: int) -> str | Response | tuple[str, int]:
    """Delete a session, after a confirmation page saying what happens to the public agenda, stars and MOUs."""
    session = _session_of(event, session_id)
    form = ConfirmDeleteForm()
    if form.validate_on_submit():
        title = session.title
        gone = services.delete_session(session)
        db.session.commit()
        if gone:
            flash(_("“%(title)s” is deleted.", title=title), "success")
        else:
            flash(
                _("“%(title)s” is deleted from the draft. It leaves the public agenda when you publish.", title=title),
                "success",
            )
        return redirect(url_for("agenda.builder", slug=event.slug))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "agenda/session_delete.html",
        event=event,
        session=session,
        impact=services.deletion_impact(session),
        form=ConfirmDeleteForm(formdata=None),
    ), status


@bp.route("/manage/events/<slug>/agenda/rooms", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def rooms(event: Event) -> str | Response | tuple[str, int]:
    """The event's rooms, and a form to add one."""
    form = RoomForm()
    if form.validate_on_submit():
        with commit_or_refuse(form) as outcome:
            services.create_room(event, form.name.data, form.capacity.data)
        if outcome.ok:
            flash(_("Room added."), "success")
            return redirect(url_for("agenda.rooms", slug=event.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("agenda/rooms.html", event=event, rooms=services.rooms_of(event), form=form), status


def _render_room(event: Event, room: Room, form: RoomForm, status: int = 200, error: str | None = None):  # type: ignore[no-untyped-def]
    return render_template(
        "agenda/room_form.html",
        event=event,
        room=room,
        form=form,
        delete_form=ConfirmDeleteForm(formdata=None),
        using=services.sessions_in_room(room),
        error=error,
    ), status


@bp.route("/manage/events/<slug>/agenda/rooms/<int:room_id>/edit", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def room_edit(event: Event, room_id: int) -> str | Response | tuple[str, int]:
    """Rename a room or change its seats; and the button to delete it while no session uses it."""
    room = _room_of(event, room_id)
    form = RoomForm()
    if not form.is_submitted():
        form.name.data, form.capacity.data = room.name, room.capacity
    if form.validate_on_submit():
        with commit_or_refuse(form) as outcome:
            services.update_room(room, form.name.data, form.capacity.data)
        if outcome.ok:
            flash(_("Room saved."), "success")
            return redirect(url_for("agenda.rooms", slug=event.slug))
    return _render_room(event, room, form, 400 if form.is_submitted() else 200)


@bp.post("/manage/events/<slug>/agenda/rooms/<int:room_id>/delete")
@event_role_required(Role.ORGANIZER)
def room_delete(event: Event, room_id: int) -> Response | tuple[str, int]:
    """Delete a room that no session uses (refused with the sessions named otherwise)."""
    room = _room_of(event, room_id)
    form = ConfirmDeleteForm()
    if not form.validate_on_submit():
        abort(400)
    name = room.name
    try:
        services.delete_room(room)
    except DomainError as error:
        db.session.rollback()
        room_form = RoomForm(formdata=None, name=room.name, capacity=room.capacity)
        return _render_room(event, room, room_form, 409, error.message)
    db.session.commit()
    flash(_("Room “%(name)s” is deleted.", name=name), "success")
    return redirect(url_for("agenda.rooms", slug=event.slug))


def _event_speakers(event: Event) -> list[Person]:
    return list(
        db.session.scalars(
            sa.select(Person)
            .join(SessionSpeaker, SessionSpeaker.person_id == Person.id)
            .join(Session, Session.id == SessionSpeaker.session_id)
            .where(Session.event_id == event.id, Session.deleted_at.is_(None))
            .distinct()
            .order_by(Person.name)
        )
    )


@bp.get("/manage/events/<slug>/agenda/speakers")
@event_role_required(Role.ORGANIZER)
def speakers(event: Event) -> str:
    """The people on this event's sessions."""
    return render_template("agenda/speakers.html", event=event, people=_event_speakers(event))


def _speaker_form(event: Event, person: Person | None) -> str | Response | tuple[str, int]:
    form = SpeakerForm()
    if person is not None and not form.is_submitted():
        form.name.data = person.name
        form.email.data = person.email
        form.title.data = person.title
        form.organization.data = person.organization.name if person.organization else None
        form.bio.data = person.bio
    if form.validate_on_submit():
        data = services.SpeakerData(
            name=form.name.data,
            email=form.email.data,
            title=form.title.data,
            organization=form.organization.data,
            bio=form.bio.data,
        )
        upload = form.photo.data
        with commit_or_refuse(form) as outcome:
            saved = services.save_speaker(data, person)
            if upload is not None and getattr(upload, "filename", ""):
                services.store_speaker_photo(saved, upload.read(services.PHOTO_MAX_BYTES + 1))
        if outcome.ok:
            flash(_("Speaker saved. Add them to a session with their email."), "success")
            return redirect(url_for("agenda.speakers", slug=event.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("agenda/speaker_form.html", event=event, person=person, form=form), status


@bp.route("/manage/events/<slug>/agenda/speakers/new", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def speaker_new(event: Event) -> str | Response | tuple[str, int]:
    """Add a speaker (or find the person with that email), with an optional photo."""
    return _speaker_form(event, None)


@bp.route("/manage/events/<slug>/agenda/speakers/<int:person_id>/edit", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def speaker_edit(event: Event, person_id: int) -> str | Response | tuple[str, int]:
    """Edit a speaker of this event: name, title, organization, biography and photo."""
    person = db.session.get(Person, person_id)
    on_event = db.session.scalar(
        sa.select(SessionSpeaker.id)
        .join(Session, Session.id == SessionSpeaker.session_id)
        .where(SessionSpeaker.person_id == person_id, Session.event_id == event.id, Session.deleted_at.is_(None))
        .limit(1)
    )
    if person is None or on_event is None:
        abort(404)
    return _speaker_form(event, person)


@bp.route("/manage/events/<slug>/agenda/publish", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def publish(event: Event) -> str | Response | tuple[str, int]:
    """Review what changed since the last version, then publish the draft as the next version."""
    sessions = services.sessions_of(event)
    rooms = services.rooms_of(event)
    form = PublishForm()
    status, error_message = 200, None
    if form.validate_on_submit():
        try:
            version = services.publish_agenda(event, current_user, form.digest.data)
        except DomainError as error:
            db.session.rollback()
            status, error_message = 409, error.message
            sessions, rooms = services.sessions_of(event), services.rooms_of(event)
        else:
            db.session.commit()
            flash(_("Version %(number)d of the agenda is published.", number=version.number), "success")
            return redirect(url_for("agenda.builder", slug=event.slug))
    elif form.is_submitted():
        abort(400)
    latest = services.latest_version(event.id)
    draft = services.build_snapshot(event, sessions, rooms)
    changes = services.diff_snapshots(latest.snapshot if latest else None, draft)
    form.digest.data = services.draft_digest(event, sessions, rooms)
    return render_template(
        "agenda/publish.html",
        event=event,
        form=form,
        latest=latest,
        changes=changes,
        rooms={room.id: room.name for room in rooms},
        warnings=services.agenda_warnings(event, sessions, rooms),
        published_count=len(draft["sessions"]),
        rooms_changed=latest is not None and latest.snapshot.get("rooms") != draft["rooms"],
        error=error_message,
    ), status


# --- the public agenda ----------------------------------------------------------------------------------------


def _days(agenda: services.PublishedAgenda, zone: str) -> list[dict[str, Any]]:
    """Sessions by day (in ``zone``), then by start time, with one cell per room (plenaries span them all)."""
    tz = ZoneInfo(zone)
    by_day: dict[Any, dict[datetime, list[services.PublishedSession]]] = defaultdict(lambda: defaultdict(list))
    for session in agenda.sessions:
        local = session.starts_at.astimezone(tz)
        by_day[local.date()][session.starts_at].append(session)
    days = []
    for day in sorted(by_day):
        rows = []
        for start in sorted(by_day[day]):
            group = by_day[day][start]
            plenary = [s for s in group if s.plenary or s.room is None]
            cells = {s.room["id"]: s for s in group if not s.plenary and s.room is not None}
            rows.append({"start": start, "plenary": plenary, "cells": cells})
        days.append({"date": day, "rows": rows})
    return days


def _public_grid(event: Event, agenda: services.PublishedAgenda, zone: str) -> Markup:
    """The public agenda's tables, rendered once per version, zone and language (see ``_rendered``)."""

    def build() -> Markup:
        # Safe: the fragment comes from an autoescaping Jinja template.
        return Markup(  # noqa: S704
            render_template(
                "agenda/_grid.html",
                event=event,
                agenda=agenda,
                days=_days(agenda, zone),
                zone=zone,
                rooms_by_id={room["id"]: room["name"] for room in agenda.rooms},
            )
        )

    return _rendered(("grid", *_version_key(event, agenda.version), zone, _locale()), build)


def _zone_choices() -> list[str]:
    from eventsys.events.forms import timezone_choices

    return [choice.value for choice in timezone_choices()]


@bp.get("/events/<slug>/agenda")
@public
def show(slug: str) -> str:
    """The published agenda by day and room, in the event's zone or the viewer's (``?zone=``)."""
    event = _visible_event(slug)
    agenda = _published(event)
    zone, chosen = _display_zone(event)
    changes: list[dict[str, Any]] = []
    since = None
    if agenda is not None:
        changes = agenda.version.changes
        since = agenda.version.number - 1
        asked = request.args.get("since", "")
        if asked.isdigit() and 1 <= int(asked) < agenda.version.number:
            older = services.version_numbered(event.id, int(asked))
            if older is not None:
                since = older.number
                changes = services.diff_snapshots(older.snapshot, agenda.version.snapshot)
    return render_template(
        "agenda/show.html",
        event=event,
        agenda=agenda,
        grid=_public_grid(event, agenda, zone) if agenda else "",
        zone=zone,
        zone_chosen=chosen,
        zone_label=zone_label,
        zones=_zone_choices(),
        changes=changes,
        since=since,
        rooms_by_id={room["id"]: room["name"] for room in agenda.rooms} if agenda else {},
    )


@bp.get("/events/<slug>/agenda/sessions/<int:session_id>")
@public
def session(slug: str, session_id: int) -> str:
    """One published session: time, room, format, speakers, description, and its calendar file."""
    event = _visible_event(slug)
    agenda = _published(event)
    found = agenda.session(session_id) if agenda else None
    if found is None:
        abort(404)
    zone, _chosen = _display_zone(event)
    return render_template("agenda/session.html", event=event, agenda=agenda, session=found, zone=zone)


@bp.get("/events/<slug>/agenda.ics")
@public
def ics(slug: str) -> Response:
    """The whole public agenda as an iCalendar feed (no join links, ever)."""
    event = _visible_event(slug)
    version = services.latest_version(event.id)
    if version is None:
        abort(404)
    etag = calendar.etag_for("agenda", event.id, version.id, event.updated_at.isoformat(), _locale())
    cached = _not_modified(etag, version.published_at)
    if cached is not None:
        return cached
    body = _rendered(
        ("ics", *_version_key(event, version), _locale(), calendar.base_url()),
        lambda: calendar.agenda_calendar(event, services.published_agenda(version)),
    )
    return _calendar_response(body, etag, version.published_at, f"{event.slug}-agenda.ics")


@bp.get("/events/<slug>/agenda/sessions/<int:session_id>.ics")
@public
def session_ics(slug: str, session_id: int) -> Response:
    """One published session as an .ics file."""
    event = _visible_event(slug)
    version = services.latest_version(event.id)
    agenda = services.published_agenda(version) if version else None
    found = agenda.session(session_id) if agenda else None
    if found is None or agenda is None:
        abort(404)
    etag = calendar.etag_for("session", session_id, version.id, event.updated_at.isoformat(), _locale())  # type: ignore[union-attr]
    body = calendar.agenda_calendar(event, agenda, [found], name=found.title)
    return _calendar_response(body, etag, agenda.version.published_at, f"session-{session_id}.ics")


def _programme_size() -> str:
    """``?size=a4`` (the default) or ``a5``; anything else is a 400."""
    size = request.args.get("size", "a4").strip().lower()
    if size not in programme.SIZES:
        abort(400)
    return size


def _pdf_response(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/events/<slug>/programme.pdf")
@public
def programme_pdf(slug: str) -> Response | tuple[str, int]:
    """The published agenda as a printable programme, A4 or A5 (``?size=a5``); cached per version, with 304s."""
    event = _visible_event(slug)
    size = _programme_size()
    version = services.latest_version(event.id)
    if version is None:
        return render_template("agenda/programme_unavailable.html", event=event), 404
    last_modified = max(version.published_at, event.updated_at)
    etag = calendar.etag_for("programme", event.id, version.id, event.updated_at.isoformat(), size, _locale())
    cached = _not_modified(etag, last_modified)
    if cached is not None:
        return cached
    body = _rendered(
        ("programme", *_version_key(event, version), size, _locale()),
        lambda: programme.render_programme(event, services.published_agenda(version), size),
    )
    response = _pdf_response(body, f"{event.slug}-programme-{size}.pdf")
    response.set_etag(etag)
    response.last_modified = last_modified
    response.headers["Cache-Control"] = "public, no-cache"
    return response.make_conditional(request)


@bp.get("/manage/events/<slug>/agenda/programme.pdf")
@event_role_required(Role.ORGANIZER)
def programme_preview(event: Event) -> Response:
    """The draft agenda as the printed programme would show it once published (organizers only, never cached)."""
    size = _programme_size()
    body = programme.render_programme(event, services.draft_agenda(event), size, draft=True)
    response = _pdf_response(body, f"{event.slug}-programme-draft-{size}.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "en")


@bp.get("/events/<slug>/speakers/<int:person_id>")
@public
def speaker(slug: str, person_id: int) -> str:
    """A speaker's page: who they are and their sessions on the published agenda."""
    event = _visible_event(slug)
    agenda = _published(event)
    person = agenda.people.get(person_id) if agenda else None
    if person is None or agenda is None:
        abort(404)
    zone, _chosen = _display_zone(event)
    return render_template(
        "agenda/speaker.html", event=event, person=person, sessions=agenda.sessions_of_person(person_id), zone=zone
    )


@bp.get("/speakers/photos/<name>")
@public
def speaker_photo(name: str) -> Response:
    """A speaker's photo, as stored (re-encoded JPEG under a random name)."""
    if not services.is_photo_name(name):
        abort(404)
    response = send_from_directory(services.photo_folder(), name, mimetype="image/jpeg", max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- the attendee's personal agenda ---------------------------------------------------------------------------


def _registration(token: str):  # type: ignore[no-untyped-def]
    registration = registration_services.find_registration_by_manage_token(token)
    if registration is None:
        abort(404)
    return registration


def _webcal(url: str) -> str:
    return "webcal://" + url.split("://", 1)[1]


def _render_personal(registration, *, status: int = 200, error: str | None = None):  # type: ignore[no-untyped-def]
    event = registration.event
    agenda = _published(event)
    zone, _chosen = _display_zone(event)
    feed = services.feed_of(registration)
    feed_url = None
    if feed is not None:
        feed_url = calendar.base_url() + url_for("agenda.personal_feed", token=feed.token)
    feed_form = FeedForm(formdata=None, scope=feed.scope.value if feed else "starred")
    page = render_template(
        "agenda/personal.html",
        event=event,
        registration=registration,
        agenda=agenda,
        days=_days(agenda, zone) if agenda else [],
        zone=zone,
        starred=services.starred_session_ids(registration),
        star_form=StarForm(formdata=None),
        feed=feed,
        feed_url=feed_url,
        webcal_url=_webcal(feed_url) if feed_url else None,
        feed_form=feed_form,
        renew_form=RenewFeedForm(formdata=None),
        active=registration.status in services.ACTIVE_STATUSES,
        error=error,
        rooms_by_id={room["id"]: room["name"] for room in agenda.rooms} if agenda else {},
    )
    return page, status


@bp.get("/r/<token>/agenda")
@personal_link
def personal(token: str) -> tuple[str, int]:
    """The attendee's personal agenda: star sessions, and subscribe to a private calendar feed."""
    return _render_personal(_registration(token))


@bp.post("/r/<token>/agenda/star")
@personal_link
def star(token: str) -> Response | tuple[str, int]:
    """Star or unstar one session."""
    registration = _registration(token)
    form = StarForm()
    if not form.validate_on_submit():
        return _render_personal(registration, status=400, error=_("Choose a session of the agenda."))
    try:
        services.star_session(registration, form.session_id.data, form.starred.data == "1")
    except DomainError as error:
        db.session.rollback()
        return _render_personal(registration, status=error.status, error=error.message)
    db.session.commit()
    return redirect(url_for("agenda.personal", token=token) + f"#session-{form.session_id.data}")


@bp.post("/r/<token>/agenda/feed")
@personal_link
def feed(token: str) -> Response | tuple[str, int]:
    """Create the private calendar feed, or choose what it holds."""
    registration = _registration(token)
    form = FeedForm()
    if not form.validate_on_submit():
        return _render_personal(registration, status=400, error=_("Choose what your calendar feed holds."))
    try:
        services.set_feed(registration, FeedScope(form.scope.data))
    except DomainError as error:
        db.session.rollback()
        return _render_personal(registration, status=error.status, error=error.message)
    db.session.commit()
    flash(_("Your calendar feed is ready."), "success")
    return redirect(url_for("agenda.personal", token=token) + "#feed")


@bp.post("/r/<token>/agenda/feed/renew")
@personal_link
def feed_renew(token: str) -> Response | tuple[str, int]:
    """Give the feed a new address; the old one stops working."""
    registration = _registration(token)
    form = RenewFeedForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.renew_feed(registration)
    except DomainError as error:
        db.session.rollback()
        return _render_personal(registration, status=error.status, error=error.message)
    db.session.commit()
    flash(_("Your calendar feed has a new address. The old one no longer works."), "success")
    return redirect(url_for("agenda.personal", token=token) + "#feed")


@bp.get("/agenda/feed/<token>.ics")
@personal_link
def personal_feed(token: str) -> Response:
    """The attendee's private feed: starred sessions or the whole agenda; with join links for online attendees."""
    found = services.find_feed(token)
    if found is None:
        abort(404)
    registration = found.registration
    event = registration.event
    version = services.latest_version(event.id)
    if version is None:
        abort(404)
    starred = sorted(services.starred_session_ids(registration)) if found.scope is FeedScope.STARRED else []
    online = services.may_join_online(registration)
    etag = calendar.etag_for(
        "feed", found.token, found.scope.value, version.id, starred, online, event.updated_at.isoformat(), _locale()
    )
    cached = _not_modified(etag, version.published_at)
    if cached is not None:
        return cached
    agenda = services.published_agenda(version)
    chosen = agenda.sessions if found.scope is FeedScope.ALL else [s for s in agenda.sessions if s.id in set(starred)]
    body = calendar.agenda_calendar(
        event,
        agenda,
        chosen,
        registration=registration if online and registration.join_token else None,
        name=_("%(event)s: my agenda", event=event.name),
    )
    response = _calendar_response(body, etag, version.published_at, f"my-{event.slug}-agenda.ics")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/join/<token>/sessions/<int:session_id>")
@personal_link
def session_join(token: str, session_id: int) -> Response | tuple[str, int]:
    """A registered online attendee joins one session: the join is recorded, then the session's stream opens."""
    registration = registration_services.find_registration_by_join_token(token)
    if registration is None:
        abort(404)
    session = db.session.get(Session, session_id)
    if session is None or session.event_id != registration.event_id or not session.format.has_online:
        abort(404)
    if services.is_retired(session):
        abort(404)
    return join_and_redirect(registration, session.stream_url)


from eventsys.agenda import api  # noqa: E402,F401  (the builder's JSON endpoint, on this blueprint)
