"""The door scanner page in Chromium: a fake camera showing a real printed badge, and a keyboard-wedge scanner.

The camera test launches its own Chromium with the fake-capture flags (see ../shared/TESTING-BROWSER.md): the
"camera" plays a Y4M video made from the QR of a badge PDF rendered by the badge module and rasterized by
pdftoppm, as a phone would film a printed badge. jsQR decodes it (Chromium on Linux has no BarcodeDetector).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from eventsys.checkin import badges, services
from eventsys.checkin.models import Badge
from eventsys.extensions import db
from tests import factories
from tests.browser import log_in
from tests.browser.conftest import ACTION_TIMEOUT_MS, CHROMIUM, CHROMIUM_ARGS
from tests.checkin.checkin_helpers import attendee, event_today

WIDTH, HEIGHT = 640, 480


def printed_badge_qr(pdf: bytes, tmp_path: Path) -> Image.Image:
    """The QR as it appears on the badge printed at 150 dpi: rasterized by pdftoppm and cropped around the code."""
    (tmp_path / "badge.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "badge.pdf"), str(tmp_path / "badge")],
        check=True,
        timeout=60,
    )
    page = Image.open(tmp_path / "badge.png").convert("RGB")
    (found,) = zxingcpp.read_barcodes(page)
    corners = found.position
    xs = [corners.top_left.x, corners.top_right.x, corners.bottom_left.x, corners.bottom_right.x]
    ys = [corners.top_left.y, corners.top_right.y, corners.bottom_left.y, corners.bottom_right.y]
    margin = (max(xs) - min(xs)) // 6  # the quiet zone around the code
    return page.crop((min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin))


def write_y4m(image: Image.Image, path: Path, frames: int = 10) -> None:
    """A Y4M video (4:2:0) of ``image`` centred on a white 640 by 480 frame, as Chromium's fake camera reads it."""
    side = HEIGHT - 60
    qr = image.resize((side, side), Image.Resampling.NEAREST)
    canvas = Image.new("RGB", (WIDTH, HEIGHT), "white")
    canvas.paste(qr, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    y, cb, cr = canvas.convert("YCbCr").split()
    half = (WIDTH // 2, HEIGHT // 2)
    frame = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + frame)


def test_the_camera_reads_a_printed_badge_green_then_orange(live_server, playwright, tmp_path, browser_errors) -> None:
    def build() -> tuple[str, bytes, int]:
        event = event_today(name="WeGO Kick-off")
        badge = attendee(event, name="Oh Se-hoon")
        device = factories.DoorDeviceFactory(event=event, name="North door")
        db.session.flush()
        return device.token, badges.badge_pdf(badge), badge.id

    token, pdf, badge_id = live_server.run(build)
    video = tmp_path / "badge.y4m"
    write_y4m(printed_badge_qr(pdf, tmp_path), video)

    camera_browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(
            base_url=live_server.url, locale="en-US", timezone_id="Asia/Seoul", permissions=["camera"]
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.on("weberror", lambda error: browser_errors.append(f"uncaught exception: {error.error}"))
        context.on("console", lambda message: browser_errors.append(message.text) if message.type == "error" else None)
        page = context.new_page()
        page.goto(f"/door/{token}")
        result = page.locator("#result")
        # The first read: green, with the name.
        expect(result).to_have_attribute("data-result", "ok")
        expect(result).to_have_class("result result-ok")
        expect(page.locator("#result-name")).to_have_text("Oh Se-hoon")
        # The badge stays in front of the camera: after the debounce, the next read is orange with the first entry.
        expect(result).to_have_attribute("data-result", "already_checked_in")
        expect(result).to_have_class("result result-warn")
        expect(page.locator("#result-first")).to_contain_text("at North door")
        context.close()
    finally:
        camera_browser.close()

    def stored() -> list[str]:
        badge = db.session.get(Badge, badge_id)
        return [c.door for c in services.history(badge)]

    assert live_server.run(stored) == ["North door"]
    assert browser_errors == []


def test_a_keyboard_wedge_scanner_checks_in_undoes_and_warns(live_server, page: Page, browser_errors) -> None:
    def build() -> tuple[str, str, str]:
        event = event_today(name="WeGO General Assembly")
        badge = attendee(event, name="Mathilde Müller", accessibility_needs="Wheelchair access")
        staff = factories.door_staff_of(event)
        db.session.flush()
        return event.slug, badge.code, staff.email

    slug, code, email = live_server.run(build)
    log_in(page, email)
    page.goto("/manage/")  # "My events": door staff find their scanner there
    page.get_by_role("link", name="Open scanner for WeGO General Assembly").click()
    expect(page).to_have_url(f"{live_server.url}/manage/events/{slug}/checkin/scan")
    expect(page.locator("#scanner")).to_have_attribute("data-offline-loaded", "true")  # scripts have run
    page.get_by_label("Door", exact=True).fill("Main entrance")
    page.get_by_label("Door", exact=True).dispatch_event("change")
    wedge = page.get_by_label("Badge code (USB scanner or typing, then Enter)")
    wedge.focus()
    result = page.locator("#result")

    # A wedge scanner types the code about 8 ms a key, then Enter. Needs flagged: purple, with the needs.
    page.keyboard.type(code, delay=8)
    page.keyboard.press("Enter")
    expect(result).to_have_attribute("data-result", "ok")
    expect(result).to_have_class("result result-attention")
    expect(page.locator("#result-attention")).to_contain_text("Wheelchair access")
    expect(wedge).to_be_focused()  # ready for the next badge at once
    expect(wedge).to_have_value("")

    page.get_by_role("button", name="Undo last check-in").click()
    expect(page.locator("#result-title")).to_have_text("Undone.")
    wedge.focus()
    page.keyboard.type(code, delay=8)
    page.keyboard.press("Enter")
    expect(result).to_have_attribute("data-result", "ok")

    page.wait_for_timeout(1600)  # past the debounce of repeated reads
    page.keyboard.type(code, delay=8)
    page.keyboard.press("Enter")
    expect(result).to_have_attribute("data-result", "already_checked_in")
    expect(result).to_have_class("result result-warn")
    expect(page.locator("#result-first")).to_contain_text("at Main entrance")

    page.keyboard.type("NOT-A-BADGE", delay=8)
    page.keyboard.press("Enter")
    expect(result).to_have_attribute("data-result", "invalid")
    expect(result).to_have_class("result result-bad")
    assert browser_errors == []
