"""Domain errors raised by services, and the HTML error pages."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A business rule said no. ``code`` is machine-readable; ``message`` is translated text for people.

    ``field`` names the form field the message belongs to, when there is one.
    """

    status = 400

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class NotAllowed(DomainError):
    """The acting user may not do this."""

    status = 403


def register_error_handlers(app: Flask) -> None:
    """Custom pages for HTTP errors; a 500 shows no traceback."""

    def render_http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        code = error.code or 500
        if code >= 500:
            code = 500
        template = f"errors/{code}.html" if code in (403, 404, 500) else "errors/generic.html"
        return render_template(template, error=error, code=code), code

    app.register_error_handler(HTTPException, render_http_error)

    @app.errorhandler(Exception)
    def internal_error(error: Exception):  # type: ignore[no-untyped-def]
        if isinstance(error, HTTPException):
            return render_http_error(error)
        app.logger.exception("Unhandled error")
        from eventsys.extensions import db

        db.session.rollback()
        return render_template("errors/500.html", code=500), 500
