"""Fixtures: an app per test on a real database, each test rolled back; a client; logged-in users.

The database is SQLite in a temporary file by default, or PostgreSQL when TEST_DATABASE_URL is set.
Tables are created once per run. Each test runs inside one outer transaction that is rolled back
("join a Session into an external transaction"), so tests never see each other's rows.
Tests that need real commits from several connections (browser and concurrency tests) use
``committing_app`` instead, which empties the tables afterwards.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, g, request_started
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession

from eventsys import create_app
from eventsys.extensions import db as _db
from eventsys.extensions import limiter
from tests import factories

TEST_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return url


def make_app(database_url: str, **overrides: object) -> Flask:
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=database_url,
        PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
        **overrides,
    )
    # Each request starts with an empty ``g``, as in production where every request has its own app
    # context. Tests keep one app context open, and without this Flask-Login's user, Flask-WTF's token
    # and Flask-Babel's locale would leak from one request (and one client) to the next.
    request_started.connect(_clear_request_globals, app)
    return app


def _clear_request_globals(sender: Flask, **_extra: object) -> None:
    g.__dict__.clear()


@pytest.fixture(scope="session")
def _schema(database_url: str) -> Iterator[None]:
    """Create every table once for the run, from a clean slate."""
    app = make_app(database_url)
    with app.app_context():
        _drop_everything()
        _db.create_all()
    yield
    with app.app_context():
        _drop_everything()
        _db.engine.dispose()


def _drop_everything() -> None:
    _db.drop_all()
    with _db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


class _ConnectionBoundSession(FlaskSQLAlchemySession):
    """Flask-SQLAlchemy's session always picks the engine; this one uses the test's connection."""

    def get_bind(self, *args: object, **kwargs: object) -> sa.Connection:
        return self.bind


@pytest.fixture
def app(database_url: str, _schema: None) -> Iterator[Flask]:
    """The app, with an app context pushed and every write rolled back at the end of the test."""
    app = make_app(database_url)
    limiter.reset()
    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        original_session = _db.session
        _db.session = _db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": _ConnectionBoundSession}
        )
        try:
            yield app
        finally:
            _db.session.remove()
            _db.session = original_session
            outer.rollback()
            connection.close()
            _db.engine.dispose()


@pytest.fixture
def committing_app(database_url: str, _schema: None) -> Iterator[Flask]:
    """The app with real commits, for tests that use several connections; tables are emptied afterwards."""
    app = make_app(database_url)
    limiter.reset()
    with app.app_context():
        try:
            yield app
        finally:
            _db.session.remove()
            with _db.engine.begin() as connection:
                for table in reversed(_db.metadata.sorted_tables):
                    connection.execute(table.delete())
            _db.engine.dispose()


@pytest.fixture
def db(app: Flask):
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


class Browser:
    """A few steps a person takes, on top of the Flask test client: log in, submit forms with their token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf_token(self) -> str:
        page = self.client.get("/").get_data(as_text=True)
        match = CSRF_RE.search(page)
        assert match, "the base layout must carry the CSRF token"
        return match.group(1)

    def post(self, url: str, data: dict[str, object] | None = None, **kwargs: object):
        payload = {"csrf_token": self.csrf_token(), **(data or {})}
        return self.client.post(url, data=payload, **kwargs)

    def login(self, email: str, password: str = TEST_PASSWORD):
        return self.post("/login", {"email": email, "password": password})

    def logout(self):
        return self.post("/logout")


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


@pytest.fixture
def event(app: Flask):
    return factories.EventFactory()


@pytest.fixture
def organizer(event):
    return factories.organizer_of(event)


@pytest.fixture
def organizer_client(browser: Browser, organizer) -> Browser:
    response = browser.login(organizer.email)
    assert response.status_code == 302
    return browser


@pytest.fixture
def admin_client(browser: Browser, app: Flask) -> Browser:
    admin = factories.UserFactory(is_site_admin=True)
    assert browser.login(admin.email).status_code == 302
    return browser


@pytest.fixture
def mail_outbox(app: Flask) -> Iterator[list]:
    """Messages sent with the test configuration's in-memory mail backend, emptied for this test."""
    from eventsys.common.mail import outbox

    outbox.clear()
    yield outbox
    outbox.clear()


@pytest.fixture
def smtp_controller():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port; ``.messages`` is what it received.

    It refuses recipients whose address contains "bounce" with 550 and defers those containing "defer" (451).
    """
    from tests.common.smtp_server import SmtpServer

    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server(app: Flask, smtp_controller):
    """The app sends its mail through SMTP to ``smtp_controller``."""
    app.config.update(
        MAIL_BACKEND="smtp",
        MAIL_SERVER=smtp_controller.host,
        MAIL_PORT=smtp_controller.port,
        MAIL_USE_TLS=False,
        MAIL_USE_SSL=False,
        MAIL_USERNAME=None,
        MAIL_TIMEOUT=5,
    )
    return smtp_controller


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/browser are browser tests."""
    for item in items:
        if Path(str(item.fspath)).parent.name == "browser":
            item.add_marker(pytest.mark.browser)
