"""Site-wide behaviour: health check, security headers, production settings, error pages, size limits."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from eventsys import ROOT, create_app
from eventsys.extensions import db
from tests import factories
from tests.conftest import Browser, make_app

# --- Health check -------------------------------------------------------------------------------------


def test_healthz_answers_ok_when_the_database_answers(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    "bogus_url",
    [
        "postgresql+psycopg://nobody@127.0.0.1:1/nothing?connect_timeout=2",
        "sqlite:////nonexistent-directory/for-sure/eventsys.db",
    ],
    ids=["postgresql-port-1", "sqlite-missing-directory"],
)
def test_healthz_answers_503_when_the_database_does_not(bogus_url: str) -> None:
    broken = make_app(bogus_url)
    try:
        response = broken.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json()["status"] == "error"
        assert "nobody" not in response.get_data(as_text=True)
    finally:
        with broken.app_context():
            db.engine.dispose()


# --- Security headers ---------------------------------------------------------------------------------


def _html_pages(browser: Browser, event, organizer) -> dict[str, object]:
    client = browser.client
    pages = {
        "home": client.get("/"),
        "event": client.get(f"/events/{event.slug}"),
        "login": client.get("/login"),
        "404": client.get("/no-such-page"),
        "405": client.get("/logout"),
        "400": client.post("/login", data={"email": "x@example.org"}),  # no CSRF token
    }
    assert browser.login(organizer.email).status_code == 302
    pages["my events"] = client.get("/manage/")
    pages["manage"] = client.get(f"/manage/events/{event.slug}/")
    pages["403"] = client.get("/admin/users")
    return pages


def _directives(policy: str) -> dict[str, list[str]]:
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=|<style", re.IGNORECASE)


def test_every_html_response_carries_the_security_headers(browser: Browser, event, organizer) -> None:
    pages = _html_pages(browser, event, organizer)
    expected_status = {"404": 404, "405": 405, "400": 400, "403": 403}
    for name, response in pages.items():
        assert response.status_code == expected_status.get(name, 200), name
        assert response.mimetype == "text/html", name
        headers = response.headers
        policy = _directives(headers.get("Content-Security-Policy", ""))
        assert policy.get("script-src") == ["'self'"], name
        assert policy.get("object-src") == ["'none'"], name
        assert policy.get("frame-ancestors") == ["'none'"], name
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"], name
        assert headers.get("X-Content-Type-Options") == "nosniff", name
        assert headers.get("Referrer-Policy") == "same-origin", name
        assert headers.get("X-Frame-Options") == "DENY", name


def test_pages_contain_nothing_the_policy_would_block(browser: Browser, event, organizer) -> None:
    """The policy forbids inline scripts, event-handler attributes and inline styles: a page using them
    would silently break in the browser."""
    for name, response in _html_pages(browser, event, organizer).items():
        html = response.get_data(as_text=True)
        assert not INLINE_SCRIPT.findall(html), name
        assert not EVENT_HANDLER.findall(html), name
        assert not INLINE_STYLE.findall(html), name


def test_scripts_and_styles_are_served_by_the_site_itself(client) -> None:
    html = client.get("/").get_data(as_text=True)
    assets = re.findall(r'<(?:script[^>]*\bsrc|link[^>]*\bhref)="([^"]+)"', html)
    assert assets
    for url in assets:
        assert url.startswith("/static/"), url
        with client.get(url) as asset:
            assert asset.status_code == 200, url


# --- Production settings ------------------------------------------------------------------------------


def _run_wsgi(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "EVENTSYS_CONFIG")}
    environment.update(EVENTSYS_INSTANCE_PATH=str(tmp_path), DATABASE_URL="sqlite://", **env)
    return subprocess.run(
        [sys.executable, "-c", "import wsgi; print(wsgi.app.config['SESSION_COOKIE_SECURE'])"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    done = _run_wsgi(tmp_path)  # EVENTSYS_CONFIG unset: production is the default
    assert done.returncode != 0
    assert "RuntimeError: SECRET_KEY is not set" in done.stderr
    assert _run_wsgi(tmp_path, SECRET_KEY="").returncode != 0
    started = _run_wsgi(tmp_path, SECRET_KEY="a-real-secret")
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "True"


def test_production_session_cookies_are_secure(database_url: str) -> None:
    production = create_app("production", SECRET_KEY="a-real-secret", SQLALCHEMY_DATABASE_URI=database_url)
    try:
        response = production.test_client().get("/login")  # the CSRF token starts a session
        assert response.status_code == 200
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("session=")
        assert "; Secure" in cookie
        assert "; HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        with production.app_context():
            db.engine.dispose()


def test_development_cookies_work_over_plain_http(client) -> None:
    cookie = client.get("/login").headers["Set-Cookie"]
    assert "; Secure" not in cookie


# --- Error pages --------------------------------------------------------------------------------------


def test_an_unknown_address_gets_the_custom_404_page(client) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "<h1>Page not found</h1>" in text
    assert "There is nothing at this address." in text
    assert 'href="/"' in text


def test_an_unknown_event_gets_the_custom_404_page(client) -> None:
    response = client.get("/events/no-such-event")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_a_crashing_view_shows_the_custom_500_page_without_a_traceback(database_url: str) -> None:
    crashing = make_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @crashing.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret-internal-detail in /srv/eventsys/boom.py")

    try:
        response = crashing.test_client().get("/boom")
        assert response.status_code == 500
        text = response.get_data(as_text=True)
        assert "<h1>Something went wrong</h1>" in text
        for leak in ("Traceback", "secret-internal-detail", "RuntimeError", "boom.py"):
            assert leak not in text
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" in response.headers
    finally:
        with crashing.app_context():
            db.engine.dispose()


def test_a_body_over_the_size_limit_gets_413_not_500(app: Flask, client) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 25 * 1024 * 1024
    body = b"email=" + b"x" * (limit + 1)
    response = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "The data sent is too large." in response.get_data(as_text=True)


def test_an_upload_over_the_size_limit_gets_413(app: Flask, client) -> None:
    body = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/login", data=body, content_type="multipart/form-data; boundary=frontier")
    assert response.status_code == 413
    assert "The data sent is too large." in response.get_data(as_text=True)


# --- Language switcher --------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\t/evil.example", "/\\evil"])
def test_the_language_switcher_never_leaves_the_site(target: str, browser: Browser) -> None:
    response = browser.post("/language", {"language": "ko", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_language_switcher_returns_to_the_page(browser: Browser, app: Flask) -> None:
    event = factories.EventFactory()
    response = browser.post("/language", {"language": "es", "next": f"/events/{event.slug}"})
    assert response.headers["Location"] == f"/events/{event.slug}"
    page = browser.client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert '<html lang="es">' in page
