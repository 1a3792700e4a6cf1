"""Registration pages: the public form, the invitation path, self-service, join links and the organizer's list.

The views are thin: every decision (capacity, waiting list, moderation, what may change when) is taken by
``eventsys.registration.services``; a view turns form input into service calls, commits once, and shows the
outcome. Attendees have no account: their personal links (``/r/<manage token>``, ``/join/<join token>``,
``/i/<invitation token>/register``) are their key, and a wrong token is a plain 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from eventsys.accounts.models import Role
from eventsys.common import ical
from eventsys.common.access import event_role_required, personal_link, public
from eventsys.common.db import late_write_lock
from eventsys.common.errors import DomainError
from eventsys.common.forms import attach_domain_error, commit_or_refuse
from eventsys.common.tokens import find_by_token
from eventsys.events import services as event_services
from eventsys.events.models import Category, Event
from eventsys.extensions import db
from eventsys.invitations.models import Invitation
from eventsys.registration import export, notifications, services
from eventsys.registration.forms import (
    LANGUAGE_CHOICES,
    CancelForm,
    DetailsForm,
    FilterForm,
    OfferForm,
    OrganizerActionForm,
    RegistrationForm,
    SettingsForm,
    SwitchModeForm,
    quota_field_name,
)
from eventsys.registration.models import CategoryQuota, Mode, Registration, RegistrationStatus

bp = Blueprint("registration", __name__)

#: Refusals that concern the whole form rather than one answer: shown on their own page, with a 403.
_REFUSED_CODES = ("registration_closed", "invitation_required")


# --- helpers --------------------------------------------------------------------------------------------------


def _ui_language() -> str:
    code = str(get_locale() or "en")[:2]
    return code if code in {choice.value for choice in LANGUAGE_CHOICES} else "en"


def in_person_full(counts: services.SeatCounts, category: Category | None = None) -> bool:
    """Whether a newcomer (of ``category``) would find no in-person seat now, so the page can say so upfront.

    Mirrors the service's seat model for display only (a category with a quota sits within it; everyone else
    shares what the quotas leave); the service decides again, under the event's lock, on submit.
    """
    if counts.capacity is None:
        return False
    held = counts.in_person_confirmed + counts.in_person_offered
    if held >= counts.capacity:
        return True
    quotas = {cat: (seats, quota) for cat, (seats, quota) in counts.by_category.items() if quota is not None}
    if category in quotas:
        seats, quota = quotas[category]
        return seats >= quota
    kept = sum(quota for _seats, quota in quotas.values())
    shared_held = held - sum(seats for seats, _quota in quotas.values())
    return shared_held >= counts.capacity - kept


def _registrant_data(
    form: RegistrationForm | DetailsForm, *, email: str, mode: Mode, consent: bool, needs: bool
) -> services.RegistrantData:
    """The service's input; dietary and accessibility needs only where they matter (in person)."""
    return services.RegistrantData(
        name=form.name.data,
        email=email,
        organization=form.organization.data,
        title=form.title.data,
        mode=mode,
        dietary_needs=form.dietary_needs.data if needs else None,
        accessibility_needs=form.accessibility_needs.data if needs else None,
        consent=consent,
        language=form.language.data,
    )


def _manage_registration(token: str) -> Registration:
    registration = services.find_registration_by_manage_token(token)
    if registration is None:
        abort(404)
    return registration


# --- public registration --------------------------------------------------------------------------------------


@bp.get("/privacy")
@public
def privacy() -> str:
    """The privacy notice registrants agree to."""
    return render_template("registration/privacy.html")


@bp.route("/events/<slug>/register", methods=["GET", "POST"])
@public
@late_write_lock
def register(slug: str) -> str | Response | tuple[str, int]:
    """The public registration form of a published event."""
    event = event_services.get_public_event(slug)
    if event is None:
        abort(404)
    if event.invitation_only:
        return _refused(event, "invitation_required")
    return _registration_form(event, invitation=None)


@bp.route("/i/<token>/register", methods=["GET", "POST"])
@personal_link
@late_write_lock
def register_invited(token: str) -> str | Response | tuple[str, int]:
    """The registration form reached from an invitation: prefilled, and the only way into invitation-only events."""
    invitation = find_by_token(Invitation, Invitation.token, token)
    if invitation is None:
        abort(404)
    existing = db.session.scalar(
        db.select(Registration).where(
            Registration.event_id == invitation.event_id,
            Registration.person_id == invitation.person_id,
            Registration.status.not_in([RegistrationStatus.CANCELLED, RegistrationStatus.REJECTED]),
        )
    )
    if existing is not None:
        flash(_("You are already registered. This is your registration."), "info")
        return redirect(url_for("registration.manage", token=existing.manage_token))
    return _registration_form(invitation.event, invitation=invitation)


def _refused(event: Event, code: str, message: str | None = None) -> tuple[str, int]:
    status = 403 if request.method == "POST" or code == "invitation_required" else 200
    return render_template("registration/unavailable.html", event=event, code=code, message=message), status


def _registration_form(event: Event, invitation: Invitation | None) -> str | Response | tuple[str, int]:
    if not event.registration_is_open():
        return _refused(event, "registration_closed")
    person = invitation.person if invitation is not None else None
    form = RegistrationForm(event)
    if person is not None:
        del form.email  # the invitation says who registers
        if not form.is_submitted():
            form.name.data = person.name
            form.title.data = person.title
            form.organization.data = person.organization.name if person.organization else None
            form.language.data = invitation.language if invitation else _ui_language()
    elif not form.is_submitted():
        form.language.data = _ui_language()

    if form.validate_on_submit():
        email = person.email if person is not None else form.email.data
        mode = Mode(form.mode.data)
        data = _registrant_data(
            form, email=email or "", mode=mode, consent=form.consent.data, needs=mode is Mode.IN_PERSON
        )
        try:
            registration = services.register_attendee(
                event, data, invitation=invitation, when_full=form.when_full.data or "waitlist"
            )
        except DomainError as error:
            db.session.rollback()
            if error.code in _REFUSED_CODES:
                return _refused(event, error.code, error.message)
            if error.code == "already_registered" and services.resend_manage_link(event, data.email) is not None:
                db.session.commit()
                error.message = _(
                    "This email address is already registered for this event. "
                    "We have sent the link to manage the registration to that address."
                )
            attach_domain_error(form, error)
        else:
            token = registration.manage_token
            db.session.commit()
            return redirect(url_for("registration.registered", token=token))
    status = 400 if form.is_submitted() else 200
    # Seat availability is only shown, never decided, here: the service counts again under the event lock.
    counts = services.seat_counts(event)
    full = in_person_full(counts, invitation.category if invitation is not None else None)
    page = render_template(
        "registration/register.html", event=event, form=form, counts=counts, full=full, invitation=invitation
    )
    return page, status


@bp.get("/r/<token>/registered")
@personal_link
def registered(token: str) -> str:
    """What just happened, in plain words, with the personal link to come back."""
    registration = _manage_registration(token)
    return render_template("registration/registered.html", registration=registration, event=registration.event)


# --- self-service ---------------------------------------------------------------------------------------------


@bp.get("/r/<token>")
@personal_link
def manage(token: str) -> str:
    """The attendee's own page: status, details and what they can change."""
    return _render_manage(_manage_registration(token))


def switch_options(registration: Registration) -> list[str]:
    """The switches the manage page offers in the registration's state (the service checks them again)."""
    event, status, mode = registration.event, registration.status, registration.mode
    S = RegistrationStatus
    other = Mode.ONLINE if mode is Mode.IN_PERSON else Mode.IN_PERSON
    offered = event.format.has_venue if other is Mode.IN_PERSON else event.format.has_online
    if status is S.PENDING:
        return [other.value] if offered else []
    if status is S.WAITLISTED:
        return ["online_meanwhile", "online"] if event.format.has_online else []
    if status in (S.CONFIRMED, S.OFFERED) and (mode is Mode.IN_PERSON or registration.online_meanwhile):
        return ["online"] if event.format.has_online else []
    if status is S.CONFIRMED and mode is Mode.ONLINE:
        return ["in_person"] if event.format.has_venue else []
    return []


def _render_manage(
    registration: Registration,
    *,
    error: str | None = None,
    status: int = 200,
    switch_form: SwitchModeForm | None = None,
) -> tuple[str, int]:
    event = registration.event
    counts = services.seat_counts(event)
    page = render_template(
        "registration/manage.html",
        registration=registration,
        event=event,
        counts=counts,
        full=in_person_full(counts, registration.category),
        switch_form=switch_form or SwitchModeForm(formdata=None),
        switch_options=switch_options(registration),
        offer_form=OfferForm(formdata=None),
        error=error,
    )
    return page, status


@bp.post("/r/<token>/mode")
@personal_link
def switch_mode(token: str) -> Response | tuple[str, int]:
    """Switch between in person and online, or take an online place while on the waiting list."""
    registration = _manage_registration(token)
    form = SwitchModeForm()
    if not form.validate_on_submit():
        return _render_manage(registration, error=_("Choose how you want to take part."), status=400)
    try:
        if form.mode.data == "online_meanwhile":
            services.wait_online_meanwhile(registration)
        else:
            services.switch_mode(registration, Mode(form.mode.data), when_full=form.when_full.data)
    except DomainError as error:
        db.session.rollback()
        return _render_manage(registration, error=error.message, status=error.status, switch_form=form)
    db.session.commit()
    flash(_("Your participation is changed."), "success")
    return redirect(url_for("registration.manage", token=token))


@bp.route("/r/<token>/details", methods=["GET", "POST"])
@personal_link
def details(token: str) -> str | Response | tuple[str, int]:
    """Update one's name, organization, title, needs and email language."""
    registration = _manage_registration(token)
    person = registration.person
    form = DetailsForm()
    if not form.is_submitted():
        form.name.data = person.name
        form.organization.data = person.organization.name if person.organization else None
        form.title.data = person.title
        form.dietary_needs.data = registration.dietary_needs
        form.accessibility_needs.data = registration.accessibility_needs
        form.language.data = registration.language
    if form.validate_on_submit():
        # The service keeps the needs only for those who (may) attend in person.
        data = _registrant_data(form, email=person.email or "", mode=registration.mode, consent=True, needs=True)
        with commit_or_refuse(form) as outcome:
            services.update_details(registration, data)
        if outcome.ok:
            flash(_("Your details are saved."), "success")
            return redirect(url_for("registration.manage", token=token))
    status = 400 if form.is_submitted() else 200
    page = render_template("registration/details.html", registration=registration, event=registration.event, form=form)
    return page, status


@bp.route("/r/<token>/cancel", methods=["GET", "POST"])
@personal_link
def cancel(token: str) -> str | Response | tuple[str, int]:
    """Ask for confirmation, then cancel the registration."""
    registration = _manage_registration(token)
    form = CancelForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            services.cancel_registration(registration)
        except DomainError as error:
            db.session.rollback()
            return _render_manage(registration, error=error.message, status=error.status)
        db.session.commit()
        flash(_("Your registration is cancelled."), "success")
        return redirect(url_for("registration.manage", token=token))
    if registration.status in (RegistrationStatus.CANCELLED, RegistrationStatus.REJECTED):
        return redirect(url_for("registration.manage", token=token))
    return render_template("registration/cancel.html", registration=registration, event=registration.event, form=form)


@bp.post("/r/<token>/offer")
@personal_link
def answer_offer(token: str) -> Response | tuple[str, int]:
    """Confirm or decline the in-person seat offered from the waiting list."""
    registration = _manage_registration(token)
    form = OfferForm()
    if not form.validate_on_submit():
        abort(400)
    confirming = form.decision.data == "confirm"
    try:
        if confirming:
            services.confirm_offer(registration)
        else:
            services.decline_offer(registration)
    except DomainError as error:
        db.session.rollback()
        return _render_manage(registration, error=error.message, status=error.status)
    db.session.commit()
    flash(_("Your seat is confirmed.") if confirming else _("You declined the seat."), "success")
    return redirect(url_for("registration.manage", token=token))


@bp.get("/r/<token>/calendar.ics")
@personal_link
def calendar(token: str) -> Response:
    """The registration's calendar entry as a download (METHOD:PUBLISH, the same UID as the emails)."""
    registration = _manage_registration(token)
    body = notifications.registration_calendar(registration, method=ical.PUBLISH)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{registration.event.slug}.ics"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- join links -----------------------------------------------------------------------------------------------


@bp.get("/join/<token>")
@personal_link
def join(token: str) -> Response | tuple[str, int]:
    """Record that an online attendee joins, then send them to the event's platform."""
    registration = services.find_registration_by_join_token(token)
    if registration is None:
        abort(404)
    return join_and_redirect(registration)


def join_and_redirect(registration: Registration, stream_url: str | None = None) -> Response | tuple[str, int]:
    """Record the join, then redirect to ``stream_url`` or the event's platform; a clear page when refused."""
    try:
        url = services.record_join(registration)
    except DomainError as error:
        db.session.rollback()
        page = render_template(
            "registration/join_refused.html", registration=registration, event=registration.event, message=error.message
        )
        return page, 409 if error.code == "no_online_url" else 403
    db.session.commit()
    response = redirect(stream_url or url, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- organizer ------------------------------------------------------------------------------------------------


def _filters() -> FilterForm:
    form = FilterForm(request.args)
    form.validate()
    return form


@bp.get("/manage/events/<slug>/registrations")
@event_role_required(Role.ORGANIZER)
def organizer_list(event: Event) -> str:
    """Every registration of the event, searchable and filtered, with the seat counts."""
    filters = _filters()
    registrations = export.filtered_registrations(event, filters)
    return render_template(
        "registration/organizer_list.html",
        event=event,
        filters=filters,
        registrations=registrations,
        counts=services.seat_counts(event),
        action_form=OrganizerActionForm(formdata=None),
        export_args={k: v for k, v in request.args.items() if k in filters.data and v},
    )


@bp.get("/manage/events/<slug>/registrations.csv")
@event_role_required(Role.ORGANIZER)
def organizer_export(event: Event) -> Response:
    """The filtered list as a CSV file that Excel opens correctly (UTF-8 with BOM, formulas neutralized)."""
    registrations = export.filtered_registrations(event, _filters())
    return export.csv_response(event, registrations)


@bp.post("/manage/events/<slug>/registrations/<int:registration_id>/action")
@event_role_required(Role.ORGANIZER)
def organizer_action(event: Event, registration_id: int) -> Response:
    """Approve, reject or cancel one registration."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        abort(404)
    form = OrganizerActionForm()
    if not form.validate_on_submit():
        abort(400)
    name = registration.person.name
    try:
        if form.action.data == "approve":
            services.approve_registration(registration, current_user)
            message = _("%(name)s is approved.", name=name)
        elif form.action.data == "reject":
            services.reject_registration(registration, current_user)
            message = _("%(name)s is rejected.", name=name)
        else:
            services.cancel_registration(registration)
            message = _("The registration of %(name)s is cancelled.", name=name)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(_back_to_list(event))


def _back_to_list(event: Event) -> str:
    target = request.form.get("next", "")
    prefix = url_for("registration.organizer_list", slug=event.slug)
    if target.startswith(prefix) and all(ord(ch) > 0x20 and ch != "\\" for ch in target):
        return target
    return prefix


@bp.route("/manage/events/<slug>/registrations/settings", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def organizer_settings(event: Event) -> str | Response | tuple[str, int]:
    """Capacity, online places, moderation, the offer deadline and the seats kept per category."""
    quotas = {
        quota.category: quota.seats
        for quota in db.session.scalars(db.select(CategoryQuota).where(CategoryQuota.event_id == event.id))
    }
    form = SettingsForm()
    if not form.is_submitted():
        form.capacity.data = event.capacity
        form.online_capacity.data = event.online_capacity
        form.moderation.data = event.moderation
        form.offer_hours.data = event.offer_hours
        for category in Category:
            getattr(form, quota_field_name(category)).data = quotas.get(category)
    if form.validate_on_submit():
        with commit_or_refuse(form) as outcome:
            promoted = _save_settings(event, form, quotas)
        if outcome.ok:
            flash(_("Registration settings saved."), "success")
            if promoted:
                message = ngettext(
                    "%(num)d person on the waiting list was offered a seat.",
                    "%(num)d people on the waiting list were offered a seat.",
                    promoted,
                )
                flash(message, "success")
            return redirect(url_for("registration.organizer_list", slug=event.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("registration/settings.html", event=event, form=form, categories=list(Category)), status


def _save_settings(event: Event, form: SettingsForm, quotas: dict[Category, int]) -> int:
    """Hand each changed setting to the service that owns it; returns how many seats were offered."""
    current = {name: getattr(event, name) for name in event_services.EventData.__dataclass_fields__}
    event_services.update_event(
        event,
        event_services.EventData(
            **{
                **current,
                "moderation": form.moderation.data,
                "offer_hours": form.offer_hours.data,
            }
        ),
    )
    if form.online_capacity.data != event.online_capacity:
        services.set_online_capacity(event, form.online_capacity.data)
    new_quotas = {category: getattr(form, quota_field_name(category)).data for category in Category}
    changed_quotas = {category: seats for category, seats in new_quotas.items() if seats != quotas.get(category)}
    capacity_changed = form.capacity.data != event.capacity
    old, new = event.capacity, form.capacity.data
    raising = capacity_changed and (new is None or (old is not None and new > old))
    promoted: list[Registration] = []
    if capacity_changed and raising:
        promoted += services.set_capacity(event, form.capacity.data)
    for category, seats in changed_quotas.items():
        services.set_category_quota(event, category, seats)
    if capacity_changed and not raising:
        promoted += services.set_capacity(event, form.capacity.data)
    if changed_quotas:
        promoted += services.promote_from_waitlist(event)
    return len({registration.id for registration in promoted})
