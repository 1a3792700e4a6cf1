"""Flask's signed-cookie sessions, without the work Flask repeats on every request.

Flask builds a new signing serializer (key derivation set-up included) on every request, and works out the
cookie's seven settings before it sees that an empty, unmodified session needs no cookie at all. Most requests
of a door scanner, a calendar feed or a first visit carry no session: here the serializer is built once per
key set and an empty, untouched session is left at once (with ``Vary: Cookie`` when it was read, as Flask does).
Everything else is Flask's own code.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer
from werkzeug.wrappers import Response


class SessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializer: tuple[Any, URLSafeTimedSerializer | None] = (None, None)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built_for, serializer = self._serializer
        if built_for != keys:
            serializer = super().get_signing_serializer(app)
            self._serializer = (keys, serializer)
        return serializer

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:  # no cookie to set and none to delete
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
