"""Door devices: an organizer pairs a named door (setup link and QR), a volunteer's phone opens it and gets
check-in-only access to that event and list, and the organizer renames or revokes it."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa
import zxingcpp
from flask import Flask
from PIL import Image, ImageDraw

from eventsys.checkin.models import CheckIn, DoorDevice
from eventsys.extensions import db
from tests import factories
from tests.checkin.checkin_helpers import attendee, day_list, event_today
from tests.conftest import Browser

PATH_RE = re.compile(r"M(\d+) (\d+)h(\d+)v1h-?\d+z")


def devices_url(event) -> str:
    return f"/manage/events/{event.slug}/checkin/devices"


def decode_svg_qr(svg: str) -> str:
    """Draw the page's QR (one path of unit squares, see eventsys.common.qr.qr_svg) and read it with zxing-cpp."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y, width in PATH_RE.findall(svg):
        x, y, width = int(x), int(y), int(width)
        draw.rectangle((x * scale, y * scale, (x + width) * scale - 1, (y + 1) * scale - 1), fill=0)
    (found,) = zxingcpp.read_barcodes(image)
    return found.text


def device_row(page: str, device: DoorDevice) -> str:
    start = page.index(f'id="device-{device.id}"')
    return page[start : page.index("</tr>", start)]


@pytest.fixture
def world(app: Flask) -> dict:
    event = event_today(name="WeGO General Assembly")
    ceremony = factories.CheckInListFactory(event=event, name="Signing ceremony")
    organizer = factories.organizer_of(event)
    other_event = event_today(name="Another Forum")
    db.session.commit()
    return {"event": event, "ceremony": ceremony, "organizer": organizer, "other_event": other_event}


@pytest.fixture
def organizer_client(browser: Browser, world: dict) -> Browser:
    assert browser.login(world["organizer"].email).status_code == 302
    return browser


@pytest.fixture
def phone(app: Flask):
    """The volunteer's phone: a client with no account and no cookies of the organizer's."""
    return app.test_client()


def bearer(device: DoorDevice) -> dict[str, str]:
    return {"Authorization": f"Bearer {device.token}"}


def pair(organizer_client: Browser, world: dict, name: str = "North door", list_id: str = "") -> DoorDevice:
    response = organizer_client.post(devices_url(world["event"]), {"name": name, "list_id": list_id})
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(sa.select(DoorDevice).order_by(DoorDevice.id.desc()))


def test_an_organizer_pairs_a_named_door_whose_qr_opens_its_setup_link(organizer_client: Browser, world) -> None:
    event = world["event"]
    assert organizer_client.client.get(devices_url(event)).status_code == 200
    response = organizer_client.post(
        devices_url(event), {"name": "  North   door ", "list_id": str(world["ceremony"].id)}
    )
    device = db.session.scalar(sa.select(DoorDevice))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/checkin/devices#device-{device.id}")
    page = organizer_client.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "North door is ready: open its setup link on the door&#39;s phone." in page
    row = device_row(page, device)
    assert "North door" in row and "Signing ceremony" in row
    setup_link = f"http://localhost/door/{device.token}"
    assert f'href="{setup_link}"' in row
    svg = row[row.index("<svg") : row.index("</svg>") + 6]
    assert decode_svg_qr(svg) == setup_link  # the phone's camera opens the same link


@pytest.mark.parametrize(("name", "message"), [("   ", "This field is required."), ("x" * 101, "100 characters")])
def test_a_door_needs_a_name(organizer_client: Browser, world, name: str, message: str) -> None:
    response = organizer_client.post(devices_url(world["event"]), {"name": name, "list_id": ""})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DoorDevice)) == 0


def test_the_setup_link_gives_check_in_only_access_to_its_event_and_list(
    organizer_client: Browser, phone, world
) -> None:
    event, other = world["event"], world["other_event"]
    device = pair(organizer_client, world, list_id=str(world["ceremony"].id))
    badge = attendee(event, name="Oh Se-hoon")
    foreign = attendee(other, name="Somebody Else")
    db.session.commit()

    page = phone.get(f"/door/{device.token}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<strong>North door</strong> · Signing ceremony" in text
    assert f'data-device-token="{device.token}"' in text

    # Scans land on the door's list, under the door's name.
    scan = phone.post(
        f"/api/v1/events/{event.slug}/checkins",
        json={"code": badge.code, "nonce": "phone-00001"},
        headers=bearer(device),
    )
    assert scan.status_code == 200
    body = scan.get_json()
    assert body["result"] == "ok" and body["list"]["name"] == "Signing ceremony"
    assert body["checkin"]["door"] == "North door"
    assert phone.get(f"/api/v1/events/{event.slug}/door-pack", headers=bearer(device)).get_json()["list"]["id"] == (
        world["ceremony"].id
    )

    # Another event: refused, with its token or without.
    for method, url, payload in [
        ("post", f"/api/v1/events/{other.slug}/checkins", {"code": foreign.code, "nonce": "phone-00002"}),
        ("get", f"/api/v1/events/{other.slug}/door-pack", None),
        ("get", f"/api/v1/events/{other.slug}/attendees?q=Somebody", None),
    ]:
        refused = getattr(phone, method)(url, json=payload, headers=bearer(device))
        assert refused.status_code == 401, url
        assert refused.get_json()["message"] == "This door link is not valid (any more)."
        assert "Somebody Else" not in refused.get_data(as_text=True)

    # The link is not an account: every other page of this event (and the staff scanner) asks for a login.
    for url in (
        f"/manage/events/{event.slug}/checkin/",
        f"/manage/events/{event.slug}/checkin/scan",
        f"/manage/events/{event.slug}/",
        "/manage/",
    ):
        for headers in ({}, bearer(device)):
            response = phone.get(url, headers=headers)
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 1


def test_revoking_a_door_stops_its_scans_and_sync_at_once(organizer_client: Browser, phone, world) -> None:
    event = world["event"]
    device = pair(organizer_client, world)
    badge = attendee(event)
    entrance = day_list(event)
    db.session.commit()
    assert phone.get(f"/api/v1/events/{event.slug}/door-pack", headers=bearer(device)).status_code == 200

    response = organizer_client.post(f"{devices_url(event)}/{device.id}/revoke")
    assert response.status_code == 302
    page = organizer_client.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "North door can no longer check people in." in page
    assert "Revoked" in device_row(page, device)
    assert device.token not in page  # the setup link and its QR are gone

    scan = phone.post(
        f"/api/v1/events/{event.slug}/checkins",
        json={"code": badge.code, "nonce": "revoked-001"},
        headers=bearer(device),
    )
    sync = phone.get(f"/api/v1/events/{event.slug}/door-pack?list={entrance.id}", headers=bearer(device))
    upload = phone.post(
        f"/api/v1/events/{event.slug}/checkins/batch",
        json={"scans": [{"code": badge.code, "list": entrance.id, "nonce": "revoked-002"}]},
        headers=bearer(device),
    )
    for refused in (scan, sync, upload):
        assert refused.status_code == 401
        assert refused.get_json() == {"error": "unauthorized", "message": "This door link is not valid (any more)."}
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert phone.get(f"/door/{device.token}").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 0
    # Revoking twice is harmless.
    assert organizer_client.post(f"{devices_url(event)}/{device.id}/revoke").status_code == 302


def test_renaming_a_door_names_its_next_scans_and_keeps_its_link(organizer_client: Browser, phone, world) -> None:
    event = world["event"]
    device = pair(organizer_client, world)
    first, second = attendee(event), attendee(event)
    db.session.commit()
    url = f"/api/v1/events/{event.slug}/checkins"
    phone.post(url, json={"code": first.code, "nonce": "before-0001"}, headers=bearer(device))

    response = organizer_client.post(f"{devices_url(event)}/{device.id}/rename", {"name": " North  gate "})
    assert response.status_code == 302
    page = organizer_client.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "North door is now called North gate." in page
    assert '<strong class="device-name">North gate</strong>' in device_row(page, device)

    # The same link still works; the page, the door pack and the next scans carry the new name.
    assert "<strong>North gate</strong>" in phone.get(f"/door/{device.token}").get_data(as_text=True)
    assert (
        phone.get(f"/api/v1/events/{event.slug}/door-pack", headers=bearer(device)).get_json()["door"] == "North gate"
    )
    later = phone.post(url, json={"code": second.code, "nonce": "after-00001"}, headers=bearer(device)).get_json()
    assert later["checkin"]["door"] == "North gate"
    doors = db.session.scalars(sa.select(CheckIn.door).order_by(CheckIn.id)).all()
    assert doors == ["North door", "North gate"]  # earlier scans keep the name they were made under


@pytest.mark.parametrize(("name", "message"), [("", "This field is required."), ("y" * 101, "100 characters")])
def test_a_bad_new_name_is_refused_with_a_message_and_changes_nothing(
    organizer_client: Browser, world, name: str, message: str
) -> None:
    device = pair(organizer_client, world)
    response = organizer_client.post(f"{devices_url(world['event'])}/{device.id}/rename", {"name": name})
    assert response.status_code == 400
    row = device_row(response.get_data(as_text=True), device)
    assert message in unescape(row) and 'aria-invalid="true"' in row
    db.session.expire_all()
    assert db.session.get(DoorDevice, device.id).name == "North door"


def test_another_events_door_cannot_be_renamed_or_revoked_here(organizer_client: Browser, world) -> None:
    elsewhere = factories.DoorDeviceFactory(event=world["other_event"], name="Their door")
    db.session.commit()
    base = f"{devices_url(world['event'])}/{elsewhere.id}"
    assert organizer_client.post(f"{base}/rename", {"name": "Hijacked"}).status_code == 404
    assert organizer_client.post(f"{base}/revoke").status_code == 404
    db.session.expire_all()
    device = db.session.get(DoorDevice, elsewhere.id)
    assert (device.name, device.revoked_at) == ("Their door", None)


# --- door staff find the scanner from "My events" ------------------------------------------------------


def test_door_staff_open_the_scanner_from_my_events_per_event_and_list(browser: Browser, world) -> None:
    from eventsys.accounts.models import Role
    from eventsys.events.models import EventFormat

    event = world["event"]
    staff = factories.door_staff_of(event)
    online_only = factories.EventFactory(name="Webinar", format=EventFormat.ONLINE)
    factories.EventRoleFactory(event=online_only, user=staff, role=Role.DOOR)
    day_list(event)
    db.session.commit()
    assert browser.login(staff.email).status_code == 302

    page = browser.client.get("/manage/").get_data(as_text=True)
    scanner = f"/manage/events/{event.slug}/checkin/scan"
    assert f'href="{scanner}" aria-label="Open scanner for WeGO General Assembly">Open scanner</a>' in page
    # One link per check-in list too: the day's list and the signing ceremony.
    for checkin_list in (day_list(event), world["ceremony"]):
        assert f'href="{scanner}?list={checkin_list.id}">{checkin_list.name}</a>' in page
    # An online-only event has no door; another event's scanner is not offered.
    assert f"/manage/events/{online_only.slug}/checkin/scan" not in page
    assert world["other_event"].slug not in page
    # The link works for them.
    assert browser.client.get(scanner).status_code == 200
    assert browser.client.get(f"{scanner}?list={world['ceremony'].id}").status_code == 200
