"""Certificate pages: organizers' templates, issuing, bulk runs and downloads; the public verification page;
the recipient's certificates from their manage link. Thin: ``eventsys.certificates.services`` decides."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from eventsys.accounts.models import Role
from eventsys.certificates import services
from eventsys.certificates.forms import IssueForm, PreviewForm, RevokeForm, RunForm, TemplateForm
from eventsys.certificates.models import Certificate, CertificateKind, CertificateRun, CertificateTemplate, RunSource
from eventsys.common.access import event_role_required, personal_link, public
from eventsys.common.errors import DomainError
from eventsys.common.forms import commit_or_refuse
from eventsys.events.models import Event
from eventsys.extensions import db
from eventsys.registration import services as registration_services

bp = Blueprint("certificates", __name__)

MAX_UPLOAD = 2 * 1024 * 1024 + 1


@bp.app_template_global("has_certificates")
def has_certificates(registration: object) -> bool:
    """For the manage page: whether to show the "My certificates" link."""
    return services.has_certificates(registration)  # type: ignore[arg-type]


def _file_response(data: bytes, mimetype: str, filename: str, *, inline: bool = False) -> Response:
    response = Response(data, mimetype=mimetype)
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _template(event: Event, template_id: int) -> CertificateTemplate:
    template = db.session.get(CertificateTemplate, template_id)
    if template is None or template.event_id != event.id:
        abort(404)
    return template


def _certificate(event: Event, certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.template.event_id != event.id:
        abort(404)
    return certificate


def _run(event: Event, run_id: int) -> CertificateRun:
    run = db.session.get(CertificateRun, run_id)
    if run is None or run.event_id != event.id:
        abort(404)
    return run


def _issued(event: Event) -> list[Certificate]:
    return list(
        db.session.scalars(
            sa.select(Certificate)
            .join(CertificateTemplate, CertificateTemplate.id == Certificate.template_id)
            .where(CertificateTemplate.event_id == event.id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
            .limit(500)
        )
    )


@bp.get("/manage/events/<slug>/certificates")
@event_role_required(Role.ORGANIZER)
def index(event: Event) -> str:
    """Templates, bulk runs with their progress, and the certificates issued (with revoking)."""
    return render_template(
        "certificates/index.html",
        event=event,
        templates=services.templates_of(event),
        runs=services.runs_of(event),
        certificates=_issued(event),
        revoke_form=RevokeForm(),
    )


def _read_upload(storage: object) -> bytes | None:
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return storage.stream.read(MAX_UPLOAD)  # type: ignore[attr-defined]


def _template_data(form: TemplateForm) -> services.TemplateData:
    signatures = []
    for i in (1, 2, 3):
        signatures.append(
            services.SignatureData(
                name=getattr(form, f"signature_{i}_name").data or "",
                position=getattr(form, f"signature_{i}_position").data or "",
                image=_read_upload(request.files.get(f"signature_{i}_image")),
                remove_image=bool(getattr(form, f"signature_{i}_remove_image").data),
            )
        )
    return services.TemplateData(
        kind=CertificateKind(form.kind.data),
        title=form.title.data or "",
        intro=form.intro.data or "",
        body=form.body.data or "",
        place=form.place.data,
        signatures=signatures,
        logo=_read_upload(request.files.get("logo")),
        remove_logo=bool(form.remove_logo.data),
        language=form.language.data or "",
    )


def _template_form() -> TemplateForm:
    form = TemplateForm()
    form.language.choices = list(current_app.config["LANGUAGES"].items())
    return form


@bp.route("/manage/events/<slug>/certificates/templates/new", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def template_new(event: Event) -> Response | tuple[str, int]:
    kind = CertificateKind(request.args.get("kind")) if request.args.get("kind") in set(CertificateKind) else None
    form = _template_form()
    if request.method == "GET":
        form.language.data = str(get_locale() or "en")  # the language of the default texts below
        form.kind.data = (kind or CertificateKind.APPRECIATION).value
        for name, value in services.default_texts(kind or CertificateKind.APPRECIATION).items():
            getattr(form, name).data = value
    if form.validate_on_submit():
        with commit_or_refuse(form) as outcome:
            template = services.create_template(current_user, event, _template_data(form))
        if outcome.ok:
            flash(_("The certificate template is saved."), "success")
            return redirect(url_for("certificates.template_edit", slug=event.slug, template_id=template.id))
    status = 400 if request.method == "POST" else 200
    return render_template("certificates/template_form.html", event=event, form=form, template=None), status


@bp.route("/manage/events/<slug>/certificates/templates/<int:template_id>", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def template_edit(event: Event, template_id: int) -> Response | tuple[str, int]:
    template = _template(event, template_id)
    form = _template_form()
    if request.method == "GET":
        form.language.data = template.language
        form.kind.data = template.kind.value
        form.title.data, form.intro.data, form.body.data = template.title, template.intro, template.body
        form.place.data = template.place
        for i, block in enumerate(template.signatures or [], start=1):
            getattr(form, f"signature_{i}_name").data = block.get("name")
            getattr(form, f"signature_{i}_position").data = block.get("position")
    if form.validate_on_submit():
        with commit_or_refuse(form) as outcome:
            services.update_template(current_user, template, _template_data(form))
        if outcome.ok:
            flash(_("The certificate template is saved."), "success")
            return redirect(url_for("certificates.template_edit", slug=event.slug, template_id=template.id))
    status = 400 if request.method == "POST" else 200
    return render_template("certificates/template_form.html", event=event, form=form, template=template), status


@bp.get("/manage/events/<slug>/certificates/templates/<int:template_id>/preview.pdf")
@event_role_required(Role.ORGANIZER)
def template_preview(event: Event, template_id: int) -> Response:
    """A sample certificate of the saved template."""
    template = _template(event, template_id)
    return _file_response(services.preview_pdf(template), "application/pdf", "preview.pdf", inline=True)


@bp.post("/manage/events/<slug>/certificates/templates/<int:template_id>/preview")
@event_role_required(Role.ORGANIZER)
def preview_texts(event: Event, template_id: int) -> Response:
    """A sample certificate of the editor's unsaved texts (the editor's "Preview" button); nothing is stored."""
    template = _template(event, template_id)
    form = PreviewForm()
    if not form.validate_on_submit():
        abort(400, description=_("The texts are too long, empty or contain characters that are not allowed."))
    texts = {"title": form.title.data or "", "intro": form.intro.data or "", "body": form.body.data or ""}
    try:
        data = services.preview_pdf(template, texts)
    except DomainError as error:
        abort(400, description=error.message)
    return _file_response(data, "application/pdf", "preview.pdf", inline=True)


@bp.route("/manage/events/<slug>/certificates/templates/<int:template_id>/issue", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def issue(event: Event, template_id: int) -> Response | tuple[str, int]:
    """Issue one certificate, with a personal citation."""
    template = _template(event, template_id)
    form = IssueForm()
    if form.validate_on_submit():
        with commit_or_refuse(form) as outcome:
            person = services.person_for(form.name.data or "", form.email.data, form.organization.data)
            certificate = services.issue_certificate(
                current_user, template, person, form.citation.data, send_email=form.send_email.data
            )
        if outcome.ok:
            flash(
                _("Certificate %(code)s issued to %(name)s.", code=certificate.code, name=certificate.recipient_name),
                "success",
            )
            return redirect(url_for("certificates.index", slug=event.slug))
    status = 400 if request.method == "POST" else 200
    return render_template("certificates/issue.html", event=event, form=form, template=template), status


def _list_choices(event: Event) -> list[SelectChoice]:
    from eventsys.checkin.models import CheckInList

    lists = db.session.scalars(sa.select(CheckInList).where(CheckInList.event_id == event.id).order_by(CheckInList.id))
    return [SelectChoice("", "—"), *(SelectChoice(str(item.id), item.name) for item in lists)]


@bp.route("/manage/events/<slug>/certificates/templates/<int:template_id>/runs", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def start_run(event: Event, template_id: int) -> Response | tuple[str, int]:
    """Issue in bulk; the merged PDF and the ZIP are prepared on the task queue."""
    template = _template(event, template_id)
    form = RunForm()
    form.list_id.choices = _list_choices(event)
    if form.validate_on_submit():
        source = RunSource(form.source.data)
        list_id = int(form.list_id.data) if (form.list_id.data or "").isdigit() else None
        with commit_or_refuse(form) as outcome:
            rows = []
            if source is RunSource.CSV:
                raw = _read_upload(request.files.get("file"))
                if raw is None:
                    raise DomainError(_("Upload a CSV list."), code="no_file", field="file")
                rows = services.parse_recipient_csv(raw)
            run = services.start_run(
                current_user,
                template,
                source,
                list_id=list_id,
                min_days=form.min_days.data,
                csv_rows=rows,
                send_email=form.send_email.data,
            )
        if outcome.ok:
            flash(_run_started_message(run), "success")
            return redirect(url_for("certificates.index", slug=event.slug))
    status = 400 if request.method == "POST" else 200
    return render_template("certificates/run.html", event=event, form=form, template=template), status


def _run_started_message(run: CertificateRun) -> str:
    """E.g. "10 certificates issued. 1 person already held one. The PDFs are being prepared." (plurals per language)."""
    parts = [ngettext("%(num)d certificate issued.", "%(num)d certificates issued.", run.issued)]
    if run.skipped:
        parts.append(ngettext("%(num)d person already held one.", "%(num)d people already held one.", run.skipped))
    parts.append(_("The PDFs are being prepared."))
    return " ".join(parts)


@bp.get("/manage/events/<slug>/certificates/runs/<int:run_id>/status")
@event_role_required(Role.ORGANIZER)
def run_status(event: Event, run_id: int) -> Response:
    run = _run(event, run_id)
    response = jsonify(
        {
            "id": run.id,
            "status": run.status.value,
            "total": run.total,
            "done": run.done,
            "issued": run.issued,
            "skipped": run.skipped,
            "finished": run.status.value in ("done", "failed"),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _run_file(event: Event, run_id: int, which: str) -> bytes:
    run = _run(event, run_id)
    path = services.run_path(run, which)
    if run.status.value != "done" or path is None or not path.is_file():
        abort(404)
    return path.read_bytes()


@bp.get("/manage/events/<slug>/certificates/runs/<int:run_id>.pdf")
@event_role_required(Role.ORGANIZER)
def run_pdf(event: Event, run_id: int) -> Response:
    """The run's certificates merged into one PDF, for printing."""
    return _file_response(_run_file(event, run_id, "pdf"), "application/pdf", f"certificates-{event.slug}-{run_id}.pdf")


@bp.get("/manage/events/<slug>/certificates/runs/<int:run_id>.zip")
@event_role_required(Role.ORGANIZER)
def run_zip(event: Event, run_id: int) -> Response:
    """A ZIP of one PDF per person."""
    return _file_response(_run_file(event, run_id, "zip"), "application/zip", f"certificates-{event.slug}-{run_id}.zip")


@bp.get("/manage/events/<slug>/certificates/<int:certificate_id>.pdf")
@event_role_required(Role.ORGANIZER)
def certificate_pdf(event: Event, certificate_id: int) -> Response:
    certificate = _certificate(event, certificate_id)
    return _file_response(
        services.certificate_pdf(certificate), "application/pdf", f"certificate-{certificate.code}.pdf"
    )


@bp.post("/manage/events/<slug>/certificates/<int:certificate_id>/revoke")
@event_role_required(Role.ORGANIZER)
def revoke(event: Event, certificate_id: int) -> Response:
    certificate = _certificate(event, certificate_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        abort(400, description=_("Give the reason for revoking (at most 300 characters)."))
    try:
        services.revoke_certificate(current_user, certificate, form.reason.data)
    except DomainError as error:
        db.session.rollback()
        abort(error.status if error.status != 400 else 409, description=error.message)
    db.session.commit()
    flash(_("Certificate %(code)s is revoked.", code=certificate.code), "success")
    return redirect(url_for("certificates.index", slug=event.slug))


# --- Public and personal pages ----------------------------------------------------------------------------


@bp.get("/verify/<code>")
@public
def verify(code: str) -> tuple[str, int]:
    """Confirms who received which certificate from which event and when; or says unknown or revoked."""
    certificate = services.find_certificate(code)
    date_text = services.event_date_text(certificate.template.event) if certificate is not None else ""
    page = render_template("certificates/verify.html", certificate=certificate, code=code[:40], date_text=date_text)
    return page, 200 if certificate is not None else 404


def _registration(token: str):  # type: ignore[no-untyped-def]
    registration = registration_services.find_registration_by_manage_token(token)
    if registration is None:
        abort(404)
    return registration


@bp.get("/r/<token>/certificates")
@personal_link
def mine(token: str) -> str:
    """The recipient's certificates from this event: PDFs, verification links, and "Add to LinkedIn"."""
    registration = _registration(token)
    certificates = services.certificates_for(registration)
    return render_template(
        "certificates/mine.html",
        registration=registration,
        event=registration.event,
        certificates=[
            (certificate, services.linkedin_url(certificate), services.verify_url(certificate.code))
            for certificate in certificates
        ],
    )


@bp.get("/r/<token>/certificates/<code>.pdf")
@personal_link
def my_pdf(token: str, code: str) -> Response:
    registration = _registration(token)
    certificate = next((c for c in services.certificates_for(registration) if c.code == code.upper()), None)
    if certificate is None:
        abort(404)
    return _file_response(
        services.certificate_pdf(certificate), "application/pdf", f"certificate-{certificate.code}.pdf"
    )
