"""Site-wide routes: health check and language choice."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from werkzeug.wrappers import Response

from eventsys.common.access import public
from eventsys.common.forms import ActionForm
from eventsys.extensions import db

bp = Blueprint("site", __name__)


@bp.get("/healthz")
@public
def healthz() -> tuple[dict[str, str], int]:
    """200 when the database answers, 503 otherwise: for load balancers and uptime checks."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return {"status": "error", "database": "unavailable"}, 503
    return {"status": "ok"}, 200


@bp.post("/language")
@public
def set_language() -> Response:
    """Remember the chosen interface language in the session and go back to the page."""
    if not ActionForm().validate_on_submit():
        abort(400)
    code = request.form.get("language", "")
    if code not in current_app.config["LANGUAGES"]:
        abort(400)
    session["language"] = code
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("events.index")
    return redirect(target)


def select_locale() -> str | None:
    """The switcher's choice first, then the browser's Accept-Language."""
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(list(languages)) or current_app.config["BABEL_DEFAULT_LOCALE"]
