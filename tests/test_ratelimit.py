"""The rate limiter runs only where a view declares a limit (eventsys.common.ratelimit)."""

from __future__ import annotations

import pytest
from flask import Flask

from eventsys.common.ratelimit import hooks_only_where_limited, limited_endpoints
from eventsys.extensions import limiter
from tests.conftest import Browser


def test_the_login_form_is_the_limited_endpoint(app: Flask) -> None:
    assert limited_endpoints(app, limiter) == {"accounts.login"}


def test_the_login_answers_carry_the_limit_headers_and_other_pages_do_not(browser: Browser, app: Flask) -> None:
    failed = browser.login("nobody@example.org", "wrong password")
    assert failed.status_code == 400
    assert int(failed.headers["X-RateLimit-Limit"]) > 0  # counted: the login form is limited
    assert "X-RateLimit-Remaining" in failed.headers

    page = browser.client.get("/")
    assert page.status_code == 200
    assert not [name for name, _value in page.headers if name.lower().startswith("x-ratelimit")]


def test_an_app_whose_limiter_hooks_moved_refuses_to_start(app: Flask) -> None:
    # Once wrapped, the hooks are no longer the limiter's own: a second pass finds none and says so.
    with pytest.raises(RuntimeError, match="Flask-Limiter's request hooks"):
        hooks_only_where_limited(app, limiter)
