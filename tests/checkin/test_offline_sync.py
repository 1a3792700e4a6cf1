"""Offline doors: the door pack, and uploads of scans queued offline (nonces, earliest time wins, conflicts)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from eventsys.checkin import badges, services
from eventsys.checkin.models import CheckIn, CheckInConflict
from eventsys.common.db import utcnow
from eventsys.extensions import db
from eventsys.registration.services import cancel_registration
from tests import factories
from tests.checkin.checkin_helpers import attendee, day_list, event_today, registration_of
from tests.conftest import Browser


def live_entries(badge) -> list[CheckIn]:
    return list(
        db.session.scalars(
            sa.select(CheckIn).where(CheckIn.badge_id == badge.id, CheckIn.annulled_at.is_(None)).order_by(CheckIn.id)
        )
    )


def conflicts() -> list[CheckInConflict]:
    return list(db.session.scalars(sa.select(CheckInConflict).order_by(CheckInConflict.id)))


def scan(badge, checkin_list, nonce: str, minutes_ago: float, door: str = "") -> services.OfflineScan:
    return services.OfflineScan(
        code=badge.code,
        checkin_list=checkin_list,
        nonce=nonce,
        scanned_at=utcnow() - timedelta(minutes=minutes_ago),
        door=door,
    )


def test_an_offline_scan_checks_in_at_its_scan_time_and_a_retried_upload_writes_nothing(app) -> None:
    event = event_today()
    badge = attendee(event, name="Kim Min-ji")
    entrance = day_list(event)
    queued = scan(badge, entrance, "offline-0001", minutes_ago=20, door="North door")

    first = services.upload_offline_scans(event, [queued])["offline-0001"]
    assert first.answer.result == "ok" and not first.answer.replayed
    assert first.answer.checkin.scanned_at == queued.scanned_at  # the door's time, not the upload's
    again = services.upload_offline_scans(event, [queued])["offline-0001"]
    assert again.answer.result == "ok" and again.answer.replayed
    assert [entry.scanned_at for entry in live_entries(badge)] == [queued.scanned_at]
    assert conflicts() == []


def test_two_doors_offline_one_entry_with_the_earliest_time_and_the_later_scan_is_the_duplicate(app) -> None:
    event = event_today()
    badge = attendee(event, name="Ahmed Al-Farsi")
    entrance = day_list(event)
    north = factories.DoorDeviceFactory(event=event, name="North door")
    south = factories.DoorDeviceFactory(event=event, name="South door")
    early = scan(badge, entrance, "north-00001", minutes_ago=30)
    late = scan(badge, entrance, "south-00001", minutes_ago=10)

    # The later scan arrives first: it checks in, until the earlier one arrives and takes the entry over.
    assert services.upload_offline_scans(event, [late], device=south)["south-00001"].answer.result == "ok"
    taken = services.upload_offline_scans(event, [early], device=north)["north-00001"]
    assert taken.answer.result == "ok"
    (entry,) = live_entries(badge)
    assert (entry.scanned_at, entry.door, entry.nonce, entry.device_id) == (
        early.scanned_at,
        "North door",
        "north-00001",
        north.id,
    )
    (duplicate,) = conflicts()
    assert (duplicate.result, duplicate.door, duplicate.nonce, duplicate.scanned_at, duplicate.checkin_id) == (
        "already_checked_in",
        "South door",
        "south-00001",
        late.scanned_at,
        entry.id,
    )
    # South door retries its upload: it now learns its scan is the duplicate; nothing new is written.
    retried = services.upload_offline_scans(event, [late], device=south)["south-00001"]
    assert retried.answer.result == "already_checked_in"
    assert retried.answer.first_checkin.door == "North door"
    assert len(live_entries(badge)) == 1 and len(conflicts()) == 1


def test_a_later_offline_scan_of_a_checked_in_badge_is_recorded_as_a_duplicate_once(app) -> None:
    event = event_today()
    badge = attendee(event)
    entrance = day_list(event)
    online = services.redeem_badge(
        event, badge.code, entrance, door="Main", scanned_at=utcnow() - timedelta(minutes=40)
    )
    later = scan(badge, entrance, "east-000001", minutes_ago=5, door="East")
    for _ in range(2):
        answer = services.upload_offline_scans(event, [later])["east-000001"]
        assert answer.answer.result == "already_checked_in"
        assert answer.conflict.checkin_id == online.checkin.id
    assert [entry.door for entry in live_entries(badge)] == ["Main"]
    assert [(c.door, c.result) for c in conflicts()] == [("East", "already_checked_in")]


def test_the_same_badge_twice_in_one_upload_keeps_the_earliest(app) -> None:
    event = event_today()
    badge = attendee(event)
    entrance = day_list(event)
    results = services.upload_offline_scans(
        event,
        [scan(badge, entrance, "late-000001", minutes_ago=1), scan(badge, entrance, "early-00001", minutes_ago=9)],
    )
    assert results["early-00001"].answer.result == "ok"
    assert results["late-000001"].answer.result == "already_checked_in"
    (entry,) = live_entries(badge)
    assert entry.nonce == "early-00001"


def test_a_badge_revoked_while_the_door_was_offline_is_reported_and_recorded(app) -> None:
    event = event_today()
    badge = attendee(event, name="Lost Badge")
    entrance = day_list(event)
    queued = scan(badge, entrance, "revoked-0001", minutes_ago=15, door="North door")
    badges.reissue_badge(badge)  # the desk re-issued it meanwhile

    answer = services.upload_offline_scans(event, [queued])["revoked-0001"]
    assert answer.answer.result == "revoked"
    assert live_entries(badge) == []
    (conflict,) = conflicts()
    assert (conflict.result, conflict.badge_id, conflict.door) == ("revoked", badge.id, "North door")
    # The door hears about it on its next sync, and the dashboard lists it.
    pack = services.door_pack(event, entrance, since=utcnow() - timedelta(minutes=1))
    assert [(c["nonce"], c["result"], c["name"]) for c in pack["conflicts"]] == [
        ("revoked-0001", "revoked", "Lost Badge")
    ]
    assert badge.id in pack["revoked"]
    assert [c["result"] for c in services.dashboard(event)["offline_conflicts"]] == ["revoked"]


def test_a_forged_code_is_invalid_and_records_nothing(app) -> None:
    event = event_today()
    badge = attendee(event)
    forged = services.OfflineScan(
        code=badge.code[:-4] + ("AAAA" if not badge.code.endswith("AAAA") else "BBBB"),
        checkin_list=day_list(event),
        nonce="forged-0001",
        scanned_at=utcnow(),
    )
    assert services.upload_offline_scans(event, [forged])["forged-0001"].answer.result == "invalid"
    assert conflicts() == [] and live_entries(badge) == []


def test_a_bad_nonce_fails_only_its_own_scan(app) -> None:
    event = event_today()
    good, bad = attendee(event), attendee(event)
    entrance = day_list(event)
    results = services.upload_offline_scans(
        event, [scan(bad, entrance, "no", minutes_ago=1), scan(good, entrance, "good-000001", minutes_ago=1)]
    )
    assert isinstance(results["no"], services.CheckInError) and results["no"].code == "bad_nonce"
    assert results["good-000001"].answer.result == "ok"


def test_the_door_pack_carries_the_key_revocations_summaries_and_live_entries_and_no_email(app) -> None:
    event = event_today()
    entrance = day_list(event)
    seen = attendee(event, name="Maria Schmidt", accessibility_needs="Sign language")
    waiting = attendee(event, name="Jun Park")
    gone = attendee(event, name="Cancelled Person")
    cancel_registration(registration_of(gone))
    services.redeem_badge(event, seen.code, entrance, door="North door")

    pack = services.door_pack(event, entrance)
    key = base64.urlsafe_b64decode(pack["public_key"] + "=" * (-len(pack["public_key"]) % 4))
    _claims, payload, signature = badges.parse_code(waiting.code)
    Ed25519PublicKey.from_public_bytes(key).verify(signature, payload)  # the key the door verifies with
    assert set(pack["attendees"]) == {str(seen.id), str(waiting.id)}
    assert pack["attendees"][str(seen.id)] == {
        "name": "Maria Schmidt",
        "organization": pack["attendees"][str(seen.id)]["organization"],
        "category": None,
        "category_label": None,
        "status": "confirmed",
        "status_label": "Confirmed",
        "mode": "in_person",
        "needs": "Sign language",
    }
    assert pack["revoked"] == [gone.id]
    assert list(pack["checkins"]) == [str(seen.id)]
    assert pack["checkins"][str(seen.id)]["door"] == "North door"
    text = repr(pack)
    for registration in (registration_of(seen), registration_of(waiting)):
        assert registration.person.email not in text
        assert registration.manage_token not in text


def test_a_since_cursor_sends_only_changes(app) -> None:
    event = event_today()
    entrance = day_list(event)
    old = attendee(event, name="Before Sync")
    first = services.door_pack(event, entrance, now=utcnow() + timedelta(minutes=10))
    assert str(old.id) in first["attendees"]
    later = utcnow() + timedelta(minutes=10)
    new = attendee(event)
    new_badge = db.session.get(type(new), new.id)
    new_badge.issued_at = later + timedelta(minutes=1)
    db.session.flush()
    delta = services.door_pack(event, entrance, since=services.datetime.fromisoformat(first["cursor"]))
    assert list(delta["attendees"]) == [str(new.id)]
    assert delta["revoked"] == [] and delta["checkins"] == {} and not delta["full"]


# --- the API ------------------------------------------------------------------------------------------


def pack_url(event, checkin_list, since: str = "") -> str:
    return f"/api/v1/events/{event.slug}/door-pack?list={checkin_list.id}" + (f"&since={since}" if since else "")


def batch_url(event) -> str:
    return f"/api/v1/events/{event.slug}/checkins/batch"


def test_a_revoked_door_device_can_neither_sync_nor_upload(client, app) -> None:
    event = event_today()
    entrance = day_list(event)
    badge = attendee(event)
    device = factories.DoorDeviceFactory(event=event, name="West door")
    auth = {"Authorization": f"Bearer {device.token}"}
    assert client.get(pack_url(event, entrance), headers=auth).status_code == 200
    services.revoke_device(device)
    db.session.commit()
    assert services.device_for_token(device.token) is None
    refused = client.get(pack_url(event, entrance), headers=auth)
    assert refused.status_code == 401 and refused.get_json()["error"] == "unauthorized"
    upload = client.post(
        batch_url(event),
        json={"scans": [{"code": badge.code, "list": entrance.id, "nonce": "west-000001", "scanned_at": None}]},
        headers=auth,
    )
    assert upload.status_code == 401
    assert live_entries(badge) == []


def test_the_batch_endpoint_answers_each_scan_by_nonce(client, app) -> None:
    event = event_today()
    entrance = day_list(event)
    first, second = attendee(event, name="First Person"), attendee(event)
    device = factories.DoorDeviceFactory(event=event, name="Gate 2")
    db.session.commit()
    when = (utcnow() - timedelta(minutes=7)).isoformat()
    response = client.post(
        batch_url(event),
        json={
            "scans": [
                {"code": first.code, "list": entrance.id, "nonce": "gate2-00001", "scanned_at": when},
                {"code": first.code, "list": entrance.id, "nonce": "gate2-00002", "scanned_at": when},
                {"code": second.code, "list": 999999, "nonce": "gate2-00003", "scanned_at": when},
                "garbage",
            ]
        },
        headers={"Authorization": f"Bearer {device.token}"},
    )
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r.get("result") or r.get("error") for r in results] == [
        "ok",
        "already_checked_in",
        "list_not_found",
        "bad_json",
    ]
    assert results[0]["attendee"]["name"] == "First Person" and "email" not in results[0]["attendee"]
    assert results[0]["checkin"]["door"] == "Gate 2"
    assert results[1]["duplicate"]["kept"]["door"] == "Gate 2"


def test_door_staff_need_the_csrf_header_to_upload(browser: Browser, app) -> None:
    event = event_today()
    entrance = day_list(event)
    badge = attendee(event)
    staff = factories.door_staff_of(event)
    db.session.commit()
    browser.login(staff.email)
    pack = browser.client.get(pack_url(event, entrance))
    assert pack.status_code == 200 and pack.get_json()["csrf_token"]
    payload = {"scans": [{"code": badge.code, "list": entrance.id, "nonce": "staff-00001"}]}
    assert browser.client.post(batch_url(event), json=payload).status_code == 400
    ok = browser.client.post(batch_url(event), json=payload, headers={"X-CSRFToken": browser.csrf_token()})
    assert ok.status_code == 200 and ok.get_json()["results"][0]["result"] == "ok"


@pytest.mark.parametrize("since", ["yesterday", "2022-05-18T09:30:00"])
def test_a_bad_cursor_is_a_clear_400(client, app, since: str) -> None:
    event = event_today()
    entrance = day_list(event)
    device = factories.DoorDeviceFactory(event=event)
    db.session.commit()
    response = client.get(pack_url(event, entrance, since), headers={"Authorization": f"Bearer {device.token}"})
    assert response.status_code == 400 and response.get_json()["field"] == "since"


# --- exits, undos and check-ins by name, queued offline -----------------------------------------------


def exit_scan(badge, checkin_list, nonce: str, minutes_ago: float, door: str = "") -> services.OfflineScan:
    queued = scan(badge, checkin_list, nonce, minutes_ago, door)
    queued.kind = "exit"
    return queued


def undo(target: str, nonce: str, minutes_ago: float, checkin_list) -> services.OfflineScan:
    return services.OfflineScan(
        code="",
        checkin_list=checkin_list,
        nonce=nonce,
        scanned_at=utcnow() - timedelta(minutes=minutes_ago),
        kind="annul",
        annuls=target,
    )


def history_of(badge, checkin_list) -> list[tuple[str, str, bool, bool]]:
    """(direction, nonce, closed, annulled) of every scan, oldest first."""
    return [
        (row.direction.value, row.nonce, row.closed_at is not None, row.annulled_at is not None)
        for row in services.history(badge, checkin_list)
    ]


def test_an_exit_queued_offline_closes_the_entry_in_scan_time_order_and_is_applied_once(app) -> None:
    event = event_today()
    badge = attendee(event, name="Leaving Early")
    hall = factories.CheckInListFactory(event=event, name="Plenary hall", allows_exit=True)
    entry = scan(badge, hall, "in-0000001", minutes_ago=30, door="North door")
    leave = exit_scan(badge, hall, "out-000001", minutes_ago=10, door="North door")

    # Uploaded in any order: the exit (listed first) applies after the entry, by scan time.
    results = services.upload_offline_scans(event, [leave, entry])
    assert results["in-0000001"].answer.result == "ok"
    assert results["out-000001"].answer.result == "ok"
    assert results["out-000001"].answer.message == "Exit recorded."
    assert history_of(badge, hall) == [("in", "in-0000001", True, False), ("out", "out-000001", False, False)]
    assert services.history(badge, hall)[1].scanned_at == leave.scanned_at
    assert services.dashboard(event)["lists"][-1]["inside"] == 0

    again = services.upload_offline_scans(event, [leave, entry])
    assert again["out-000001"].answer.replayed and again["in-0000001"].answer.replayed
    assert len(services.history(badge, hall)) == 2


def test_an_exit_on_a_list_without_exits_fails_alone(app) -> None:
    event = event_today()
    badge, other = attendee(event), attendee(event)
    entrance = day_list(event)
    results = services.upload_offline_scans(
        event, [exit_scan(badge, entrance, "out-000002", minutes_ago=3), scan(other, entrance, "in-0000002", 2)]
    )
    assert results["out-000002"].code == "exits_not_allowed"
    assert results["in-0000002"].answer.result == "ok"


def test_in_undo_in_again_offline_ends_with_one_entry_and_the_history(app) -> None:
    event = event_today()
    badge = attendee(event, name="Wrong Person First")
    entrance = day_list(event)
    first = scan(badge, entrance, "in-0000003", minutes_ago=9)
    undone = undo("in-0000003", "undo-00003", minutes_ago=8, checkin_list=entrance)
    second = scan(badge, entrance, "in-0000004", minutes_ago=7)

    results = services.upload_offline_scans(event, [second, undone, first])
    assert [results[n].answer.result for n in ("in-0000003", "undo-00003", "in-0000004")] == [
        "ok",
        "annulled",
        "ok",
    ]
    assert results["undo-00003"].answer.message == "Undone."
    assert history_of(badge, entrance) == [("in", "in-0000003", False, True), ("in", "in-0000004", False, False)]
    # Retried: nothing new.
    again = services.upload_offline_scans(event, [second, undone, first])
    assert again["undo-00003"].answer.replayed
    assert len(live_entries(badge)) == 1


def test_undoing_a_scan_that_lost_to_an_earlier_door_leaves_that_doors_entry(app) -> None:
    event = event_today()
    badge = attendee(event, name="Seen Twice")
    entrance = day_list(event)
    north = factories.DoorDeviceFactory(event=event, name="North door")
    south = factories.DoorDeviceFactory(event=event, name="South door")
    services.upload_offline_scans(event, [scan(badge, entrance, "south-00002", minutes_ago=10)], device=south)
    services.upload_offline_scans(event, [scan(badge, entrance, "north-00002", minutes_ago=30)], device=north)

    # South door undoes its scan (which lost: North door was earlier).
    answer = services.upload_offline_scans(event, [undo("south-00002", "undo-s0002", 5, entrance)], device=south)
    result = answer["undo-s0002"].answer
    assert result.result == "superseded"
    assert result.message == "Nothing undone: an earlier scan at North door holds this check-in, and it stays."
    assert result.first_checkin.door == "North door"
    (entry,) = live_entries(badge)
    assert (entry.nonce, entry.door) == ("north-00002", "North door")


def test_undoing_an_entry_another_door_also_scanned_hands_it_to_that_doors_scan(app) -> None:
    event = event_today()
    badge = attendee(event, name="Seen Twice")
    entrance = day_list(event)
    north = factories.DoorDeviceFactory(event=event, name="North door")
    south = factories.DoorDeviceFactory(event=event, name="South door")
    late = scan(badge, entrance, "south-00003", minutes_ago=10)
    services.upload_offline_scans(event, [late], device=south)
    services.upload_offline_scans(event, [scan(badge, entrance, "north-00003", minutes_ago=30)], device=north)
    assert [c.nonce for c in conflicts()] == ["south-00003"]

    # North door's scan was a mistake (it read the wrong badge): South door's scan stands.
    answer = services.upload_offline_scans(event, [undo("north-00003", "undo-n0003", 5, entrance)], device=north)
    assert answer["undo-n0003"].answer.result == "annulled"
    promoted = answer["undo-n0003"].promoted
    assert (promoted.nonce, promoted.door, promoted.scanned_at) == ("south-00003", "South door", late.scanned_at)
    (entry,) = live_entries(badge)
    assert entry.id == promoted.id and conflicts() == []
    # South door retries its old upload: its scan is the entry now.
    retried = services.upload_offline_scans(event, [late], device=south)["south-00003"]
    assert retried.answer.result == "ok" and retried.answer.replayed
    # North door retries the undo: nothing changes.
    again = services.upload_offline_scans(event, [undo("north-00003", "undo-n0003", 5, entrance)], device=north)
    assert again["undo-n0003"].answer.replayed and again["undo-n0003"].promoted is None
    assert [e.nonce for e in live_entries(badge)] == ["south-00003"]


def test_undoing_an_unknown_scan_or_another_doors_scan(app) -> None:
    event = event_today()
    badge = attendee(event)
    entrance = day_list(event)
    north = factories.DoorDeviceFactory(event=event, name="North door")
    south = factories.DoorDeviceFactory(event=event, name="South door")
    services.upload_offline_scans(event, [scan(badge, entrance, "north-00004", minutes_ago=3)], device=north)
    results = services.upload_offline_scans(
        event,
        [undo("never-uploaded", "undo-00005", 2, entrance), undo("north-00004", "undo-00006", 2, entrance)],
        device=south,
    )
    assert results["undo-00005"].answer.result == "nothing_to_undo"
    assert results["undo-00006"].code == "not_this_door"
    assert [e.nonce for e in live_entries(badge)] == ["north-00004"]


def test_a_check_in_by_name_offline_uses_the_badge_found_in_the_door_pack(app) -> None:
    event = event_today()
    badge = attendee(event, name="No Badge At Hand")
    entrance = day_list(event)
    by_name = services.OfflineScan(
        code="", checkin_list=entrance, nonce="name-000001", scanned_at=utcnow(), badge_id=badge.id
    )
    unknown = services.OfflineScan(
        code="", checkin_list=entrance, nonce="name-000002", scanned_at=utcnow(), badge_id=badge.id + 1000
    )
    results = services.upload_offline_scans(event, [by_name, unknown])
    assert results["name-000001"].answer.result == "ok"
    assert results["name-000001"].answer.summary["name"] == "No Badge At Hand"
    assert results["name-000002"].code == "badge_not_found"
    assert [e.nonce for e in live_entries(badge)] == ["name-000001"]


def test_the_batch_endpoint_takes_exits_undos_and_check_ins_by_name(client, app) -> None:
    event = event_today()
    hall = factories.CheckInListFactory(event=event, name="Plenary hall", allows_exit=True)
    leaving, mistaken = attendee(event, name="Leaving Person"), attendee(event, name="Mistaken Person")
    device = factories.DoorDeviceFactory(event=event, name="Hall door")
    db.session.commit()

    def at(minutes_ago: int) -> str:
        return (utcnow() - timedelta(minutes=minutes_ago)).isoformat()

    response = client.post(
        batch_url(event),
        json={
            "scans": [
                {"kind": "exit", "code": leaving.code, "list": hall.id, "nonce": "hall-00002", "scanned_at": at(5)},
                {"badge": leaving.id, "list": hall.id, "nonce": "hall-00001", "scanned_at": at(20)},
                {"code": mistaken.code, "list": hall.id, "nonce": "hall-00003", "scanned_at": at(9)},
                {"kind": "annul", "annuls": "hall-00003", "list": hall.id, "nonce": "hall-00004", "scanned_at": at(8)},
                {"kind": "teleport", "code": mistaken.code, "list": hall.id, "nonce": "hall-00005"},
                {"kind": "annul", "list": hall.id, "nonce": "hall-00006"},
            ]
        },
        headers={"Authorization": f"Bearer {device.token}"},
    )
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [(r.get("kind"), r.get("result") or r.get("error")) for r in results] == [
        ("exit", "ok"),
        ("checkin", "ok"),
        ("checkin", "ok"),
        ("annul", "annulled"),
        (None, "bad_field"),
        (None, "missing_field"),
    ]
    assert results[0]["checkin"]["direction"] == "out" and results[0]["checkin"]["door"] == "Hall door"
    assert results[3]["annuls"] == "hall-00003" and results[3]["checkin"]["annulled"] is True
    assert results[3]["promoted"] is None
    assert [row.nonce for row in services.history(leaving, hall)] == ["hall-00001", "hall-00002"]
    assert live_entries(mistaken) == []
    assert [(r[0], r[3]) for r in history_of(mistaken, hall)] == [("in", True)]


def test_after_logging_out_the_door_pack_is_refused(browser: Browser, app) -> None:
    event = event_today()
    entrance = day_list(event)
    attendee(event, name="Private Person")
    staff = factories.door_staff_of(event)
    db.session.commit()
    browser.login(staff.email)
    assert browser.client.get(pack_url(event, entrance)).status_code == 200
    assert browser.logout().status_code == 302
    refused = browser.client.get(pack_url(event, entrance))
    assert refused.status_code == 401 and refused.get_json()["error"] == "unauthorized"
    assert "Private Person" not in refused.get_data(as_text=True)


# --- the door pack's size ------------------------------------------------------------------------------

#: Bytes per attendee a full door pack may take, as served (compact JSON, non-ASCII as \uXXXX escapes).
#: What one attendee needs: the badge id key (~8 B), name and organization (a 3-syllable Hangul name is 18 B
#: escaped, a long Latin one ~40 B; organizations ~20-30 B), ~170 B of field names and fixed values (category
#: and label, status and label, mode, needs), and ~150 B more for each live entry. Measured: 274 B for the
#: Seoul mix below with a third checked in. The budget, 350 B, leaves ~25% for longer names and keeps a
#: 10,000-person assembly's full pack near 3.5 MB: about 30 s once on a poor 1 Mbit/s venue link (later syncs
#: carry only changes) and far inside a phone's IndexedDB quota. A byte count of the answer: the same on every
#: machine.
PACK_BYTES_PER_ATTENDEE = 350

SEOUL_NAMES = ["김민지", "이서준", "박지현", "최우진", "정하은", "강도윤", "조서연", "윤지호"]
LATIN_NAMES = ["José Álvarez", "Zoë Müller", "François Lefèvre", "Åsa Ødegård", "Ana María Núñez", "Jean Dupont"]
OTHER_NAMES = ["محمد العلي", "Александр Иванов", "Светлана Петрова", "فاطمة الزهراء"]
LONG_NAME = "Maria Guadalupe Fernández de la Santísima Trinidad Rodríguez y Castillo-Villanueva"
ORGANIZATIONS = ["Seoul Metropolitan Government", "Ayuntamiento de Bogotá", "Ville de Montréal", "Kazan City Hall"]


def a_thousand_attendees(event) -> list:
    from eventsys.events.models import Category

    categories = [None, Category.MEMBER_CITY, Category.SPEAKER, Category.EMBASSY, Category.PRESS]
    organizations = [factories.OrganizationFactory(name=name) for name in ORGANIZATIONS]
    made = []
    for n in range(1000):
        if n % 10 < 4:
            name = SEOUL_NAMES[n % len(SEOUL_NAMES)]
        elif n % 10 < 9:
            name = LATIN_NAMES[n % len(LATIN_NAMES)]
        else:
            name = OTHER_NAMES[n % len(OTHER_NAMES)]
        if n % 100 == 0:
            name = LONG_NAME
        person = factories.PersonFactory(
            name=name,
            email=f"secret-mail-{n}@example.org",
            title=f"Secret title {n}",
            bio=f"Secret biography {n}",
            organization=organizations[n % len(organizations)],
        )
        registration = factories.RegistrationFactory(
            event=event,
            person=person,
            category=categories[n % len(categories)],
            accessibility_needs="Wheelchair access" if n % 20 == 0 else None,
            dietary_needs=f"Secret diet {n}",
        )
        made.append(badges.issue_badge(registration))
    db.session.flush()
    return made


def test_a_full_door_pack_for_a_thousand_attendees_stays_small_and_shows_only_what_the_door_may_see(
    client, app
) -> None:
    event = event_today()
    entrance = day_list(event)
    made = a_thousand_attendees(event)
    for badge in made[:300]:  # a third of them already in: live entries travel too
        services.redeem_badge(event, badge.code, entrance, door="North door")
    device = factories.DoorDeviceFactory(event=event, name="North door")
    db.session.commit()

    response = client.get(pack_url(event, entrance), headers={"Authorization": f"Bearer {device.token}"})
    assert response.status_code == 200
    body = response.get_data()
    pack = response.get_json()
    assert len(pack["attendees"]) == 1000 and len(pack["checkins"]) == 300
    per_attendee = len(body) / 1000
    assert per_attendee <= PACK_BYTES_PER_ATTENDEE, f"{per_attendee:.0f} bytes per attendee"

    allowed = {"name", "organization", "category", "category_label", "status", "status_label", "mode", "needs"}
    assert all(set(summary) == allowed for summary in pack["attendees"].values())
    assert all(
        set(entry) == {"id", "door", "scanned_at", "scanned_at_local", "nonce"} for entry in pack["checkins"].values()
    )
    text = body.decode("utf-8")
    for secret in ("secret-mail", "Secret title", "Secret biography", "Secret diet", "@example.org"):
        assert secret not in text
    registrations = {badge.registration_id: registration_of(badge) for badge in made[:50]}
    for badge in made[:50]:
        registration = registrations[badge.registration_id]
        assert badge.code not in text  # the QR's content stays on the badge
        assert registration.manage_token not in text
    assert '"registration_id"' not in text


def test_an_online_undo_of_an_entry_another_door_duplicated_offline_keeps_that_doors_scan(app) -> None:
    event = event_today()
    badge = attendee(event, name="Seen Twice")
    entrance = day_list(event)
    online = services.redeem_badge(
        event, badge.code, entrance, door="Main", nonce="main-000001", scanned_at=utcnow() - timedelta(minutes=20)
    )
    offline = scan(badge, entrance, "east-000002", minutes_ago=5, door="East")
    assert services.upload_offline_scans(event, [offline])["east-000002"].answer.result == "already_checked_in"

    services.annul_checkin(event, online.checkin.id)  # Main door's "Undo last check-in"
    (entry,) = live_entries(badge)
    assert (entry.nonce, entry.door, entry.scanned_at) == ("east-000002", "East", offline.scanned_at)
    assert conflicts() == []
