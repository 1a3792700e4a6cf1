"""MOU pages: the organizer's records per event, and the public list of signed public MOUs.

The views are thin: every rule (the status machine, amendments after signing, document checks, who may
see what) is in ``eventsys.mou.services``. A view turns form input into one service call, commits once,
and shows the outcome; a refusal re-renders the page with the message and a 4xx status.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from eventsys.accounts.models import Role
from eventsys.agenda.models import Session as AgendaSession
from eventsys.common.access import event_role_required, public, user_has_role
from eventsys.common.csv import csv_download
from eventsys.common.errors import DomainError
from eventsys.common.forms import attach_domain_error, commit_or_refuse
from eventsys.common.timefmt import format_in_zone
from eventsys.events import services as event_services
from eventsys.events.models import Event, Organization, Person
from eventsys.extensions import db
from eventsys.mou import services
from eventsys.mou.forms import DocumentForm, MouForm, PartyForm, RemoveForm, SignatoryForm, StatusForm, VerifyForm
from eventsys.mou.models import Mou, MouDocument, MouStatus, MouVisibility, SignatoryRole

bp = Blueprint("mou", __name__)

# --- helpers ----------------------------------------------------------------------------------------------


def _mou_or_404(event: Event, mou_id: int) -> Mou:
    mou = services.get_mou(event, mou_id)
    if mou is None:
        abort(404)
    return mou


def ceremony_session(mou: Mou) -> dict[str, Any] | None:
    """The signing-ceremony session's title, time and, for a public session, its agenda page."""
    session = mou.session
    if session is None:
        return None
    url = url_for("agenda.session", slug=mou.event.slug, session_id=session.id) if session.is_public else None
    return {"title": session.title, "url": url, "starts_at": session.starts_at}


def _session_choices(event: Event, keep: int | None = None) -> list[tuple[str, str]]:
    """The event's sessions, without those deleted from the draft (except ``keep``, the MOU's current one)."""
    sessions = db.session.scalars(
        sa.select(AgendaSession)
        .where(
            AgendaSession.event_id == event.id,
            sa.or_(AgendaSession.deleted_at.is_(None), AgendaSession.id == keep),
        )
        .order_by(AgendaSession.starts_at.nulls_last(), AgendaSession.id)
    ).all()
    return [("", _("None"))] + [
        (str(s.id), f"{s.title} · {format_in_zone(s.starts_at, event.timezone, 'short')}" if s.starts_at else s.title)
        for s in sessions
    ]


def _organization_choices() -> list[tuple[int, str]]:
    return [(o.id, o.name) for o in db.session.scalars(sa.select(Organization).order_by(Organization.name))]


def _mou_form(event: Event, mou: Mou | None = None) -> MouForm:
    if mou is not None and request.method == "GET":
        form = MouForm(obj=mou)
        form.session_id.data = str(mou.session_id) if mou.session_id else ""
        form.visibility.data = mou.visibility.value
    else:
        form = MouForm()
    form.session_id.choices = _session_choices(event, keep=mou.session_id if mou else None)
    form.organizations.choices = _organization_choices()
    if mou is not None:  # parties are changed on the MOU's page, one by one
        del form.organizations
    return form


def _form_to_data(form: MouForm) -> services.MouData:
    return services.MouData(
        title=form.title.data,
        summary=form.summary.data,
        place=form.place.data,
        signing_date=form.signing_date.data,
        start_date=form.start_date.data,
        end_date=form.end_date.data,
        visibility=MouVisibility(form.visibility.data),
        internal_notes=form.internal_notes.data,
        session_id=int(form.session_id.data) if form.session_id.data else None,
    )


def _party_form(mou: Mou, **kwargs: Any) -> PartyForm:
    form = PartyForm(prefix="party", **kwargs)
    taken = {p.organization_id for p in mou.parties}
    form.organization_id.choices = [(i, n) for i, n in _organization_choices() if i not in taken]
    return form


def _signatory_form(mou: Mou, **kwargs: Any) -> SignatoryForm:
    form = SignatoryForm(prefix="signatory", **kwargs)
    form.party_id.choices = [(p.id, p.organization.name) for p in mou.parties]
    org_ids = [p.organization_id for p in mou.parties]
    people = db.session.scalars(
        sa.select(Person).where(Person.organization_id.in_(org_ids)).order_by(Person.name)
    ).all()
    form.person_id.choices = [("", _("— no one chosen —"))] + [
        (str(p.id), f"{p.name} ({p.organization.name})" if p.organization else p.name) for p in people
    ]
    return form


def _status_form(**kwargs: Any) -> StatusForm:
    form = StatusForm(prefix="status", **kwargs)
    form.status.choices = [(s.value, s.label) for s in MouStatus]
    return form


def _render_manage(event: Event, mou: Mou, status: int = 200, **forms: Any) -> tuple[str, int]:
    context = {
        "status_form": _status_form(formdata=None),
        "party_form": _party_form(mou, formdata=None),
        "signatory_form": _signatory_form(mou, formdata=None),
        "document_form": DocumentForm(prefix="document", formdata=None),
        "remove_form": RemoveForm(prefix="remove", formdata=None),
    }
    context.update(forms)
    return (
        render_template(
            "mou/manage.html",
            event=event,
            mou=mou,
            transitions=services.allowed_transitions(mou),
            signing_problems=services.signing_problems(mou) if mou.status.value in ("draft", "scheduled") else [],
            unsigned_parties=[p for p in mou.parties if not p.signing_signatories],
            ceremony=ceremony_session(mou),
            max_upload_mb=f"{services.max_upload_bytes() / (1024 * 1024):g}",
            **context,
        ),
        status,
    )


def _done(event: Event, mou: Mou, message: str) -> Response:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("mou.manage", slug=event.slug, mou_id=mou.id))


def _refused(event: Event, mou: Mou, form: Any, error: DomainError, **forms: Any) -> tuple[str, int]:
    db.session.rollback()
    mou = db.session.get(Mou, mou.id) or mou
    attach_domain_error(form, error)
    return _render_manage(event, mou, error.status, **forms)


@bp.app_context_processor
def mou_template_helpers() -> dict[str, Any]:
    """``public_mou_count(event)`` for the event page's link to its signed agreements."""
    return {"public_mou_count": services.public_mou_count}


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> tuple[str, int]:
    """A body beyond MAX_CONTENT_LENGTH is refused before the view (and its access check) runs: say why, only."""
    limit = min(
        services.max_upload_bytes(), current_app.config.get("MAX_CONTENT_LENGTH") or services.max_upload_bytes()
    )
    return render_template("mou/too_large.html", message=services.too_large_message(limit)), 413


# --- organizer pages --------------------------------------------------------------------------------------


@bp.get("/manage/events/<slug>/mous")
@event_role_required(Role.ORGANIZER)
def organizer_list(event: Event) -> str:
    """Every MOU of the event, with status and visibility."""
    return render_template("mou/organizer_list.html", event=event, mous=services.mous_for_event(event))


@bp.route("/manage/events/<slug>/mous/new", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def create(event: Event) -> str | Response | tuple[str, int]:
    """Record a new MOU (a draft) between two or more organizations."""
    form = _mou_form(event)
    del form.reason
    if form.validate_on_submit():
        with commit_or_refuse(form) as outcome:
            mou = services.create_mou(current_user, event, _form_to_data(form), form.organizations.data)
        if outcome.ok:
            flash(_("MOU recorded as a draft."), "success")
            return redirect(url_for("mou.manage", slug=event.slug, mou_id=mou.id))
    status = 400 if form.is_submitted() else 200
    return render_template("mou/edit.html", form=form, event=event, mou=None), status


@bp.get("/manage/events/<slug>/mous/<int:mou_id>")
@event_role_required(Role.ORGANIZER)
def manage(event: Event, mou_id: int) -> tuple[str, int]:
    """An MOU's record for organizers: parties, signatories, status, documents, notes and history."""
    return _render_manage(event, _mou_or_404(event, mou_id))


@bp.route("/manage/events/<slug>/mous/<int:mou_id>/edit", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def edit(event: Event, mou_id: int) -> str | Response | tuple[str, int]:
    """Edit an MOU's details; after signing, changes to its signed facts need a reason."""
    mou = _mou_or_404(event, mou_id)
    form = _mou_form(event, mou)
    if not mou.status.is_signed:
        del form.reason
    if form.validate_on_submit():
        try:
            reason = form.reason.data if mou.status.is_signed else None
            services.update_mou(current_user, mou, _form_to_data(form), reason)
        except DomainError as error:
            db.session.rollback()
            attach_domain_error(form, error)
        else:
            return _done(event, mou, _("MOU saved."))
    status = 400 if form.is_submitted() else 200
    return render_template("mou/edit.html", form=form, event=event, mou=mou), status


@bp.post("/manage/events/<slug>/mous/<int:mou_id>/status")
@event_role_required(Role.ORGANIZER)
def change_status(event: Event, mou_id: int) -> Response | tuple[str, int]:
    """Move the MOU along its status machine (the page offers only the valid next statuses)."""
    mou = _mou_or_404(event, mou_id)
    form = _status_form()
    if not form.validate_on_submit():
        return _render_manage(event, mou, 400, status_form=form)
    new_status = MouStatus(form.status.data)
    try:
        services.change_status(current_user, mou, new_status)
    except DomainError as error:
        return _refused(event, mou, form, error, status_form=form)
    return _done(event, mou, _("The MOU is now: %(status)s.", status=new_status.label))


@bp.post("/manage/events/<slug>/mous/<int:mou_id>/parties")
@event_role_required(Role.ORGANIZER)
def add_party(event: Event, mou_id: int) -> Response | tuple[str, int]:
    """Add a party (after signing: an amendment with a reason)."""
    mou = _mou_or_404(event, mou_id)
    form = _party_form(mou)
    if not form.validate_on_submit():
        return _render_manage(event, mou, 400, party_form=form)
    try:
        services.add_party(current_user, mou, form.organization_id.data, form.reason.data)
    except DomainError as error:
        return _refused(event, mou, form, error, party_form=form)
    return _done(event, mou, _("Party added."))


@bp.post("/manage/events/<slug>/mous/<int:mou_id>/parties/<int:party_id>/remove")
@event_role_required(Role.ORGANIZER)
def remove_party(event: Event, mou_id: int, party_id: int) -> Response | tuple[str, int]:
    """Remove a party and its signatories (after signing: an amendment with a reason)."""
    mou = _mou_or_404(event, mou_id)
    form = RemoveForm(prefix="remove")
    if not form.validate_on_submit():
        return _render_manage(event, mou, 400, remove_form=form)
    try:
        services.remove_party(current_user, mou, party_id, form.reason.data)
    except DomainError as error:
        return _refused(event, mou, form, error, remove_form=form)
    return _done(event, mou, _("Party removed."))


@bp.post("/manage/events/<slug>/mous/<int:mou_id>/signatories")
@event_role_required(Role.ORGANIZER)
def add_signatory(event: Event, mou_id: int) -> Response | tuple[str, int]:
    """Add a signatory or witness for a party (after signing: an amendment with a reason)."""
    mou = _mou_or_404(event, mou_id)
    form = _signatory_form(mou)
    if not form.validate_on_submit():
        return _render_manage(event, mou, 400, signatory_form=form)
    try:
        services.add_signatory(
            current_user,
            mou,
            form.party_id.data,
            person_id=int(form.person_id.data) if form.person_id.data else None,
            new_person_name=form.new_person_name.data,
            title_at_signing=form.title_at_signing.data,
            role=SignatoryRole(form.role.data),
            reason=form.reason.data,
        )
    except DomainError as error:
        return _refused(event, mou, form, error, signatory_form=form)
    return _done(event, mou, _("Signatory added."))


@bp.post("/manage/events/<slug>/mous/<int:mou_id>/signatories/<int:signatory_id>/remove")
@event_role_required(Role.ORGANIZER)
def remove_signatory(event: Event, mou_id: int, signatory_id: int) -> Response | tuple[str, int]:
    """Remove a signatory or witness (after signing: an amendment with a reason)."""
    mou = _mou_or_404(event, mou_id)
    form = RemoveForm(prefix="remove")
    if not form.validate_on_submit():
        return _render_manage(event, mou, 400, remove_form=form)
    try:
        services.remove_signatory(current_user, mou, signatory_id, form.reason.data)
    except DomainError as error:
        return _refused(event, mou, form, error, remove_form=form)
    return _done(event, mou, _("Signatory removed."))


@bp.post("/manage/events/<slug>/mous/<int:mou_id>/documents")
@event_role_required(Role.ORGANIZER)
def upload_document(event: Event, mou_id: int) -> Response | tuple[str, int]:
    """Attach a signed copy (PDF, JPEG or PNG, checked by content); its SHA-256 is recorded."""
    mou = _mou_or_404(event, mou_id)
    form = DocumentForm(prefix="document")
    if not form.validate_on_submit():
        return _render_manage(event, mou, 400, document_form=form)
    upload = form.file.data
    try:
        services.attach_document(current_user, mou, upload.filename, upload.stream)
    except DomainError as error:
        return _refused(event, mou, form, error, document_form=form)
    return _done(event, mou, _("Document attached."))


@bp.get("/manage/events/<slug>/mous.csv")
@event_role_required(Role.ORGANIZER)
def export_csv(event: Event) -> Response:
    """Every MOU of the event as CSV (internal ones included: organizers only); formulas are neutralized."""
    header = [
        _("Title"),
        _("Status"),
        _("Visibility"),
        _("Parties"),
        _("Signatories"),
        _("Signing date"),
        _("Place of signing"),
        _("Start date"),
        _("End or renewal date"),
        _("Purpose"),
        _("Signing-ceremony session"),
        _("Documents (SHA-256)"),
    ]
    rows: list[list[Any]] = [header]
    for mou in services.mous_for_event(event):
        ceremony = ceremony_session(mou)
        rows.append(
            [
                mou.title,
                mou.status.label,
                mou.visibility.label,
                "; ".join(p.organization.name for p in mou.parties),
                "; ".join(_signatory_text(s) for p in mou.parties for s in p.signatories),
                mou.signing_date or "",
                mou.place,
                mou.start_date or "",
                mou.end_date or "",
                mou.summary,
                ceremony["title"] if ceremony else "",
                "; ".join(f"{d.original_filename} {d.sha256}" for d in mou.documents),
            ]
        )
    return csv_download(rows, f"mous-{event.slug}.csv")


def _signatory_text(signatory: Any) -> str:
    who = signatory.person.name if signatory.person else _("representative not named")
    title = f", {signatory.title_at_signing}" if signatory.title_at_signing else ""
    role = f" ({signatory.role.label})" if signatory.role is SignatoryRole.WITNESS else ""
    return f"{who}{title}{role} — {signatory.party.organization.name}"


# --- public pages -----------------------------------------------------------------------------------------


@bp.get("/mous")
@public
def public_index() -> str:
    """The signed public MOUs of every public event."""
    return render_template("mou/public_list.html", event=None, mous=services.public_mous(), ceremony=ceremony_session)


@bp.get("/events/<slug>/mous")
@public
def public_event_list(slug: str) -> str:
    """The signed public MOUs of one event."""
    event = event_services.get_public_event(slug)
    if event is None:
        abort(404)
    return render_template(
        "mou/public_list.html", event=event, mous=services.public_mous(event), ceremony=ceremony_session
    )


def _visible_mou(slug: str, mou_id: int) -> Mou:
    """The MOU if the visitor may see it (public record, or the event's organizer); else 404, revealing nothing."""
    mou = db.session.get(Mou, mou_id)
    if mou is None or mou.event.slug != slug or not services.may_see(current_user, mou):
        abort(404)
    return mou


@bp.get("/events/<slug>/mous/<int:mou_id>")
@public
def show(slug: str, mou_id: int) -> str:
    """An MOU's page: public when the MOU is public and signed; otherwise its event's organizers only."""
    mou = _visible_mou(slug, mou_id)
    return render_template(
        "mou/show.html",
        mou=mou,
        event=mou.event,
        ceremony=ceremony_session(mou),
        is_organizer=user_has_role(current_user, mou.event, Role.ORGANIZER),
    )


@bp.get("/events/<slug>/mous/<int:mou_id>/documents/<int:document_id>")
@public
def document(slug: str, mou_id: int, document_id: int) -> Response:
    """Download a signed copy: anyone for a public MOU, the event's organizers for the others."""
    mou = _visible_mou(slug, mou_id)
    doc = db.session.get(MouDocument, document_id)
    if doc is None or doc.mou_id != mou.id:
        abort(404)
    path = services.document_path(doc)
    if not path.is_file():
        abort(404)
    response = send_file(
        path, mimetype=doc.content_type, as_attachment=True, download_name=doc.original_filename, max_age=0
    )
    response.headers["Cache-Control"] = "public, max-age=3600" if mou.is_public else "private, no-store"
    return response


@bp.route("/events/<slug>/mous/<int:mou_id>/verify", methods=["GET", "POST"])
@public
def verify(slug: str, mou_id: int) -> str | tuple[str, int]:
    """Upload a copy and see whether it is byte for byte a recorded signed document of this MOU."""
    mou = _visible_mou(slug, mou_id)
    result = None
    form = VerifyForm()
    submitted = form.validate_on_submit()
    if submitted:
        result = services.verify_copy(mou, form.file.data.stream)
    status = 400 if form.is_submitted() and not submitted else 200
    return render_template("mou/verify.html", mou=mou, event=mou.event, form=form, result=result), status
