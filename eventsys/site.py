"""Site-wide routes: health check and language choice."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from babel import Locale
from flask import Blueprint, abort, current_app, has_request_context, redirect, request, session, url_for
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
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
    if not is_local_path(target):
        target = url_for("events.index")
    return redirect(target)


def is_local_path(target: str | None) -> bool:
    """Whether ``target`` is a path on this site, safe to redirect to.

    Refuses other hosts ("//host", "/\\host", "https://host") and any control character or space:
    browsers drop tabs and newlines inside URLs, so "/<tab>/host" would take the user to "//host".
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    return not any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in target)


def select_locale() -> Locale | None:
    """The switcher's choice first, then the browser's Accept-Language; the default outside requests (CLI)."""
    if not has_request_context():
        return _locale(current_app.config["BABEL_DEFAULT_LOCALE"])
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("language")
    if chosen in languages:
        return _locale(chosen)
    header = request.headers.get("Accept-Language", "")
    return _locale(_best_language(header, tuple(languages)) or current_app.config["BABEL_DEFAULT_LOCALE"])


@lru_cache(maxsize=256)
def _best_language(header: str, languages: tuple[str, ...]) -> str | None:
    """The best of ``languages`` for an Accept-Language header (browsers send the same few headers again)."""
    return LanguageAccept(parse_accept_header(header)).best_match(languages) if header else None


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    """One ``babel.Locale`` per language for the worker's life (Flask-Babel takes it as it is)."""
    return Locale.parse(code)
