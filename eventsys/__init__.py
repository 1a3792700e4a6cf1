"""eventsys: event management for hybrid events of international associations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_babel import get_locale

import config as config_module
from eventsys.common.ratelimit import hooks_only_where_limited
from eventsys.extensions import babel, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def create_app(config_name_or_object: str | type | object = "development", **overrides: Any) -> Flask:
    """Build the application: configuration, extensions, blueprints, error pages and CLI commands."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        # instance/: the SQLite database and the demo logins; EVENTSYS_INSTANCE_PATH moves it (tests, packages).
        instance_path=os.environ.get("EVENTSYS_INSTANCE_PATH") or str(ROOT / "instance"),
    )
    load_config(app, config_name_or_object, overrides)
    register_extensions(app)
    register_blueprints(app)
    hooks_only_where_limited(app, limiter)
    register_errorhandlers(app)
    register_commands(app)
    register_request_hooks(app)
    register_tasks(app)
    return app


def load_config(app: Flask, config_name_or_object: str | type | object, overrides: dict[str, Any]) -> None:
    if isinstance(config_name_or_object, str):
        if config_name_or_object not in config_module.CONFIGS:
            raise ValueError(f"unknown configuration {config_name_or_object!r}")
        config_name_or_object = config_module.CONFIGS[config_name_or_object]
    app.config.from_object(config_name_or_object)
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: refusing to start. Set the SECRET_KEY environment variable.")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):  # the form some hosts hand out
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len("postgres://") :]
    elif uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len("postgresql://") :]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)


def register_extensions(app: Flask) -> None:
    from eventsys.common.sessions import SessionInterface
    from eventsys.site import select_locale

    app.session_interface = SessionInterface()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    limiter.init_app(app)

    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please log in to see this page.")

    from eventsys.accounts.models import User

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def register_blueprints(app: Flask) -> None:
    import eventsys.models  # noqa: F401  (every table in the metadata)
    from eventsys import site
    from eventsys.accounts import views as accounts_views
    from eventsys.agenda import views as agenda_views
    from eventsys.certificates import views as certificates_views
    from eventsys.checkin import api as checkin_api
    from eventsys.checkin import badge_views
    from eventsys.checkin import views as checkin_views
    from eventsys.events import views as events_views
    from eventsys.invitations import views as invitations_views
    from eventsys.mou import views as mou_views
    from eventsys.registration import views as registration_views

    app.register_blueprint(site.bp)
    app.register_blueprint(events_views.bp)
    app.register_blueprint(accounts_views.bp)
    app.register_blueprint(invitations_views.bp)
    app.register_blueprint(registration_views.bp)
    app.register_blueprint(checkin_views.bp)
    app.register_blueprint(checkin_api.bp)
    app.register_blueprint(badge_views.bp)
    app.register_blueprint(agenda_views.bp)
    app.register_blueprint(mou_views.bp)
    app.register_blueprint(certificates_views.bp)


def register_errorhandlers(app: Flask) -> None:
    from eventsys.common.errors import register_error_handlers

    register_error_handlers(app)


def register_tasks(app: Flask) -> None:
    """Point the task queue at its storage (or run tasks eagerly) and import every module that defines tasks."""
    from eventsys.common.tasks import configure_tasks

    configure_tasks(app)
    import eventsys.agenda.notifications
    import eventsys.certificates.tasks
    import eventsys.checkin.badge_tasks
    import eventsys.invitations.tasks
    import eventsys.mou.tasks
    import eventsys.registration.tasks  # noqa: F401  (registration emails, reminders, offer expiry)


def register_commands(app: Flask) -> None:
    from eventsys.accounts.cli import users_cli
    from eventsys.demo import demo_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)


def register_request_hooks(app: Flask) -> None:
    from eventsys.common import timefmt
    from eventsys.common.db import utcnow

    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:  # the client's address and scheme come from the trusted reverse proxies
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    always = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    ]
    https_only = [*always, ("Strict-Transport-Security", "max-age=31536000")]
    keyed = {
        secure: [(name.lower(), name, value) for name, value in headers]
        for secure, headers in ((False, always), (True, https_only))
    }

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        # Headers.setdefault for each, in one pass over the response's headers (a view may have set its own).
        headers = response.headers
        present = {name.lower() for name, _value in headers}
        wanted = keyed[bool(app.config.get("SESSION_COOKIE_SECURE"))]
        headers.extend([(name, value) for key, name, value in wanted if key not in present])
        return response

    @app.context_processor
    def template_globals() -> dict[str, Any]:
        return {
            "languages": app.config["LANGUAGES"],
            "current_language": str(get_locale() or "en"),
            "request_path": request.full_path.rstrip("?") if request else "/",
            "now_utc": utcnow,
        }

    app.jinja_env.filters["in_zone"] = timefmt.format_in_zone
