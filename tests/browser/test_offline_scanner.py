"""The scanner page offline in Chromium: door pack, WebCrypto verification, a queue that survives a reload, upload.

A door device's page syncs its door pack and caches itself (service worker); then the network goes away
(``context.set_offline(True)``) and badges are scanned through the keyboard-wedge field.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from eventsys.checkin import badges
from eventsys.checkin.models import CheckIn, CheckInConflict
from eventsys.extensions import db
from tests import factories
from tests.browser import log_in
from tests.checkin.checkin_helpers import attendee, day_list, event_today

WEDGE = "Badge code (USB scanner or typing, then Enter)"
DEBOUNCE_S = 1.6  # past the scanner's debounce of repeated reads


def open_door(context: BrowserContext, token: str) -> Page:
    """The door's page, synced and cached: ready to work offline."""
    page = context.new_page()
    page.goto(f"/door/{token}")
    expect(page.locator("#scanner")).to_have_attribute("data-offline-ready", "true")
    expect(page.locator("#offline-status")).to_have_attribute("data-online", "true")
    return page


def scan(page: Page, code: str) -> None:
    page.get_by_label(WEDGE).focus()
    page.keyboard.type(code, delay=2)
    page.keyboard.press("Enter")


def queue_of(page: Page) -> list[dict]:
    """The scans queued in the page's IndexedDB."""
    return page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open("eventsys-door");
            open.onsuccess = () => {
                const read = open.result.transaction("queue").objectStore("queue").getAll();
                read.onsuccess = () => { open.result.close(); resolve(read.result); };
                read.onerror = () => reject(read.error);
            };
            open.onerror = () => reject(open.error);
        })"""
    )


def expect_result(page: Page, result: str, css: str) -> None:
    overlay = page.locator("#result")
    expect(overlay).to_have_attribute("data-result", result)
    expect(overlay).to_have_attribute("data-offline", "true")
    expect(overlay).to_have_class(f"result {css}")
    expect(page.locator("#result-offline")).to_be_visible()
    expect(page.locator("#result-offline")).to_have_text("Offline")


def entries(badge_id: int) -> list[tuple[str, str, datetime]]:
    rows = db.session.scalars(
        sa.select(CheckIn).where(CheckIn.badge_id == badge_id, CheckIn.annulled_at.is_(None)).order_by(CheckIn.id)
    )
    return [(row.nonce, row.door, row.scanned_at) for row in rows]


def test_a_door_scans_offline_survives_a_reload_and_uploads_the_offline_times(
    live_server, new_context, browser_errors
) -> None:
    def build() -> dict:
        event = event_today(name="WeGO Kick-off")
        valid = attendee(event, name="Kim Valid")
        twice = attendee(event, name="Twice Scanned", accessibility_needs="Wheelchair access")
        lost = attendee(event, name="Lost Badge")
        badges.reissue_badge(lost)  # the old code is revoked
        device = factories.DoorDeviceFactory(event=event, name="North door")
        day_list(event)
        db.session.flush()
        return {
            "token": device.token,
            "valid": (valid.id, valid.code),
            "twice": (twice.id, twice.code),
            "lost": (lost.id, lost.code),
        }

    world = live_server.run(build)
    context = new_context(timezone_id="Asia/Seoul")
    page = open_door(context, world["token"])

    context.set_offline(True)
    status = page.locator("#offline-status")
    expect(status).to_have_attribute("data-online", "false")
    expect(page.locator("#net-state")).to_have_text("Offline")

    scan(page, world["valid"][1])
    expect_result(page, "ok", "result-ok")
    expect(page.locator("#result-name")).to_have_text("Kim Valid")

    scan(page, world["lost"][1])
    expect_result(page, "revoked", "result-bad")

    scan(page, world["twice"][1])
    expect_result(page, "ok", "result-attention")  # needs flagged: purple, from the door pack
    expect(page.locator("#result-attention")).to_contain_text("Wheelchair access")
    page.wait_for_timeout(DEBOUNCE_S * 1000)
    scan(page, world["twice"][1])
    expect_result(page, "already_checked_in", "result-warn")
    expect(page.locator("#result-first")).to_contain_text("at North door")

    expect(status).to_have_attribute("data-queued", "2")
    queued = {item["badge"]: item for item in queue_of(page)}
    assert set(queued) == {str(world["valid"][0]), str(world["twice"][0])}
    # Nothing reached the server while offline. (Checked before the reload: Chromium applies the offline
    # emulation to the reloaded document a moment late, and on a loaded CI machine the page's first upload
    # attempt once got through in that moment. Any upload is idempotent by nonce: the end result is checked below.)
    assert live_server.run(lambda: db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn))) == 0

    # Closing or reloading loses nothing: the page comes from the service worker, the queue from IndexedDB.
    page.reload()
    expect(page.locator("#scanner")).to_have_attribute("data-offline-loaded", "true")
    expect(page.locator("#upload-note")).to_be_hidden()
    expect(status).to_have_attribute("data-online", "false")
    expect(status).to_have_attribute("data-queued", "2")
    expect(page.locator("#queued-count")).to_have_text("2")

    page.wait_for_timeout(1000)  # the upload happens clearly later than the scans
    context.set_offline(False)
    expect(status).to_have_attribute("data-online", "true")
    expect(status).to_have_attribute("data-queued", "0")
    expect(page.locator("#upload-note")).to_have_text("2 queued scans uploaded.")

    def stored() -> dict:
        return {
            "valid": entries(world["valid"][0]),
            "twice": entries(world["twice"][0]),
            "lost": entries(world["lost"][0]),
            "all": db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)),
            "conflicts": db.session.scalar(sa.select(sa.func.count()).select_from(CheckInConflict)),
        }

    server = live_server.run(stored)
    for name in ("valid", "twice"):
        item = queued[str(world[name][0])]
        offline_time = datetime.fromisoformat(item["scanned_at"].replace("Z", "+00:00"))
        assert server[name] == [(item["nonce"], "North door", offline_time)], name
    assert server["lost"] == [] and server["all"] == 2 and server["conflicts"] == 0
    assert browser_errors == []


def test_two_doors_scan_the_same_badge_offline_one_entry_and_everyone_sees_the_duplicate(
    live_server, new_context, browser_errors
) -> None:
    def build() -> dict:
        event = event_today(name="WeGO General Assembly")
        badge = attendee(event, name="Oh Se-hoon")
        north = factories.DoorDeviceFactory(event=event, name="North door")
        south = factories.DoorDeviceFactory(event=event, name="South door")
        organizer = factories.organizer_of(event)
        day_list(event)
        db.session.flush()
        return {
            "slug": event.slug,
            "badge": (badge.id, badge.code),
            "north": north.token,
            "south": south.token,
            "organizer": organizer.email,
        }

    world = live_server.run(build)
    north_context, south_context = new_context(), new_context()
    north, south = open_door(north_context, world["north"]), open_door(south_context, world["south"])
    north_context.set_offline(True)
    south_context.set_offline(True)
    expect(north.locator("#offline-status")).to_have_attribute("data-online", "false")
    expect(south.locator("#offline-status")).to_have_attribute("data-online", "false")

    scan(north, world["badge"][1])  # first, at the north door
    expect_result(north, "ok", "result-ok")
    north.wait_for_timeout(300)
    scan(south, world["badge"][1])  # then at the south door, which cannot know
    expect_result(south, "ok", "result-ok")
    (north_scan,) = queue_of(north)
    (south_scan,) = queue_of(south)

    # The later scan reaches the server first; the earlier one takes the entry over when its door comes back.
    south_context.set_offline(False)
    expect(south.locator("#offline-status")).to_have_attribute("data-queued", "0")
    expect(south.locator("#upload-note")).to_have_text("1 queued scan uploaded.")
    north_context.set_offline(False)
    expect(north.locator("#offline-status")).to_have_attribute("data-queued", "0")
    south.evaluate("window.eventsysOffline.refresh(false)")  # its next sync (every minute)

    def stored() -> tuple[list, list]:
        conflicts = db.session.scalars(sa.select(CheckInConflict)).all()
        return entries(world["badge"][0]), [(c.nonce, c.door, c.result) for c in conflicts]

    kept, conflicts = live_server.run(stored)
    north_time = datetime.fromisoformat(north_scan["scanned_at"].replace("Z", "+00:00"))
    assert kept == [(north_scan["nonce"], "North door", north_time)]
    assert conflicts == [(south_scan["nonce"], "South door", "already_checked_in")]

    for page in (north, south):
        notice = page.locator(f'#notice-list li[data-nonce="{south_scan["nonce"]}"]')
        expect(notice).to_contain_text("Oh Se-hoon")
        expect(notice).to_contain_text("Scanned at two doors")
        expect(notice).to_contain_text("South door")
        expect(notice).to_contain_text("kept: North door")

    dashboard = new_context().new_page()
    log_in(dashboard, world["organizer"])
    dashboard.goto(f"/manage/events/{world['slug']}/checkin/")
    row = dashboard.locator('[data-table="offline_conflicts"] tr')
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Oh Se-hoon")
    expect(row).to_contain_text("South door")
    expect(row).to_contain_text("Duplicate: kept North door")
    assert browser_errors == []


def stored_databases(page: Page) -> list[str]:
    return page.evaluate("async () => (await indexedDB.databases()).map((db) => db.name)")


def test_a_revoked_door_stops_syncing_and_forgets_its_data(live_server, new_context, browser_errors) -> None:
    from eventsys.checkin import services
    from eventsys.checkin.models import DoorDevice

    def build() -> dict:
        event = event_today()
        badge = attendee(event, name="Queued Person")
        device = factories.DoorDeviceFactory(event=event, name="East door")
        day_list(event)
        db.session.flush()
        return {"token": device.token, "device": device.id, "code": badge.code, "badge": badge.id}

    world = live_server.run(build)
    context = new_context()
    page = open_door(context, world["token"])
    assert stored_databases(page) == ["eventsys-door"]
    context.set_offline(True)
    scan(page, world["code"])
    expect_result(page, "ok", "result-ok")
    expect(page.locator("#offline-status")).to_have_attribute("data-queued", "1")

    live_server.run(lambda: services.revoke_device(db.session.get(DoorDevice, world["device"])))
    context.set_offline(False)  # reconnects: the upload is refused (401), and the page forgets everything
    expect(page.locator("#offline-alert")).to_contain_text("This door was revoked")
    expect(page.locator("#scanner")).to_have_attribute("data-wiped", "true")
    expect(page.locator("#offline-status")).to_have_attribute("data-queued", "0")
    assert stored_databases(page) == []
    assert page.evaluate("async () => (await caches.keys()).filter((k) => k.startsWith('eventsys-scanner'))") == []
    assert live_server.run(lambda: entries(world["badge"])) == []
    # The page no longer comes back offline: the service worker and its cache are gone.
    context.set_offline(True)
    try:
        page.reload()
    except Exception as error:  # Chromium's offline error page
        assert "ERR_INTERNET_DISCONNECTED" in str(error)
    else:
        raise AssertionError("the revoked door's page still loads offline")
    browser_errors[:] = [e for e in browser_errors if "401" not in e and "ERR_INTERNET_DISCONNECTED" not in e]
    assert browser_errors == []


def test_logging_out_at_the_door_clears_the_stored_data(live_server, new_context, browser_errors) -> None:
    def build() -> dict:
        event = event_today()
        attendee(event, name="Private Person")
        staff = factories.door_staff_of(event)
        db.session.flush()
        return {"slug": event.slug, "email": staff.email}

    world = live_server.run(build)
    page = new_context().new_page()
    log_in(page, world["email"])
    page.goto(f"/manage/events/{world['slug']}/checkin/scan")
    expect(page.locator("#scanner")).to_have_attribute("data-offline-ready", "true")
    assert "Private Person" in page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("eventsys-door");
            open.onsuccess = () => {
                const read = open.result.transaction("packs").objectStore("packs").getAll();
                read.onsuccess = () => { open.result.close(); resolve(JSON.stringify(read.result)); };
            };
        })"""
    )
    page.locator("header").get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    assert stored_databases(page) == []
    assert page.evaluate("async () => (await navigator.serviceWorker.getRegistrations()).length") == 0
    assert browser_errors == []


# --- logging out from any page --------------------------------------------------------------------------


def open_staff_scanner(context: BrowserContext, world: dict) -> Page:
    page = context.new_page()
    log_in(page, world["email"])
    page.goto(f"/manage/events/{world['slug']}/checkin/scan")
    expect(page.locator("#scanner")).to_have_attribute("data-offline-ready", "true")
    return page


def door_staff_world(live_server, *names: str) -> dict:
    def build() -> dict:
        event = event_today(name="WeGO Kick-off")
        people = [attendee(event, name=name) for name in names]
        staff = factories.door_staff_of(event)
        day_list(event)
        db.session.flush()
        return {"slug": event.slug, "email": staff.email, "badges": [(b.id, b.code) for b in people]}

    return live_server.run(build)


def queued_offline_then_closed(context: BrowserContext, world: dict) -> list[dict]:
    """Scan every badge offline at the scanner page, then close the tab (the queue stays in IndexedDB)."""
    scanner = open_staff_scanner(context, world)
    context.set_offline(True)
    for _badge_id, code in world["badges"]:
        scan(scanner, code)
        expect_result(scanner, "ok", "result-ok")
    expect(scanner.locator("#offline-status")).to_have_attribute("data-queued", str(len(world["badges"])))
    queued = queue_of(scanner)
    scanner.close()
    return queued


def scanner_storage(page: Page) -> dict:
    return page.evaluate(
        """async () => ({
            databases: (await indexedDB.databases()).map((db) => db.name),
            caches: (await caches.keys()).filter((name) => name.startsWith("eventsys-scanner")),
            workers: (await navigator.serviceWorker.getRegistrations()).length,
        })"""
    )


def test_logging_out_from_another_page_uploads_the_queued_scans_then_clears_the_door_data(
    live_server, new_context, browser_errors
) -> None:
    world = door_staff_world(live_server, "Kim Valid", "Park Second")
    context = new_context(timezone_id="Asia/Seoul")
    queued = queued_offline_then_closed(context, world)
    assert live_server.run(lambda: db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn))) == 0

    context.set_offline(False)
    page = context.new_page()
    page.goto("/manage/")  # "My events": no scanner on this page
    assert scanner_storage(page)["databases"] == ["eventsys-door"]
    page.locator("header").get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()

    def stored() -> dict:
        return {badge_id: entries(badge_id) for badge_id, _code in world["badges"]}

    server = live_server.run(stored)
    for item in queued:
        when = datetime.fromisoformat(item["scanned_at"].replace("Z", "+00:00"))
        assert server[int(item["badge"])] == [(item["nonce"], "", when)]
    assert scanner_storage(page) == {"databases": [], "caches": [], "workers": 0}
    assert browser_errors == []


def test_logging_out_offline_warns_about_unsent_scans_and_keeps_them_when_cancelled(
    live_server, new_context, browser_errors
) -> None:
    world = door_staff_world(live_server, "Kept Person")
    context = new_context()
    (queued,) = queued_offline_then_closed(context, world)
    context.set_offline(False)
    page = context.new_page()
    page.goto("/manage/")
    page.wait_for_load_state("networkidle")  # the favicon too, or going offline fails its request
    context.set_offline(True)

    dialogs: list[str] = []

    def cancel(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", cancel)
    logout = page.locator("header form[data-door-logout]")
    logout.get_by_role("button", name="Log out").click()
    expect(logout).to_have_attribute("data-logout-state", "kept")
    assert dialogs == ["1 scan is not uploaded yet and will be lost. Log out anyway?"]
    assert [item["nonce"] for item in queue_of(page)] == [queued["nonce"]]
    assert scanner_storage(page)["databases"] == ["eventsys-door"]

    # Back online, the same button uploads the scan, clears the data and logs out.
    context.set_offline(False)
    logout.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    assert live_server.run(lambda: entries(int(queued["badge"])))[0][0] == queued["nonce"]
    assert scanner_storage(page) == {"databases": [], "caches": [], "workers": 0}
    assert len(dialogs) == 1
    assert browser_errors == []


# --- exits, undo and search offline -----------------------------------------------------------------------


def test_offline_exits_undo_and_search_by_name_queue_and_upload(live_server, new_context, browser_errors) -> None:
    from eventsys.checkin import services

    def build() -> dict:
        event = event_today(name="WeGO General Assembly")
        hall = factories.CheckInListFactory(event=event, name="Plenary hall", allows_exit=True)
        leaving = attendee(event, name="Ana Leaving")
        mistaken = attendee(event, name="Bo Mistaken")
        found = attendee(event, name="Chen Found-By-Name", accessibility_needs="Hearing loop")
        device = factories.DoorDeviceFactory(event=event, name="Hall door", list_id=hall.id)
        db.session.flush()
        return {
            "token": device.token,
            "hall": hall.id,
            "leaving": (leaving.id, leaving.code),
            "mistaken": (mistaken.id, mistaken.code),
            "found": found.id,
            "email": found.registration.person.email,
        }

    world = live_server.run(build)
    context = new_context()
    page = open_door(context, world["token"])
    scan(page, world["leaving"][1])  # online
    expect(page.locator("#result")).to_have_attribute("data-result", "ok")
    expect(page.locator("#result")).to_have_attribute("data-offline", "false")

    context.set_offline(True)
    expect(page.locator("#offline-status")).to_have_attribute("data-online", "false")
    page.get_by_label("Exits").check()
    scan(page, world["leaving"][1])
    expect_result(page, "ok", "result-ok")
    expect(page.locator("#result-title")).to_have_text("Exit recorded.")
    page.wait_for_timeout(DEBOUNCE_S * 1000)
    scan(page, world["leaving"][1])  # out already: not inside any more
    expect_result(page, "not_checked_in", "result-bad")
    page.get_by_label("Entries").check()

    scan(page, world["mistaken"][1])
    expect_result(page, "ok", "result-ok")
    page.get_by_role("button", name="Undo last check-in").click()
    expect(page.locator("#result-title")).to_have_text("Undone here; the undo is uploaded with the queued scans.")
    expect(page.locator("#result-offline")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("chen")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#search-results")
    expect(results).to_have_attribute("data-source", "pack")
    expect(results.locator("li")).to_have_count(1)
    expect(results).to_contain_text("Chen Found-By-Name")
    expect(results).to_contain_text("Needs: Hearing loop")
    expect(results.get_by_role("button", name="Print badge")).to_have_count(0)  # printing needs the server
    assert world["email"] not in results.inner_text()
    results.get_by_role("button", name="Check in").click()
    expect_result(page, "ok", "result-attention")
    expect(page.locator("#result-name")).to_have_text("Chen Found-By-Name")

    queued = queue_of(page)
    assert sorted(item["kind"] for item in queued) == ["annul", "checkin", "checkin", "exit"]
    context.set_offline(False)
    expect(page.locator("#offline-status")).to_have_attribute("data-queued", "0")
    expect(page.locator("#upload-note")).to_have_text("4 queued scans uploaded.")

    def stored() -> dict:
        from eventsys.checkin.models import Badge, CheckInList

        hall = db.session.get(CheckInList, world["hall"])

        def history(badge_id: int) -> list[tuple[str, bool, bool]]:
            badge = db.session.get(Badge, badge_id)
            return [
                (row.direction.value, row.closed_at is not None, row.annulled_at is not None)
                for row in services.history(badge, hall)
            ]

        return {
            "leaving": history(world["leaving"][0]),
            "mistaken": history(world["mistaken"][0]),
            "found": history(world["found"]),
        }

    assert live_server.run(stored) == {
        "leaving": [("in", True, False), ("out", False, False)],
        "mistaken": [("in", False, True)],
        "found": [("in", False, False)],
    }
    assert browser_errors == []


def test_undoing_offline_a_scan_that_lost_to_another_door_is_reported_and_keeps_that_doors_entry(
    live_server, new_context, browser_errors
) -> None:
    def build() -> dict:
        event = event_today()
        badge = attendee(event, name="Oh Se-hoon")
        north = factories.DoorDeviceFactory(event=event, name="North door")
        south = factories.DoorDeviceFactory(event=event, name="South door")
        day_list(event)
        db.session.flush()
        return {"badge": (badge.id, badge.code), "north": north.token, "south": south.token}

    world = live_server.run(build)
    north_context, south_context = new_context(), new_context()
    north, south = open_door(north_context, world["north"]), open_door(south_context, world["south"])
    north_context.set_offline(True)
    south_context.set_offline(True)
    scan(north, world["badge"][1])
    expect_result(north, "ok", "result-ok")
    north.wait_for_timeout(300)
    scan(south, world["badge"][1])  # later, and a mistake: South door undoes it
    expect_result(south, "ok", "result-ok")
    south.get_by_role("button", name="Undo last check-in").click()
    expect(south.locator("#result-title")).to_have_text("Undone here; the undo is uploaded with the queued scans.")
    expect(south.locator("#offline-status")).to_have_attribute("data-queued", "2")
    (north_scan,) = queue_of(north)

    north_context.set_offline(False)
    expect(north.locator("#offline-status")).to_have_attribute("data-queued", "0")
    south_context.set_offline(False)
    expect(south.locator("#offline-status")).to_have_attribute("data-queued", "0")
    notice = south.locator('#notice-list li[data-result="superseded"]')
    expect(notice).to_contain_text("Oh Se-hoon")
    expect(notice).to_contain_text("Nothing undone: an earlier scan at North door holds this check-in, and it stays.")

    kept = live_server.run(lambda: entries(world["badge"][0]))
    north_time = datetime.fromisoformat(north_scan["scanned_at"].replace("Z", "+00:00"))
    assert kept == [(north_scan["nonce"], "North door", north_time)]
    assert browser_errors == []
