"""Signed-cookie sessions (eventsys.common.sessions): the serializer is built once per key set."""

from __future__ import annotations

from flask import Flask

from eventsys.common.sessions import SessionInterface
from tests.conftest import Browser


def test_the_app_uses_the_session_interface(app: Flask) -> None:
    assert isinstance(app.session_interface, SessionInterface)


def test_a_new_secret_key_ends_sessions_unless_the_old_one_is_a_fallback(organizer_client: Browser, app: Flask) -> None:
    client = organizer_client.client
    assert client.get("/manage/").status_code == 200
    old = app.secret_key

    app.secret_key = "rotated-" + str(old)
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert client.get("/manage/").status_code == 200  # still signed in: the old key is accepted

    app.config["SECRET_KEY_FALLBACKS"] = []
    page = client.get("/manage/")
    assert page.status_code == 302  # the cookie was signed with the old key only: signed out
    assert page.headers["Location"].startswith("/login")


def test_a_request_without_a_session_gets_no_cookie(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
