"""The JSON check-in API: the whole chain from a printed badge to the door, auth, CSRF, nonces, errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from eventsys.checkin import badges, services
from eventsys.checkin.models import CheckIn, DoorDevice
from eventsys.extensions import db
from tests import factories
from tests.checkin.checkin_helpers import ZONE_NAME, attendee, day_list, event_today, registration_of
from tests.conftest import Browser


def decode_badge_pdf(pdf: bytes, tmp_path: Path) -> str:
    """Rasterize the PDF as a printer would see it (pdftoppm at 150 dpi) and read its QR with zxing-cpp."""
    (tmp_path / "badge.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "badge.pdf"), str(tmp_path / "badge")],
        check=True,
        timeout=60,
    )
    found = zxingcpp.read_barcodes(Image.open(tmp_path / "badge.png"))
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0].text


@pytest.fixture
def door_client(browser: Browser, event_day):
    staff = factories.door_staff_of(event_day)
    assert browser.login(staff.email).status_code == 302
    return browser


@pytest.fixture
def event_day(app):
    return event_today()


def post(browser: Browser, url: str, payload: object, *, csrf: bool = True, **headers: str):
    if csrf:
        headers["X-CSRFToken"] = browser.csrf_token()
    return browser.client.post(url, json=payload, headers=headers)


def scan_url(event) -> str:
    return f"/api/v1/events/{event.slug}/checkins"


def test_the_whole_chain_from_a_printed_badge_to_the_door(door_client: Browser, event_day, tmp_path) -> None:
    badge = attendee(event_day, name="Ambassador Luis Quesada")
    code = decode_badge_pdf(badges.badge_pdf(badge), tmp_path)
    assert code == badge.code
    entrance = day_list(event_day)

    first = post(
        door_client,
        scan_url(event_day),
        {"code": code, "list": entrance.id, "door": "North door", "nonce": "n-000000001"},
    )
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["result"] == "ok"
    assert body["attendee"]["name"] == "Ambassador Luis Quesada"
    assert "email" not in body["attendee"]

    second = post(
        door_client,
        scan_url(event_day),
        {"code": code, "list": entrance.id, "door": "South door", "nonce": "n-000000002"},
    )
    again = second.get_json()
    assert again["result"] == "already_checked_in"
    assert again["first_checkin"]["door"] == "North door"
    assert again["first_checkin"]["scanned_at"] == body["checkin"]["scanned_at"]
    zone = "(Seoul, UTC+9)" if ZONE_NAME == "Asia/Seoul" else "(Mexico City, UTC-6)"
    assert zone in again["first_checkin"]["scanned_at_local"]


def test_forged_and_foreign_codes_through_the_api(door_client: Browser, event_day) -> None:
    badge = attendee(event_day)
    other = event_today()
    foreign = attendee(other)
    forged = badge.code[:-3] + ("AAA" if not badge.code.endswith("AAA") else "BBB")
    results = [
        post(door_client, scan_url(event_day), {"code": code, "nonce": f"n-forged-{i:04d}"}).get_json()["result"]
        for i, code in enumerate([forged, foreign.code])
    ]
    assert results == ["invalid", "wrong_event"]


def test_a_cancelled_attendee_is_revoked_at_the_door(door_client: Browser, event_day) -> None:
    from eventsys.registration.services import cancel_registration

    badge = attendee(event_day)
    cancel_registration(registration_of(badge))
    answer = post(door_client, scan_url(event_day), {"code": badge.code, "nonce": "n-cancel-01"}).get_json()
    assert answer["result"] == "revoked"


def test_a_device_scans_with_its_bearer_token_and_no_cookie_or_csrf(client, event_day) -> None:
    device = factories.DoorDeviceFactory(event=event_day, name="East gate")
    badge = attendee(event_day)
    response = client.post(
        scan_url(event_day),
        json={"code": badge.code, "nonce": "n-device-001"},
        headers={"Authorization": f"Bearer {device.token}"},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["result"] == "ok" and body["checkin"]["door"] == "East gate"
    assert body["list"]["id"] == day_list(event_day).id  # the day's list by default
    assert device.last_seen_at is not None


def test_a_device_scans_before_and_after_the_days_lists_exist(client, event_day) -> None:
    """The first scan of a day finds no list and makes them (the event and device as ORM objects); the next
    ones read the list, the event and the device in the statement that checks the token (plain values)."""
    from datetime import UTC, datetime, timedelta

    device = factories.DoorDeviceFactory(event=event_day, name="West gate")
    first, second = attendee(event_day), attendee(event_day)
    db.session.commit()
    assert not services.lists_for(event_day)

    def scan(badge, nonce: str) -> dict:
        response = client.post(
            scan_url(event_day),
            json={"code": badge.code, "nonce": nonce},
            headers={"Authorization": f"Bearer {device.token}"},
        )
        assert response.status_code == 200
        return response.get_json()

    made = scan(first, "n-lists-0001")
    assert made["result"] == "ok" and made["list"]["id"] == day_list(event_day).id
    seen = device.last_seen_at
    assert seen is not None

    # The device was seen two minutes ago: the next scan notes it again (once a minute at most).
    db.session.execute(
        sa.update(DoorDevice).where(DoorDevice.id == device.id).values(last_seen_at=seen - timedelta(minutes=2))
    )
    db.session.commit()
    read = scan(second, "n-lists-0002")
    assert read["result"] == "ok" and read["list"]["id"] == made["list"]["id"]
    assert read["checkin"]["door"] == "West gate"
    assert read["attendee"]["name"] == registration_of(second).person.name
    db.session.expire_all()
    assert device.last_seen_at > datetime.now(UTC) - timedelta(minutes=1)

    again = scan(first, "n-lists-0003")
    assert again["result"] == "already_checked_in"
    assert again["first_checkin"]["door"] == "West gate"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 2


def test_device_tokens_are_checked(client, event_day) -> None:
    badge = attendee(event_day)
    revoked = services.revoke_device(factories.DoorDeviceFactory(event=event_day))
    elsewhere = factories.DoorDeviceFactory(event=event_today())
    for token in (revoked.token, elsewhere.token, "x" * 43, ""):
        response = client.post(
            scan_url(event_day),
            json={"code": badge.code, "nonce": "n-refused-1"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401, token
        assert response.get_json()["error"] == "unauthorized"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 0


def test_a_session_request_needs_the_csrf_header(door_client: Browser, event_day) -> None:
    badge = attendee(event_day)
    response = post(door_client, scan_url(event_day), {"code": badge.code, "nonce": "n-csrf-0001"}, csrf=False)
    assert response.status_code == 400
    assert response.is_json
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 0


def test_people_without_door_access_are_refused_in_json(browser: Browser, event_day) -> None:
    badge = attendee(event_day)
    payload = {"code": badge.code, "nonce": "n-refuse-01"}
    assert browser.client.post(scan_url(event_day), json=payload).status_code == 401
    other_organizer = factories.organizer_of(event_today())
    assert browser.login(other_organizer.email).status_code == 302
    response = post(browser, scan_url(event_day), payload)
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
    assert post(browser, "/api/v1/events/no-such-event/checkins", payload).status_code == 404


BAD_PAYLOADS = [
    "just a string",
    [1, 2],
    {"nonce": "n-missing-code"},
    {"code": "X", "nonce": "short"},
    {"code": "X"},
    {"code": 12, "nonce": "n-number-code"},
    {"code": "X" * 10_000, "nonce": "n-long-code1"},
    {"code": "X", "nonce": "n-bad-list-1", "list": "abc"},
    {"code": "X", "nonce": "n-bad-list-2", "list": 99_999_999_999},
    {"code": "X", "nonce": "n-bad-list-3", "list": True},
    {"code": "X", "nonce": "n-bad-time-1", "scanned_at": "2023-02-30T25:61"},
    {"code": "X", "nonce": "n-bad-time-2", "scanned_at": "2022-05-18T09:00:00"},
    {"code": "X", "nonce": "n-bad-dir-01", "direction": "sideways"},
    {"code": "X\x00", "nonce": "n-control-01"},
    {"registration_id": "nope", "nonce": "n-bad-reg-01"},
]


@pytest.mark.parametrize("payload", BAD_PAYLOADS)
def test_bad_requests_get_json_4xx_never_500(door_client: Browser, event_day, payload) -> None:
    response = post(door_client, scan_url(event_day), payload)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json and response.get_json()["error"]


def test_retrying_a_request_is_idempotent(door_client: Browser, event_day) -> None:
    badge = attendee(event_day)
    payload = {"code": badge.code, "nonce": "retry-me-0001", "door": "North"}
    first = post(door_client, scan_url(event_day), payload).get_json()
    retry = post(door_client, scan_url(event_day), payload).get_json()
    assert first["result"] == retry["result"] == "ok"
    assert retry["replayed"] is True and retry["checkin"]["id"] == first["checkin"]["id"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 1


def test_exit_and_undo_through_the_api(door_client: Browser, event_day) -> None:
    badge = attendee(event_day)
    hall = services.create_list(event_day, name="Hall", allows_exit=True)
    entry = post(
        door_client, scan_url(event_day), {"code": badge.code, "list": hall.id, "nonce": "n-in-000001"}
    ).get_json()
    out = post(
        door_client,
        scan_url(event_day),
        {"code": badge.code, "list": hall.id, "nonce": "n-out-00001", "direction": "out"},
    ).get_json()
    assert (entry["result"], out["result"], out["checkin"]["direction"]) == ("ok", "ok", "out")
    undo = post(door_client, f"/api/v1/events/{event_day.slug}/checkins/{out['checkin']['id']}/annul", {})
    assert undo.status_code == 200 and undo.get_json()["checkin"]["annulled"] is True
    inside = post(door_client, scan_url(event_day), {"code": badge.code, "list": hall.id, "nonce": "n-in-000002"})
    assert inside.get_json()["result"] == "already_checked_in"
    missing = post(door_client, f"/api/v1/events/{event_day.slug}/checkins/999999/annul", {})
    assert missing.status_code == 400 and missing.get_json()["error"] == "checkin_not_found"


def test_search_and_print_at_the_door(client, event_day) -> None:
    device = factories.DoorDeviceFactory(event=event_day)
    badge = attendee(event_day, name="Late Arrival Kim")
    auth = {"Authorization": f"Bearer {device.token}"}
    found = client.get(f"/api/v1/events/{event_day.slug}/attendees?q=late", headers=auth).get_json()["attendees"]
    assert [p["name"] for p in found] == ["Late Arrival Kim"]
    reg_id = found[0]["registration_id"]
    printed = client.post(
        f"/api/v1/events/{event_day.slug}/attendees/{reg_id}/badge", json={"reissue": True}, headers=auth
    ).get_json()
    pdf = client.get(printed["pdf_url"], headers=auth)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    old = client.post(scan_url(event_day), json={"code": badge.code, "nonce": "n-old-badge1"}, headers=auth)
    assert old.get_json()["result"] == "revoked"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 0
    lists = client.get(f"/api/v1/events/{event_day.slug}/checkin-lists", headers=auth).get_json()
    assert [cl["name"] for cl in lists["lists"]] == ["Entrance"]


def device_scan(client, event, token: str, payload: object):
    return client.post(scan_url(event), json=payload, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("payload", BAD_PAYLOADS)
def test_bad_requests_from_a_device_get_json_4xx_never_500(client, event_day, payload) -> None:
    """A device's scan reads the day's list and the badge with the device: bad input still gets its 4xx."""
    device = factories.DoorDeviceFactory(event=event_day)
    attendee(event_day)
    day_list(event_day)  # the day's list exists, so the device's one statement reads it
    response = device_scan(client, event_day, device.token, payload)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json and response.get_json()["error"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 0


def test_a_refused_token_is_refused_before_the_request_is_read(client, event_day) -> None:
    revoked = services.revoke_device(factories.DoorDeviceFactory(event=event_day))
    for payload in ({"code": "X", "nonce": "n-bad-time-1", "scanned_at": "2023-02-30T25:61"}, "just a string"):
        assert device_scan(client, event_day, revoked.token, payload).status_code == 401


def test_a_device_gets_the_answers_door_staff_get(client, event_day) -> None:
    """The device's path (lists and badge read with the device) answers as the staff path does."""
    north, south = (factories.DoorDeviceFactory(event=event_day, name=name) for name in ("North", "South"))
    badge = attendee(event_day)
    foreign = attendee(event_today())
    forged = badge.code[:-3] + ("AAA" if not badge.code.endswith("AAA") else "BBB")

    def scan(device, code: str, nonce: str) -> dict:  # type: ignore[type-arg]
        response = device_scan(client, event_day, device.token, {"code": code, "nonce": nonce})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    first = scan(north, badge.code, "n-dev-first-1")  # the first scan of the day makes the day's lists
    assert first["result"] == "ok" and first["checkin"]["door"] == "North"
    assert [scan(south, code, f"n-dev-bad-{i}")["result"] for i, code in enumerate([forged, foreign.code])] == [
        "invalid",
        "wrong_event",
    ]
    again = scan(south, badge.code.lower(), "n-dev-again-1")
    assert again["result"] == "already_checked_in"
    assert again["first_checkin"]["id"] == first["checkin"]["id"] and again["first_checkin"]["door"] == "North"
    retry = scan(north, badge.code, "n-dev-first-1")
    assert retry["result"] == "ok" and retry["replayed"] and retry["checkin"]["id"] == first["checkin"]["id"]
    assert again["list"] == first["list"] == {"id": day_list(event_day).id, "name": day_list(event_day).name}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 1
