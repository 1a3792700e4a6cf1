"""Public event pages and the organizer's event management."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from eventsys.accounts.models import Role
from eventsys.common.access import event_role_required, login_required, public, user_has_role
from eventsys.common.errors import DomainError
from eventsys.common.forms import ActionForm, commit_or_refuse
from eventsys.common.timefmt import NonexistentLocalTime, is_valid_timezone, local_to_utc, utc_to_local
from eventsys.events import services
from eventsys.events.forms import EventForm
from eventsys.events.models import Event, EventFormat, EventKind
from eventsys.extensions import db

bp = Blueprint("events", __name__)

_TIME_FIELDS = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")


@bp.get("/")
@public
def index() -> str:
    """The public list of events."""
    return render_template("events/index.html", events=services.public_events())


@bp.get("/events/<slug>")
@public
def show(slug: str) -> str:
    """An event's public page. Drafts are visible to their team only."""
    event = services.get_public_event(slug)
    if event is None:
        event = db.session.scalar(db.select(Event).where(Event.slug == slug))
        if event is None or not _is_team(event):
            abort(404)
    return render_template("events/show.html", event=event)


def _is_team(event: Event) -> bool:
    return user_has_role(current_user, event, Role.DOOR)


@bp.get("/manage/")
@login_required
def manage_list() -> str:
    """The events the logged-in user works on."""
    from eventsys.checkin import services as checkin_services

    events = services.events_for_user(current_user)
    return render_template(
        "events/manage_list.html",
        events=events,
        may_create=services.may_create_events(current_user),
        # Everyone on this page may scan (door staff, organizers, site admins): a scanner link per event and list.
        scanner_lists=checkin_services.lists_by_event([event.id for event in events]),
    )


def _form_to_data(form: EventForm) -> services.EventData | None:
    """Turn valid form input into EventData, interpreting wall-clock times in the chosen zone."""
    tz_name = form.timezone.data
    if not is_valid_timezone(tz_name or ""):
        form.timezone.errors = [*form.timezone.errors, _("Choose a time zone from the list.")]
        return None
    times = {}
    for name in _TIME_FIELDS:
        field = getattr(form, name)
        if field.data is None:
            times[name] = None
            continue
        try:
            times[name] = local_to_utc(field.data, tz_name)
        except NonexistentLocalTime:
            field.errors = [*field.errors, _("This time does not exist in the chosen zone (a daylight-saving change).")]
            return None
    return services.EventData(
        name=form.name.data,
        slug=form.slug.data,
        kind=EventKind(form.kind.data),
        format=EventFormat(form.format.data),
        timezone=tz_name,
        description=form.description.data,
        venue_name=form.venue_name.data,
        venue_address=form.venue_address.data,
        online_url=form.online_url.data,
        capacity=form.capacity.data if "capacity" in form else None,
        invitation_only=form.invitation_only.data,
        moderation=form.moderation.data,
        online_capacity=form.online_capacity.data if "online_capacity" in form else None,
        offer_hours=form.offer_hours.data or 48,
        **times,
    )


@bp.route("/manage/events/new", methods=["GET", "POST"])
@login_required
def create() -> str | Response | tuple[str, int]:
    """Create a draft event."""
    if not services.may_create_events(current_user):
        abort(403)
    form = EventForm()
    if form.validate_on_submit():
        data = _form_to_data(form)
        if data is not None:
            with commit_or_refuse(form) as outcome:
                event = services.create_event(current_user, data)
            if outcome.ok:
                flash(_("Event created as a draft."), "success")
                return redirect(url_for("events.manage", slug=event.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("events/edit.html", form=form, event=None), status


@bp.get("/manage/events/<slug>/")
@event_role_required(Role.ORGANIZER)
def manage(event: Event) -> str:
    """An event's management overview."""
    return render_template("events/manage.html", event=event, action_form=ActionForm())


@bp.route("/manage/events/<slug>/edit", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def edit(event: Event) -> str | Response | tuple[str, int]:
    """Edit an event's details. Seats are changed in the registration settings, which apply the seat rules."""
    form = EventForm(obj=_FormValues(event))
    del form.capacity
    del form.online_capacity
    if form.validate_on_submit():
        data = _form_to_data(form)
        if data is not None:
            with commit_or_refuse(form) as outcome:
                services.update_event(event, data)
            if outcome.ok:
                flash(_("Event saved."), "success")
                return redirect(url_for("events.manage", slug=event.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("events/edit.html", form=form, event=event), status


class _FormValues:
    """An event's values as the form shows them: times in the event's zone, enums as strings."""

    def __init__(self, event: Event) -> None:
        for name in services.EventData.__dataclass_fields__:
            value = getattr(event, name)
            if name in _TIME_FIELDS and value is not None:
                value = utc_to_local(value, event.timezone)
            elif name in ("kind", "format"):
                value = value.value
            setattr(self, name, value)


@bp.post("/manage/events/<slug>/publish")
@event_role_required(Role.ORGANIZER)
def publish(event: Event) -> Response:
    """Publish (or re-open) an event."""
    return _status_change(event, services.publish_event, _("The event is published."))


@bp.post("/manage/events/<slug>/close")
@event_role_required(Role.ORGANIZER)
def close(event: Event) -> Response:
    """Close an event."""
    return _status_change(event, services.close_event, _("The event is closed."))


def _status_change(event: Event, change, done_message: str) -> Response:  # type: ignore[no-untyped-def]
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        change(event)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(done_message, "success")
    return redirect(url_for("events.manage", slug=event.slug))
