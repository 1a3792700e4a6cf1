"""Smoke tests of the browser harness: an organizer's first event, the viewer's local time, a clean console, and
the keyboard path into the login form."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from eventsys.events.models import Event, EventStatus
from eventsys.extensions import db
from tests import factories
from tests.browser import log_in


def _organizer_email() -> str:
    """An account that may create events: the organizer of some other event."""
    return factories.organizer_of(factories.EventFactory()).email


def _event_by_slug(slug: str) -> Event | None:
    return db.session.scalar(sa.select(Event).where(Event.slug == slug))


def test_an_organizer_creates_publishes_and_shows_an_event(live_server, page: Page, new_context) -> None:
    email = live_server.run(_organizer_email)

    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.TEST_PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My events")).to_be_visible()

    page.get_by_role("link", name="Create an event").click()
    expect(page.get_by_role("heading", name="Create an event")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("WeGO Kick-off 2030")
    page.get_by_label("Short name for the address").fill("kickoff-2030")
    page.get_by_label("Kind").select_option(label="Kick-off")
    page.get_by_label("Format").select_option(label="In person")
    page.get_by_label("Time zone").select_option("Asia/Seoul")
    page.get_by_label("Starts").fill("2030-03-04T09:00")
    page.get_by_label("Ends").fill("2030-03-04T12:30")
    page.get_by_label("Venue", exact=True).fill("Seoul City Hall")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/manage/events/kickoff-2030/$"))
    expect(page.get_by_text("Event created as a draft.")).to_be_visible()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("WeGO Kick-off 2030")
    expect(heading.locator(".badge")).to_have_text("Draft")
    expect(page.locator(".facts")).to_contain_text("Asia/Seoul")

    event = live_server.run(_event_by_slug, "kickoff-2030")
    assert event is not None
    assert event.status is EventStatus.DRAFT
    assert event.timezone == "Asia/Seoul"
    # 09:00 in Seoul (UTC+9, no daylight saving) is midnight UTC.
    assert event.starts_at == datetime(2030, 3, 4, 0, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2030, 3, 4, 3, 30, tzinfo=UTC)

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("The event is published.")).to_be_visible()
    expect(heading.locator(".badge")).to_have_text("Published")
    assert live_server.run(_event_by_slug, "kickoff-2030").status is EventStatus.PUBLISHED

    # Someone without an account now finds it on the public page, in the event's own time zone.
    visitor = new_context().new_page()
    visitor.goto("/")
    visitor.get_by_role("link", name="WeGO Kick-off 2030").click()
    expect(visitor).to_have_url(re.compile(r"/events/kickoff-2030$"))
    expect(visitor.get_by_role("heading", level=1)).to_have_text("WeGO Kick-off 2030")
    when = visitor.locator(".event-page .when")
    expect(when).to_contain_text("9:00")
    expect(when).to_contain_text("Seoul, UTC+9")
    expect(visitor.get_by_text("Seoul City Hall")).to_be_visible()


def _hour_and_minute(local: datetime) -> re.Pattern[str]:
    """How an English 12-hour clock shows ``local``, e.g. "2:00 AM" (ICU may put a narrow space before AM)."""
    hour = local.hour % 12 or 12
    return re.compile(rf"\b{hour}:{local.minute:02d}\s?{'AM' if local.hour < 12 else 'PM'}")


@pytest.mark.parametrize("viewer_zone", ["Europe/Madrid", "America/Mexico_City"])
def test_the_public_page_shows_the_viewers_local_time(live_server, new_context, viewer_zone: str) -> None:
    starts = datetime(2030, 6, 14, 1, 0, tzinfo=UTC)  # 10:00 in Seoul
    slug = live_server.run(
        lambda: (
            factories.EventFactory(
                timezone="Asia/Seoul",
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                registration_closes_at=None,
            ).slug
        )
    )
    local_start = starts.astimezone(ZoneInfo(viewer_zone))
    local_end = (starts + timedelta(hours=3)).astimezone(ZoneInfo(viewer_zone))

    page = new_context(timezone_id=viewer_zone).new_page()
    page.goto(f"/events/{slug}")

    # The event's own zone, rendered by the server.
    expect(page.locator(".event-page .when")).to_contain_text("10:00 AM (Seoul, UTC+9)")
    # The viewer's, added by localtime.js: "Jun 14, 2030, 3:00 AM", a dash, the end, then "(Europe/Madrid)".
    note = page.locator("[data-local-time-note]")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Your local time:")
    expect(note).to_contain_text(_hour_and_minute(local_start))
    expect(note).to_contain_text(_hour_and_minute(local_end))
    expect(note).to_contain_text(f"{local_start:%b} {local_start.day}, {local_start.year}")
    expect(note).to_contain_text(f"({viewer_zone.replace('_', ' ')})")


def test_no_local_time_note_for_viewers_in_the_event_zone(live_server, new_context) -> None:
    slug = live_server.run(lambda: factories.EventFactory(timezone="Asia/Seoul", registration_closes_at=None).slug)
    page = new_context(timezone_id="Asia/Seoul").new_page()
    page.goto(f"/events/{slug}")
    expect(page.locator(".event-page .when")).to_contain_text("(Seoul, UTC+9)")
    expect(page.locator("[data-local-time-note]")).to_be_hidden()


def test_pages_run_without_console_errors_or_csp_violations(live_server, page: Page, browser_errors) -> None:
    slug = live_server.run(lambda: factories.EventFactory(name="Kick-off").slug)
    email = live_server.run(_organizer_email)

    response = page.goto(f"/events/{slug}")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # The script ran under the policy: the local-time note is only filled in by static/js/localtime.js.
    expect(page.locator("[data-local-time-note]")).to_be_visible()
    page.goto("/")
    log_in(page, email)
    page.get_by_role("link", name="Create an event").click()
    expect(page.get_by_role("heading", name="Create an event")).to_be_visible()

    assert browser_errors == []


def test_the_login_page_works_from_the_keyboard(live_server, page: Page) -> None:
    page.goto("/login")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # it slides into view when focused
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    expect(page.get_by_label("Email")).to_have_attribute("type", "email")
    expect(page.get_by_label("Password")).to_have_attribute("type", "password")
    page.get_by_label("Email").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
