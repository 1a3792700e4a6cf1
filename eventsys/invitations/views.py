"""Organizer pages for invitation lists, and the invitee's personal link /i/<token>."""

from __future__ import annotations

import base64
import zlib

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from eventsys.accounts.models import Role
from eventsys.common.access import event_role_required, personal_link
from eventsys.common.db import write_transaction
from eventsys.common.errors import DomainError
from eventsys.common.forms import ActionForm, attach_domain_error
from eventsys.events.models import Category, Event
from eventsys.extensions import db
from eventsys.invitations import services
from eventsys.invitations.csv_import import MAX_UPLOAD_BYTES, ImportFileError, parse_invitation_csv
from eventsys.invitations.forms import ConfirmImportForm, FilterForm, ImportForm, InvitationForm
from eventsys.invitations.models import BulkSend, Invitation, InvitationState

bp = Blueprint("invitations", __name__)

#: How long a preview may be confirmed.
PREVIEW_MAX_AGE = 2 * 60 * 60


# --- The list ---------------------------------------------------------------------------------------


@bp.get("/manage/events/<slug>/invitations")
@event_role_required(Role.ORGANIZER)
def index(event: Event) -> str:
    """The invitation list: states, counts, filters and the latest bulk send."""
    filters = FilterForm(request.args)
    state = category = None
    if filters.validate():
        state = InvitationState(filters.state.data) if filters.state.data else None
        category = Category(filters.category.data) if filters.category.data else None
    invitations = services.list_invitations(event, state=state, category=category, search=filters.q.data)
    counts = services.invitation_counts(event)
    return render_template(
        "invitations/index.html",
        event=event,
        invitations=invitations,
        counts=counts,
        not_sent=counts.by_state[InvitationState.NOT_SENT],
        awaiting_answer=sum(counts.by_state[state] for state in services.BULK_STATES[services.BulkKind.REMINDERS]),
        filters=filters,
        filtered=bool(state or category or filters.q.data),
        bulk=services.latest_bulk_send(event),
        action_form=ActionForm(),
    )


def _bulk_status(bulk: BulkSend | None) -> dict[str, object]:
    if bulk is None:
        return {"bulk_send": None}
    return {
        "bulk_send": {
            "id": bulk.id,
            "kind": bulk.kind,
            "total": bulk.total,
            "sent": bulk.sent,
            "failed": bulk.failed,
            "done": bulk.done,
            "finished": bulk.finished_at is not None,
            "failures": [entry.get("email") for entry in bulk.failures or []],
        }
    }


@bp.get("/manage/events/<slug>/invitations/bulk-status")
@event_role_required(Role.ORGANIZER)
def bulk_status(event: Event) -> Response:
    """The progress of the latest bulk send, as JSON for the page's progress bar."""
    response = jsonify(_bulk_status(services.latest_bulk_send(event)))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Adding one person ------------------------------------------------------------------------------


@bp.route("/manage/events/<slug>/invitations/new", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def new(event: Event) -> str | Response | tuple[str, int]:
    """Invite one person by hand."""
    form = InvitationForm()
    if form.validate_on_submit():
        data = services.InviteeData(
            name=form.name.data,
            email=form.email.data,
            category=Category(form.category.data),
            organization=form.organization.data,
            title=form.title.data,
            language=form.language.data,
            skip_moderation=form.skip_moderation.data,
        )
        try:
            invitation = services.add_invitation(event, data, current_user)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            attach_domain_error(form, error)
        except IntegrityError:  # someone added the same person at the same moment
            db.session.rollback()
            form.form_errors.append(_("The list changed while you were saving. Please try again."))
        else:
            flash(_("%(name)s is invited (not sent yet).", name=invitation.person.name), "success")
            return redirect(url_for("invitations.index", slug=event.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("invitations/new.html", event=event, form=form), status


# --- CSV import -------------------------------------------------------------------------------------
#
# Between the preview and the confirmation, the uploaded file travels in the confirmation form itself:
# compressed, base64 and signed (itsdangerous, the app's SECRET_KEY, salted with the event and the user,
# expiring after PREVIEW_MAX_AGE). Why not a server-side copy: nothing is kept in process memory (several
# app servers may answer), no table of abandoned previews needs cleaning, and no schema change. The
# signature means the confirmation imports exactly the file that was previewed, for this event and this
# organizer; the confirmation parses and checks it again against the database as it is then, so a
# change made in between (someone else imported the same people) is still merged correctly. The form is
# url-encoded, which Werkzeug limits by MAX_CONTENT_LENGTH only (the 2 MB file is well inside it).


def _signer(event: Event) -> TimestampSigner:
    return TimestampSigner(current_app.config["SECRET_KEY"], salt=f"invitation-import:{event.id}:{current_user.id}")


def _sign_upload(event: Event, raw: bytes) -> str:
    packed = base64.urlsafe_b64encode(zlib.compress(raw, 9))
    return _signer(event).sign(packed).decode("ascii")


def _load_upload(event: Event, payload: str) -> bytes | None:
    if len(payload) > 2 * MAX_UPLOAD_BYTES:
        return None
    try:
        packed = _signer(event).unsign(payload.encode("ascii"), max_age=PREVIEW_MAX_AGE)
    except (SignatureExpired, BadSignature, UnicodeEncodeError):
        return None
    decompressor = zlib.decompressobj()
    raw = decompressor.decompress(base64.urlsafe_b64decode(packed), MAX_UPLOAD_BYTES + 1)
    return raw if len(raw) <= MAX_UPLOAD_BYTES else None


@bp.route("/manage/events/<slug>/invitations/import", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def import_upload(event: Event) -> str | tuple[str, int]:
    """Upload a CSV file and see, row by row, what importing it would do. Nothing is saved here."""
    form = ImportForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("invitations/import.html", event=event, form=form), status
    upload = form.file.data
    try:
        raw = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    finally:
        upload.close()
    try:
        parsed = parse_invitation_csv(raw)
    except ImportFileError as error:
        attach_domain_error(form, error)
        return render_template("invitations/import.html", event=event, form=form), error.status
    plan = services.plan_import(event, parsed)  # reads only: the preview writes nothing
    confirm = ConfirmImportForm(formdata=None, payload=_sign_upload(event, raw))
    return render_template(
        "invitations/preview.html",
        event=event,
        plan=plan,
        filename=upload.filename or "",
        confirm_form=confirm,
        upload_form=ImportForm(formdata=None),
        RowAction=services.RowAction,
    ), (422 if plan.has_errors else 200)


def _import_refused(event: Event, message: str, status: int = 400) -> tuple[str, int]:
    form = ImportForm(formdata=None)
    form.form_errors.append(message)
    return render_template("invitations/import.html", event=event, form=form), status


@bp.post("/manage/events/<slug>/invitations/import/confirm")
@event_role_required(Role.ORGANIZER)
def import_confirm(event: Event) -> Response | tuple[str, int]:
    """Import the previewed file: every row in one transaction, or nothing."""
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    raw = _load_upload(event, form.payload.data or "")
    if raw is None:
        return _import_refused(event, _("This preview has expired or is not valid. Please upload the file again."))
    try:
        parsed = parse_invitation_csv(raw)
        result = services.import_rows(event, parsed, current_user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return _import_refused(event, error.message)
    except IntegrityError:
        db.session.rollback()
        return _import_refused(
            event, _("The list changed while you were importing; nothing was imported. Please try again."), 409
        )
    flash(
        _(
            "%(invited)s invitations added (%(new)s new people, %(merged)s already known); "
            "%(skipped)s were already invited.",
            invited=result.invited,
            new=result.new_people,
            merged=result.merged_people,
            skipped=result.already_invited,
        ),
        "success",
    )
    return redirect(url_for("invitations.index", slug=event.slug))


# --- Sending ----------------------------------------------------------------------------------------


def _action(event: Event, change, done: str) -> Response:  # type: ignore[no-untyped-def]
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        change()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("invitations.index", slug=event.slug))


@bp.post("/manage/events/<slug>/invitations/<int:invitation_id>/send")
@event_role_required(Role.ORGANIZER)
def send(event: Event, invitation_id: int) -> Response:
    """Send one invitation, or send it again."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.event_id != event.id:
        abort(404)
    return _action(
        event,
        lambda: services.resend_invitation(invitation, current_user),
        _("The invitation to %(name)s is being sent.", name=invitation.person.name),
    )


@bp.post("/manage/events/<slug>/invitations/send-all")
@event_role_required(Role.ORGANIZER)
def send_all(event: Event) -> Response:
    """Send every invitation not sent yet, on the task queue."""
    return _action(
        event,
        lambda: services.start_bulk_send(event, services.BulkKind.INVITATIONS, current_user),
        _("Sending the invitations. The progress is shown below."),
    )


@bp.post("/manage/events/<slug>/invitations/remind")
@event_role_required(Role.ORGANIZER)
def remind(event: Event) -> Response:
    """Remind everyone who has not answered, on the task queue."""
    return _action(
        event,
        lambda: services.start_bulk_send(event, services.BulkKind.REMINDERS, current_user),
        _("Sending the reminders. The progress is shown below."),
    )


# --- The invitee's personal link --------------------------------------------------------------------


def _invitation_or_404(token: str) -> Invitation:
    invitation = services.find_invitation_by_token(token)
    if invitation is None:
        abort(404)
    return invitation


@bp.get("/i/<token>")
@personal_link
def respond(token: str) -> str:
    """The invitee's page: the event, Accept (to registration) and Decline. Visiting it marks it opened."""
    invitation = _invitation_or_404(token)
    if services.needs_opened_mark(invitation):
        db.session.commit()  # end the read-only transaction: SQLite must take its write lock at BEGIN
        with write_transaction():
            invitation = _invitation_or_404(token)
            if services.mark_opened(invitation):
                db.session.commit()
    return render_template(
        "invitations/respond.html", invitation=invitation, event=invitation.event, action_form=ActionForm()
    )


@bp.post("/i/<token>/decline")
@personal_link
def decline(token: str) -> Response:
    """The invitee declines."""
    invitation = _invitation_or_404(token)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.decline_invitation(invitation)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("You have declined the invitation. Thank you for letting us know."), "success")
    return redirect(url_for("invitations.respond", token=token))
