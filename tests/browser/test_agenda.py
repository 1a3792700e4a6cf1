"""The agenda builder in Chromium: drag a session to another room and time, resize one, see the conflict
warning the server computed; a failed save reverts; and the no-JavaScript fallback form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from eventsys.agenda.models import Session
from eventsys.extensions import db
from tests import factories
from tests.browser import log_in

START = datetime(2030, 3, 10, 1, 0, tzinfo=UTC)  # 10:00 in Seoul


def _setup() -> dict:
    event = factories.EventFactory(timezone="Asia/Seoul", starts_at=START, ends_at=START + timedelta(hours=6))
    organizer = factories.organizer_of(event)
    a = factories.RoomFactory(event=event, name="Hall A", position=1)
    b = factories.RoomFactory(event=event, name="Hall B", position=2)
    alpha = factories.SessionFactory(
        event=event, title="Alpha", room=a, starts_at=START, ends_at=START + timedelta(minutes=30)
    )
    beta = factories.SessionFactory(
        event=event,
        title="Beta",
        room=b,
        starts_at=START + timedelta(hours=1),
        ends_at=START + timedelta(hours=1, minutes=30),
    )
    db.session.flush()
    return {"slug": event.slug, "email": organizer.email, "a": a.id, "b": b.id, "alpha": alpha.id, "beta": beta.id}


def _session(session_id: int) -> tuple:
    session = db.session.get(Session, session_id)
    return session.starts_at, session.ends_at, session.room_id


def _drag(page: Page, source, dx: float, dy: float) -> None:
    box = source.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 8
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=12)
    page.mouse.up()


def _builder(new_context, world) -> Page:
    page = new_context(viewport={"width": 1400, "height": 1000}).new_page()
    log_in(page, world["email"])
    page.goto(f"/manage/events/{world['slug']}/agenda")
    page.locator("[data-grid-scroll]").scroll_into_view_if_needed()
    return page


def test_drag_to_another_room_and_time_resize_and_see_the_conflict(live_server, new_context, browser_errors) -> None:
    world = live_server.run(_setup)
    page = _builder(new_context, world)
    expect(page.locator("[data-warnings-list]")).to_contain_text("No conflicts.")
    alpha = page.locator(f'.agenda-grid [data-session-id="{world["alpha"]}"]')
    beta = page.locator(f'.agenda-grid [data-session-id="{world["beta"]}"]')
    head_a = page.locator(f'[data-room-head="{world["a"]}"]').bounding_box()
    head_b = page.locator(f'[data-room-head="{world["b"]}"]').bounding_box()
    alpha_box, beta_box = alpha.bounding_box(), beta.bounding_box()

    # Alpha: from Hall A at 10:00 to Hall B at 11:10 (on top of Beta).
    _drag(page, alpha, head_b["x"] - head_a["x"], beta_box["y"] - alpha_box["y"] + 20)
    expect(page.locator("[data-builder-status]")).to_have_text("Saved.")
    expect(page.locator("[data-warnings-list]")).to_contain_text("“Beta” and “Alpha” overlap in Hall B.")
    starts_at, ends_at, room_id = live_server.run(_session, world["alpha"])
    assert room_id == world["b"]
    assert starts_at == START + timedelta(hours=1, minutes=10) and ends_at - starts_at == timedelta(minutes=30)

    # Beta: drag its bottom edge 30 minutes down.
    handle = page.locator(f'.agenda-grid [data-session-id="{world["beta"]}"] [data-resize]')
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2 + 60, steps=8)
    page.mouse.up()
    expect(page.locator("[data-builder-status]")).to_have_text("Saved.")
    starts_at, ends_at, room_id = live_server.run(_session, world["beta"])
    assert (starts_at, ends_at, room_id) == (START + timedelta(hours=1), START + timedelta(hours=2), world["b"])

    # Back to the side list: unscheduled. Alpha and Beta overlap now; drag whichever block is on top at the grab
    # point, and check that one leaves the grid.
    alpha = page.locator(f'.agenda-grid [data-session-id="{world["alpha"]}"]')
    alpha.scroll_into_view_if_needed()
    box = alpha.bounding_box()
    x, y = box["x"] + 6, box["y"] + 6
    grabbed = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('[data-session-id]').dataset.sessionId", [x, y]
    )
    aside = page.locator("[data-unscheduled]").bounding_box()
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(aside["x"] + aside["width"] / 2, aside["y"] + aside["height"] / 2, steps=12)
    page.mouse.up()
    expect(page.locator(f'[data-unscheduled-list] [data-session-id="{grabbed}"]')).to_be_visible()
    expect(page.locator("[data-warnings-list]")).to_contain_text("No conflicts.")
    assert live_server.run(_session, int(grabbed)) == (None, None, None)
    assert browser_errors == []


def test_a_failed_save_shows_the_error_and_reverts(live_server, new_context, browser_errors) -> None:
    world = live_server.run(_setup)
    page = _builder(new_context, world)
    # The session disappears behind the builder's back: the save answers 404 with a message.
    live_server.run(lambda: db.session.delete(db.session.get(Session, world["alpha"])))
    alpha = page.locator(f'.agenda-grid [data-session-id="{world["alpha"]}"]')
    before = alpha.bounding_box()
    _drag(page, alpha, 0, 120)
    expect(page.locator("[data-builder-status]")).to_contain_text("This session does not exist any more.")
    expect(page.locator("[data-builder-status]")).to_contain_text("back where it was")
    after = page.locator(f'.agenda-grid [data-session-id="{world["alpha"]}"]').bounding_box()
    assert abs(after["y"] - before["y"]) < 1
    # The failed request is the only error the page saw.
    assert all("404" in error for error in browser_errors), browser_errors
    browser_errors.clear()


def test_the_fallback_form_without_javascript(live_server, new_context) -> None:
    world = live_server.run(_setup)
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, world["email"])
    page.goto(f"/manage/events/{world['slug']}/agenda")
    expect(page.locator("[data-agenda-builder]")).to_be_hidden()
    page.get_by_role("link", name="Edit Alpha").click()
    page.get_by_label("Starts").fill("2030-03-10T12:00")
    page.get_by_label("Ends").fill("2030-03-10T12:45")
    page.get_by_label("Room", exact=True).select_option(label="Hall B")
    page.get_by_label("Room", exact=True).press("Tab")  # keyboard only: on to the Save button, then Enter
    page.locator("main").get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Session saved.")).to_be_visible()
    starts_at, ends_at, room_id = live_server.run(_session, world["alpha"])
    assert (starts_at, ends_at, room_id) == (
        START + timedelta(hours=2),
        START + timedelta(hours=2, minutes=45),
        world["b"],
    )
