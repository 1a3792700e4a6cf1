"""Logging in and out, and the throttling of failed logins (per account and per address).

The conftest's ``app`` fixture keeps one app context for the whole test, so ``flask.g`` would carry
the logged-in user and the CSRF token from one request (and one client) to the next. The autouse
fixture below empties ``g`` when each request starts, as a real server does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eventsys import ROOT
from eventsys.accounts.models import User
from eventsys.extensions import db, limiter
from tests import factories
from tests.conftest import TEST_PASSWORD, Browser, make_app

LOCKED_OUT = "Too many failed attempts"
WRONG = "Wrong email or password."


def _logged_in_user_id(client: FlaskClient) -> str | None:
    """The user id in the session cookie the browser holds (what the next request would use)."""
    with client.session_transaction() as session:
        return session.get("_user_id")


def _fail(browser: Browser, email: str, **kwargs: object):
    return browser.post("/login", {"email": email, "password": "not the password"}, **kwargs)


# --- Logging in ----------------------------------------------------------------------------------------


def test_the_right_password_logs_in_and_opens_my_events(browser: Browser, event, organizer) -> None:
    response = browser.login(organizer.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/manage/"
    assert _logged_in_user_id(browser.client) == str(organizer.id)
    page = browser.client.get("/manage/")
    assert page.status_code == 200
    assert event.name in page.get_data(as_text=True)
    db.session.expire_all()
    assert organizer.last_login_at is not None


def test_a_safe_next_page_is_followed(browser: Browser, event, organizer) -> None:
    target = f"/manage/events/{event.slug}/edit?tab=times"
    response = browser.post("/login", _creds(organizer), query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == target


def _creds(user: User, password: str = TEST_PASSWORD) -> dict[str, str]:
    return {"email": user.email, "password": password}


OFF_SITE = [
    "//evil.example",
    "https://evil.example",
    "http:evil.example",
    "///evil.example",
    "/\\evil.example",
    "/\t/evil.example",  # browsers drop tabs and newlines from URLs: this is //evil.example
    "/\n/evil.example",
    " //evil.example",
    "evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_next_never_leaves_the_site(target: str, browser: Browser, organizer) -> None:
    response = browser.client.post(
        "/login", query_string={"next": target}, data={"csrf_token": browser.csrf_token(), **_creds(organizer)}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/manage/"
    # Already logged in: the login page sends the user on, and still not off-site.
    again = browser.client.get("/login", query_string={"next": target})
    assert again.status_code == 302
    assert again.headers["Location"] == "/manage/"


def test_a_wrong_password_is_refused_without_a_session(browser: Browser, organizer) -> None:
    response = browser.login(organizer.email, "not the password")
    assert response.status_code == 400
    assert WRONG in response.get_data(as_text=True)
    assert _logged_in_user_id(browser.client) is None
    assert browser.client.get("/manage/").headers["Location"].startswith("/login")
    db.session.expire_all()
    assert organizer.last_login_at is None


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(browser: Browser) -> None:
    response = browser.login("nobody@example.org")
    assert response.status_code == 400
    assert WRONG in response.get_data(as_text=True)
    assert _logged_in_user_id(browser.client) is None


@pytest.mark.parametrize(
    "creds",
    [
        {"email": "user\x00@example.org", "password": TEST_PASSWORD},
        {"email": "user@example.org", "password": "pass\x00word"},
        {"email": "\x1b[31m@example.org", "password": TEST_PASSWORD},
    ],
    ids=["nul-in-email", "nul-in-password", "escape-in-email"],
)
def test_control_characters_are_refused_without_an_error_page(creds: dict[str, str], browser: Browser) -> None:
    response = browser.post("/login", creds)
    assert response.status_code == 400
    assert "Something went wrong" not in response.get_data(as_text=True)
    assert _logged_in_user_id(browser.client) is None


def test_a_deactivated_account_cannot_log_in(browser: Browser) -> None:
    user = factories.UserFactory(active=False)
    response = browser.login(user.email)
    assert response.status_code == 400
    assert WRONG in response.get_data(as_text=True)
    assert _logged_in_user_id(browser.client) is None
    assert browser.client.get("/manage/").status_code == 302


def test_deactivating_an_account_ends_its_open_session(browser: Browser, event, organizer) -> None:
    assert browser.login(organizer.email).status_code == 302
    assert browser.client.get(f"/manage/events/{event.slug}/").status_code == 200
    organizer.active = False
    db.session.flush()
    response = browser.client.get(f"/manage/events/{event.slug}/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_email_is_case_insensitive(browser: Browser, organizer) -> None:
    response = browser.login("  " + organizer.email.upper() + " ")
    assert response.status_code == 302
    assert _logged_in_user_id(browser.client) == str(organizer.id)


def test_logout_needs_a_post_with_the_csrf_token_and_ends_the_session(organizer_client: Browser, organizer) -> None:
    client = organizer_client.client
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token
    assert _logged_in_user_id(client) == str(organizer.id)
    assert client.get("/manage/").status_code == 200

    response = organizer_client.logout()
    assert response.status_code == 302
    assert _logged_in_user_id(client) is None
    page = client.get("/manage/")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login")


# --- Throttling: per account ---------------------------------------------------------------------------


def test_five_failures_lock_the_account_even_for_the_right_password(browser: Browser, organizer) -> None:
    for _ in range(5):
        assert _fail(browser, organizer.email).status_code == 400
    response = browser.login(organizer.email)
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "Too many failed attempts. Please wait a few minutes before you try again." in text
    assert _logged_in_user_id(browser.client) is None
    # Spelled differently, it is still the same account.
    assert browser.login(organizer.email.upper()).status_code == 429


def test_a_locked_account_does_not_lock_others_from_the_same_address(browser: Browser, organizer) -> None:
    colleague = factories.UserFactory()
    for _ in range(5):
        _fail(browser, organizer.email)
    for _ in range(20):  # the locked-out user keeps trying; refused attempts test no password
        assert browser.login(organizer.email).status_code == 429
    response = browser.login(colleague.email)
    assert response.status_code == 302
    assert _logged_in_user_id(browser.client) == str(colleague.id)


def test_successful_logins_do_not_count(browser: Browser, organizer) -> None:
    for _ in range(25):  # more than the per-account and per-address limits per minute
        assert browser.login(organizer.email).status_code == 302
        assert browser.logout().status_code == 302
    for _ in range(4):
        assert _fail(browser, organizer.email).status_code == 400
    assert browser.login(organizer.email).status_code == 302


class _Clock:
    """Stands in for ``time`` in the limiter's in-memory storage, so a test can let minutes pass."""

    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    import time

    import limits.storage.memory

    fake = _Clock(time.time())
    monkeypatch.setattr(limits.storage.memory, "time", types.SimpleNamespace(time=fake.time))
    return fake


def test_the_lock_lifts_after_a_minute_even_when_the_user_kept_trying(
    browser: Browser, organizer, clock: _Clock
) -> None:
    for _ in range(5):
        _fail(browser, organizer.email)
    # An impatient user keeps trying while locked out: refused attempts check no password, so they
    # must not use up the hourly allowance (20 per hour) and keep the account locked for an hour.
    for _ in range(20):
        assert browser.login(organizer.email).status_code == 429
    clock.now += 61
    assert browser.login(organizer.email).status_code == 302


def test_retrying_while_the_address_is_locked_does_not_lock_the_account(
    browser: Browser, organizer, clock: _Clock
) -> None:
    """Colleagues behind one office address: someone else's typos lock the address for a minute, and the
    organizer's refused attempts meanwhile must not count as failures of the organizer's account."""
    for n in range(20):
        _fail(browser, f"guess{n}@example.org")
    for _ in range(20):
        assert browser.login(organizer.email).status_code == 429
    clock.now += 61
    assert browser.login(organizer.email).status_code == 302


def test_the_hourly_limit_holds_after_the_minute(browser: Browser, organizer, clock: _Clock) -> None:
    for _ in range(4):  # 4 minutes of 5 failures each: 20 per hour
        for _ in range(5):
            assert _fail(browser, organizer.email).status_code == 400
        clock.now += 61
    assert browser.login(organizer.email).status_code == 429
    clock.now += 3600
    assert browser.login(organizer.email).status_code == 302


# --- Throttling: per address ---------------------------------------------------------------------------


def test_twenty_failures_from_one_address_lock_that_address_only(browser: Browser, organizer) -> None:
    for n in range(20):
        assert _fail(browser, f"guess{n}@example.org").status_code == 400
    response = browser.login(organizer.email)
    assert response.status_code == 429
    assert LOCKED_OUT in response.get_data(as_text=True)
    assert _logged_in_user_id(browser.client) is None

    elsewhere = browser.post("/login", _creds(organizer), environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert elsewhere.status_code == 302
    assert _logged_in_user_id(browser.client) == str(organizer.id)


def test_a_forged_x_forwarded_for_does_not_escape_the_address_limit(browser: Browser, organizer) -> None:
    """Without a configured proxy, the client's own X-Forwarded-For header is not believed."""
    for n in range(20):
        headers = {"X-Forwarded-For": f"192.0.2.{n}"}
        assert _fail(browser, f"guess{n}@example.org", headers=headers).status_code == 400
    response = browser.post("/login", _creds(organizer), headers={"X-Forwarded-For": "192.0.2.200"})
    assert response.status_code == 429


def _fresh_browser(app: Flask, remote_addr: str = "127.0.0.1", forwarded_for: str | None = None) -> Browser:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = remote_addr
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return Browser(client)


def test_behind_a_proxy_each_client_has_its_own_address_limit(database_url: str, _schema: None) -> None:
    """Behind nginx every request comes from 127.0.0.1; with TRUSTED_PROXIES=1 the limit is per real client."""
    app = make_app(database_url, TRUSTED_PROXIES=1)
    limiter.reset()
    try:
        attacker = _fresh_browser(app, forwarded_for="198.51.100.7")
        for n in range(20):
            assert _fail(attacker, f"guess{n}@example.org").status_code == 400
        assert _fail(attacker, "guess-more@example.org").status_code == 429
        colleague = _fresh_browser(app, forwarded_for="203.0.113.9")
        assert _fail(colleague, "typo@example.org").status_code == 400
    finally:
        limiter.reset()
        with app.app_context():
            db.engine.dispose()


# --- Throttling shared between app servers through Redis -----------------------------------------------

REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_db() -> Iterator[object]:
    import redis

    connection = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError as error:  # pragma: no cover - the environment's fault
        pytest.fail(
            f"Redis must run on 127.0.0.1:6379 for the shared-throttling test (start it with redis-server): {error}"
        )
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def _servers_share_failures(database_url: str, storage_uri: str) -> int:
    """Fail 3 times on server A, then 3 times on server B; the status of the last attempt on B."""
    server_a = make_app(database_url, RATELIMIT_STORAGE_URI=storage_uri)
    browser_a = _fresh_browser(server_a)
    statuses = [_fail(browser_a, "shared@example.org").status_code for _ in range(3)]
    server_b = make_app(database_url, RATELIMIT_STORAGE_URI=storage_uri)
    browser_b = _fresh_browser(server_b)
    statuses += [_fail(browser_b, "shared@example.org").status_code for _ in range(3)]
    for server in (server_a, server_b):
        with server.app_context():
            db.engine.dispose()
    assert statuses[:5] == [400] * 5
    return statuses[5]


def test_app_servers_share_the_failure_count_through_redis(database_url: str, _schema: None, redis_db) -> None:
    try:
        assert _servers_share_failures(database_url, REDIS_TEST_URL) == 429
        assert any(b"login-account" in key for key in redis_db.keys("*")), "the counts must live in Redis"
        # The control: with per-process memory, the second server starts from zero.
        assert _servers_share_failures(database_url, "memory://") == 400
    finally:
        limiter.reset()


REDIS_DOWN_SCRIPT = """
import re
from eventsys import create_app
from eventsys.extensions import db
app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", PROPAGATE_EXCEPTIONS=False,
                 RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
with app.app_context():
    db.create_all()
client = app.test_client()
token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
form = {"csrf_token": token, "email": "someone@example.org", "password": "not the password"}
print(*(client.post("/login", data=form).status_code for _ in range(6)))
"""


def test_logins_keep_working_and_throttled_when_redis_is_down() -> None:
    """Redis unreachable (port 1): logins must not fail with 500; the limits still hold, counted in memory.

    In a separate process, because the limiter remembers a dead storage across apps in one process."""
    done = subprocess.run(
        [sys.executable, "-c", REDIS_DOWN_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["400"] * 5 + ["429"]


def test_redis_url_becomes_the_limiter_storage() -> None:
    """REDIS_URL in the environment (as a deployment sets it) puts the login counts in Redis."""
    code = (
        "from eventsys import create_app\n"
        "from eventsys.extensions import limiter\n"
        "app = create_app('production', SQLALCHEMY_DATABASE_URI='sqlite://')\n"
        "print(app.config['RATELIMIT_STORAGE_URI'], type(limiter.storage).__name__)\n"
    )
    env = {**os.environ, "REDIS_URL": REDIS_TEST_URL, "SECRET_KEY": "from-the-environment"}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [REDIS_TEST_URL, "RedisStorage"]
