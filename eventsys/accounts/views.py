"""Login and logout, site-admin user management, and each event's team."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from eventsys.accounts import services
from eventsys.accounts.forms import GrantRoleForm, LoginForm, UserForm
from eventsys.accounts.models import Role, User
from eventsys.common.access import event_role_required, login_required, public, site_admin_required
from eventsys.common.errors import DomainError
from eventsys.common.forms import ActionForm, commit_or_refuse
from eventsys.events.models import Event
from eventsys.extensions import db, limiter
from eventsys.site import is_local_path

bp = Blueprint("accounts", __name__)


def _account_key() -> str:
    return "login-account:" + services.normalize_email(request.form.get("email", ""))


def _address_key() -> str:
    return "login-address:" + get_remote_address()


def _login_failed(response: Response) -> bool:
    """Only failed attempts count towards the limits: a successful login redirects, and an attempt
    refused by the limits (429) checked no password, so it must not extend a lock-out."""
    return response.status_code not in (302, 429)


def _safe_next(target: str | None) -> str:
    """Follow ``next`` only to a path on this site."""
    if is_local_path(target):
        return target
    return url_for("events.manage_list")


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-account",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    key_func=_address_key,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-address",
)
def login() -> str | Response | tuple[str, int]:
    """Password login for organizers, door staff and site admins."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            db.session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.form_errors.append(_("Wrong email or password."))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> Response:
    """End the session."""
    if ActionForm().validate_on_submit():
        logout_user()
        flash(_("You are logged out."), "success")
        return redirect(url_for("events.index"))
    abort(400)


@bp.get("/admin/users")
@site_admin_required
def users() -> str:
    """All accounts, for site admins."""
    accounts = db.session.scalars(sa.select(User).order_by(User.name)).all()
    return render_template("accounts/users.html", users=accounts)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@site_admin_required
def user_new() -> str | Response | tuple[str, int]:
    """Create an account."""
    form = UserForm()
    if form.validate_on_submit():
        with commit_or_refuse(form) as outcome:
            services.create_user(
                form.email.data, form.name.data, form.password.data, is_site_admin=form.is_site_admin.data
            )
        if outcome.ok:
            flash(_("Account created."), "success")
            return redirect(url_for("accounts.users"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/user_new.html", form=form), status


@bp.route("/manage/events/<slug>/team", methods=["GET", "POST"])
@event_role_required(Role.ORGANIZER)
def team(event: Event) -> str | Response | tuple[str, int]:
    """The event's organizers and door staff; grant a role to an existing account."""
    form = GrantRoleForm()
    if form.validate_on_submit():
        user = services.get_user_by_email(form.email.data)
        if user is None:
            form.email.errors = [*form.email.errors, _("No account has this email. A site admin can create one.")]
        else:
            with commit_or_refuse(form) as outcome:
                services.grant_role(current_user, event, user, Role(form.role.data))
            if outcome.ok:
                flash(_("%(name)s is now %(role)s.", name=user.name, role=Role(form.role.data).label), "success")
                return redirect(url_for("accounts.team", slug=event.slug))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "accounts/team.html", event=event, form=form, roles=services.event_team(event), action_form=ActionForm()
    ), status


@bp.post("/manage/events/<slug>/team/<int:user_id>/remove")
@event_role_required(Role.ORGANIZER)
def team_remove(event: Event, user_id: int) -> Response:
    """Take a role away."""
    if not ActionForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        services.revoke_role(current_user, event, user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Role removed."), "success")
    return redirect(url_for("accounts.team", slug=event.slug))
