"""Browser tests: a real Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live server.

Fixtures (tests/browser/conftest.py):

- ``live_server``: the app on http://127.0.0.1:<free port> in a background thread, on ``committing_app``
  (real commits; every table is emptied after the test). ``live_server.url``, ``live_server.app``,
  ``live_server.run(fn, *args)`` runs ``fn`` in a fresh app context and commits, e.g.::

      slug = live_server.run(lambda: factories.EventFactory(timezone="Asia/Seoul").slug)
      event = live_server.run(lambda: db.session.scalar(sa.select(Event).where(Event.slug == slug)))

  Objects ``run`` returns are detached but keep their loaded columns; load relationships inside ``fn``.
  Unhandled errors the app logs while serving fail the test (see ``live_server.server_errors``).
- ``page``: a new page in a new browser context (English, UTC) whose relative URLs go to the live server.
- ``new_context(**options)``: more contexts, e.g. ``new_context(timezone_id="Europe/Madrid")``; closed for you.
- ``browser_errors``: console errors, uncaught exceptions, CSP violations and 5xx responses of every page of
  this test's contexts, as text; assert it is empty where a page must run clean.
- ``chromium`` / ``playwright``: the session-wide browser and Playwright, for anything else.

``log_in(page, email)`` below logs in through the real form.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.factories import TEST_PASSWORD


def log_in(page: Page, email: str, password: str = TEST_PASSWORD) -> None:
    """Log in through the login form and wait until the app has redirected away from it."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url("**/login*")
