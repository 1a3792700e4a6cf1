"""Badge pages: an attendee's own badge from the manage link, and organizers' bulk printing.

Thin views: ``eventsys.checkin.badges`` decides who gets a badge and renders it; bulk PDFs are rendered by
the task queue (``eventsys.checkin.badge_tasks``) into the instance folder and downloaded from here.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from eventsys.accounts.models import Role
from eventsys.checkin import badges
from eventsys.checkin.badge_forms import BulkBadgeForm, ReissueForm
from eventsys.checkin.models import Badge, BadgeBatch, BadgeBatchStatus
from eventsys.common.access import event_role_required, personal_link
from eventsys.common.errors import DomainError
from eventsys.events.models import Category, Event
from eventsys.extensions import db
from eventsys.registration import services as registration_services
from eventsys.registration.models import Mode, Registration, RegistrationStatus

bp = Blueprint("badges", __name__)


def _pdf_response(data: bytes, filename: str, *, inline: bool = False) -> Response:
    response = Response(data, mimetype="application/pdf")
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/r/<token>/badge.pdf")
@personal_link
def my_badge(token: str) -> Response:
    """The attendee's own badge (A6), issued on first download."""
    registration = registration_services.find_registration_by_manage_token(token)
    if registration is None:
        abort(404)
    if not badges.eligible(registration):
        return Response(render_template("badges/no_badge.html", registration=registration), status=409)
    badge = badges.ensure_badge(registration)
    db.session.commit()
    return _pdf_response(badges.badge_pdf(badge), "badge.pdf")


def _counts(event: Event) -> dict[str, int]:
    confirmed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.mode == Mode.IN_PERSON,
        )
    )
    live = sa.select(sa.func.count()).select_from(Badge).where(Badge.event_id == event.id, Badge.revoked_at.is_(None))
    return {
        "confirmed_in_person": confirmed or 0,
        "issued": db.session.scalar(live) or 0,
        "printed": db.session.scalar(live.where(Badge.printed_at.is_not(None))) or 0,
        "revoked": db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Badge)
            .where(Badge.event_id == event.id, Badge.revoked_at.is_not(None))
        )
        or 0,
    }


def _attendees(event: Event) -> list[tuple[Registration, Badge | None]]:
    """Confirmed in-person registrations with their live badge (if any), by name."""
    from eventsys.events.models import Person

    rows = db.session.execute(
        sa.select(Registration, Badge)
        .join(Person, Person.id == Registration.person_id)
        .outerjoin(Badge, sa.and_(Badge.registration_id == Registration.id, Badge.revoked_at.is_(None)))
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.mode == Mode.IN_PERSON,
        )
        .options(sa.orm.contains_eager(Registration.person))
        .order_by(Person.name)
    ).all()
    return [(registration, badge) for registration, badge in rows]


def _page(event: Event, form: BulkBadgeForm, status: int = 200) -> tuple[str, int]:
    page = render_template(
        "badges/index.html",
        event=event,
        counts=_counts(event),
        batches=_batches(event),
        attendees=_attendees(event),
        form=form,
        reissue_form=ReissueForm(),
        layouts=badges.layout_labels(),
    )
    return page, status


def _batches(event: Event) -> list[BadgeBatch]:
    return list(
        db.session.scalars(
            sa.select(BadgeBatch).where(BadgeBatch.event_id == event.id).order_by(BadgeBatch.id.desc()).limit(10)
        )
    )


@bp.get("/manage/events/<slug>/badges")
@event_role_required(Role.ORGANIZER)
def index(event: Event) -> tuple[str, int]:
    """Badge counts, bulk printing, the latest bulk PDFs and re-issuing lost badges."""
    return _page(event, BulkBadgeForm())


@bp.post("/manage/events/<slug>/badges/batches")
@event_role_required(Role.ORGANIZER)
def start_batch(event: Event) -> Response | tuple[str, int]:
    form = BulkBadgeForm()
    if not form.validate_on_submit():
        return _page(event, form, 400)
    try:
        badges.start_batch(
            event,
            current_user,
            layout=form.layout.data,
            category=Category(form.category.data) if form.category.data else None,
            only_unprinted=form.only_unprinted.data,
            language=str(get_locale() or "en")[:2],
        )
    except DomainError as error:
        db.session.rollback()
        abort(error.status, description=error.message)
    db.session.commit()
    flash(_("The badges are being prepared. The progress is shown below."), "success")
    return redirect(url_for("badges.index", slug=event.slug))


def _batch(event: Event, batch_id: int) -> BadgeBatch:
    batch = db.session.get(BadgeBatch, batch_id)
    if batch is None or batch.event_id != event.id:
        abort(404)
    return batch


@bp.get("/manage/events/<slug>/badges/batches/<int:batch_id>/status")
@event_role_required(Role.ORGANIZER)
def batch_status(event: Event, batch_id: int) -> Response:
    """A bulk PDF's progress, as JSON for the page's progress bar."""
    batch = _batch(event, batch_id)
    response = jsonify(
        {
            "id": batch.id,
            "status": batch.status.value,
            "total": batch.total,
            "done": batch.done,
            "finished": batch.status in (BadgeBatchStatus.DONE, BadgeBatchStatus.FAILED),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/manage/events/<slug>/badges/batches/<int:batch_id>.pdf")
@event_role_required(Role.ORGANIZER)
def batch_download(event: Event, batch_id: int) -> Response:
    batch = _batch(event, batch_id)
    path = badges.batch_path(batch)
    if batch.status is not BadgeBatchStatus.DONE or path is None or not path.is_file():
        abort(404)
    # Read, not streamed: the file is a few MB, and nothing stays open if the client goes away.
    return _pdf_response(path.read_bytes(), f"badges-{event.slug}-{batch.id}.pdf")


@bp.post("/manage/events/<slug>/badges/reissue/<int:registration_id>")
@event_role_required(Role.ORGANIZER)
def reissue(event: Event, registration_id: int) -> Response:
    """Re-issue a lost badge: the old code is revoked, the new badge opens for printing."""
    form = ReissueForm()
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        abort(404)
    if not form.validate_on_submit():
        abort(400, description=_("The form has expired or was incomplete. Please try again."))
    try:
        badge = badges.reissue_badge(registration, actor=current_user, reason="reissued")
    except DomainError as error:
        db.session.rollback()
        abort(error.status if error.status != 400 else 409, description=error.message)
    db.session.commit()
    return _pdf_response(badges.badge_pdf(badge), f"badge-{badge.id}.pdf", inline=True)
