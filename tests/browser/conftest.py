"""The browser-test harness: a live server in a thread, Debian's Chromium through Playwright.

See tests/browser/__init__.py for how tests use these fixtures.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Response, sync_playwright
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from eventsys.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # Without these, Chromium keeps calling hosts that this closed network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How long Playwright actions (click, fill, goto) wait before failing, in milliseconds.
ACTION_TIMEOUT_MS = 15_000

T = TypeVar("T")


# --- the live server -------------------------------------------------------------------------------------------


class _RequestHandler(WSGIRequestHandler):
    #: Seconds an idle keep-alive connection may stay open. Browser contexts close their connections when the
    #: test ends; this only bounds the wait at shutdown for one a test left open.
    timeout = 5


class _ErrorRecorder(logging.Handler):
    """Keeps the errors the app logs while serving (its 500 handler logs "Unhandled error" with the traceback)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


class LiveServer:
    """The app served on a real loopback port by a background thread."""

    def __init__(self, app: Flask, server: BaseWSGIServer, errors: _ErrorRecorder) -> None:
        self.app = app
        self.url = f"http://127.0.0.1:{server.server_port}"
        self._errors = errors

    @property
    def server_errors(self) -> list[str]:
        """Errors the app logged while serving this test. A test that provokes one on purpose clears this list."""
        return self._errors.records

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn`` in a fresh app context (its own session, a fresh view of the database) and commit.

        The objects it returns stay readable after the commit (their loaded columns are not expired) but are
        detached: load what you need, e.g. relationships, inside ``fn``.
        """
        with self.app.app_context():
            db.session().expire_on_commit = False
            result = fn(*args, **kwargs)
            db.session.commit()
            return result


@pytest.fixture
def live_server(committing_app: Flask) -> Iterator[LiveServer]:
    """The app on http://127.0.0.1:<free port>, with real commits; tables are emptied after the test."""
    server = make_server("127.0.0.1", 0, committing_app, threaded=True, request_handler=_RequestHandler)
    # Track the request threads so server_close() joins them: no request is still running when the
    # committing_app fixture empties the tables.
    server.daemon_threads = False
    errors = _ErrorRecorder()
    committing_app.logger.addHandler(errors)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    try:
        yield LiveServer(committing_app, server, errors)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        committing_app.logger.removeHandler(errors)
    if errors.records:
        pytest.fail("the app logged errors while serving this test:\n" + "\n\n".join(errors.records), pytrace=False)


# --- the browser ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless. The browser tests are part of every run: a missing browser is a failure."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(bootstrap.sh does that in `make test`)",
            pytrace=False,
        )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def browser_errors() -> list[str]:
    """What went wrong in this test's pages: console errors (CSP violations among them), uncaught exceptions,
    5xx responses. Filled by every context ``new_context`` makes."""
    return []


def _watch(context: BrowserContext, errors: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        source = (message.location or {}).get("url", "")
        page_url = message.page.url if message.page else "?"
        errors.append(f"console error on {page_url}: {message.text}" + (f" ({source})" if source else ""))

    def on_response(response: Response) -> None:
        if response.status >= 500:
            errors.append(f"HTTP {response.status} from {response.request.method} {response.url}")

    context.on("console", on_console)
    context.on("weberror", lambda error: errors.append(f"uncaught exception: {error.error}"))
    context.on("response", on_response)


@pytest.fixture
def new_context(
    chromium: Browser, live_server: LiveServer, browser_errors: list[str]
) -> Iterator[Callable[..., BrowserContext]]:
    """Make browser contexts whose relative URLs go to the live server; closed at the end of the test.

    Defaults: English (``locale="en-US"``), the viewer in UTC (``timezone_id="UTC"``); override either.
    """
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options = {"base_url": live_server.url, "locale": "en-US", "timezone_id": "UTC", **options}
        context = chromium.new_context(**options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        _watch(context, browser_errors)
        contexts.append(context)
        return context

    yield make
    # Closing the contexts closes their connections, so the live server can stop without waiting.
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page in a fresh context (no cookies): English, the viewer in UTC, relative URLs on the live server."""
    return new_context().new_page()
