"""Check-in decisions: ok, already checked in, refusals, days, session lists, exits, undo, nonces, search."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from eventsys.checkin import badges, services
from eventsys.checkin.models import CheckIn, CheckInDirection
from eventsys.common.db import utcnow
from eventsys.events.models import Category
from eventsys.extensions import db
from eventsys.registration.models import Mode, RegistrationStatus
from eventsys.registration.services import cancel_registration
from tests import factories
from tests.checkin.checkin_helpers import attendee, day_list, event_today, local_midnight, registration_of


def rows(badge) -> list[CheckIn]:
    return list(db.session.scalars(sa.select(CheckIn).where(CheckIn.badge_id == badge.id).order_by(CheckIn.id)))


def test_first_scan_is_ok_and_the_second_says_when_and_where_the_first_was(app) -> None:
    event = event_today()
    badge = attendee(event, name="Oh Se-hoon")
    entrance = day_list(event)

    first = services.redeem_badge(event, badge.code, entrance, door="North door")
    assert first.result == "ok"
    assert first.summary["name"] == "Oh Se-hoon"
    second = services.redeem_badge(event, badge.code, entrance, door="South door")
    assert second.result == "already_checked_in"
    assert second.first_checkin.id == first.checkin.id
    assert second.first_checkin.door == "North door"
    assert second.first_checkin.scanned_at == first.checkin.scanned_at
    assert len(rows(badge)) == 1


def test_a_changed_character_or_garbage_is_invalid_and_shows_nobody(app) -> None:
    event = event_today()
    badge = attendee(event)
    entrance = day_list(event)
    index = len(badge.code) // 2
    forged = badge.code[:index] + ("A" if badge.code[index] != "A" else "B") + badge.code[index + 1 :]
    for code in (forged, badge.code[:-1], "", "https://example.org/?x=1", "x" * 600, "\x00\x01"):
        result = services.redeem_badge(event, code, entrance)
        assert result.result == "invalid", code
        assert result.summary is None
    assert rows(badge) == []


def test_a_badge_of_another_event_is_wrong_event(app) -> None:
    event = event_today()
    other = event_today()
    theirs = attendee(other)
    result = services.redeem_badge(event, theirs.code, day_list(event))
    assert result.result == "wrong_event"
    assert result.summary is None  # another event's attendee is none of this door's business


def test_a_code_signed_with_another_events_key_is_invalid(app) -> None:
    """A forger who holds some event's key cannot mint badges for this one: the signature is checked with the
    key of the event the code names."""
    event = event_today()
    other = event_today()
    badge = attendee(event)
    forged = badges.sign_code(badges.event_key(other).private_key, event.id, badge.id)
    assert forged != badge.code
    assert services.redeem_badge(event, forged, day_list(event)).result == "invalid"


def test_a_cancelled_attendee_is_revoked(app) -> None:
    event = event_today()
    badge = attendee(event)
    cancel_registration(registration_of(badge))
    result = services.redeem_badge(event, badge.code, day_list(event))
    assert result.result == "revoked"
    assert result.summary["status"] == "cancelled"


def test_a_reissued_badge_revokes_the_old_code(app) -> None:
    event = event_today()
    old = attendee(event)
    new = badges.reissue_badge(old, actor=None)
    entrance = day_list(event)
    assert services.redeem_badge(event, old.code, entrance).result == "revoked"
    assert services.redeem_badge(event, new.code, entrance).result == "ok"


def test_a_registration_switched_to_online_is_not_in_person(app) -> None:
    event = event_today()
    badge = attendee(event)
    registration = registration_of(badge)
    registration.mode = Mode.ONLINE  # its badge is revoked with the switch (eventsys.checkin.badges)
    db.session.flush()
    db.session.refresh(badge)
    assert badge.revoked_at is not None
    result = services.redeem_badge(event, badge.code, day_list(event))
    assert result.result == "not_in_person"
    assert result.summary["mode"] == "online"
    online = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    assert services.redeem_registration(event, online.id, day_list(event)).result == "not_in_person"


def test_each_day_has_its_own_list_and_the_same_badge_checks_in_once_per_day(app) -> None:
    event = event_today(days=2, first_day=-1)  # yesterday and today, Seoul time
    badge = attendee(event)
    yesterday_list, today_list = day_list(event, 0), day_list(event, 1)
    yesterday = local_midnight(-1) + timedelta(hours=9)

    assert services.redeem_badge(event, badge.code, yesterday_list, scanned_at=yesterday).result == "ok"
    again = services.redeem_badge(event, badge.code, yesterday_list, scanned_at=yesterday + timedelta(hours=2))
    assert again.result == "already_checked_in"
    assert services.redeem_badge(event, badge.code, today_list).result == "ok"
    assert services.redeem_badge(event, badge.code, today_list).result == "already_checked_in"
    # Yesterday's list is over; today's was not open yet yesterday.
    assert services.redeem_badge(event, badge.code, yesterday_list).result == "list_closed"
    assert services.redeem_badge(event, badge.code, today_list, scanned_at=yesterday).result == "not_yet_open"
    assert len(rows(badge)) == 2


def test_default_lists_follow_the_event_days_in_its_zone_and_are_made_once(app) -> None:
    # 23:30 to 01:30 Seoul time: two local days, though the whole event is on one UTC day.
    starts = local_midnight(3, ZoneInfo("Asia/Seoul")) - timedelta(minutes=30)
    event = factories.EventFactory(starts_at=starts, ends_at=starts + timedelta(hours=2), timezone="Asia/Seoul")
    services.ensure_default_lists(event)
    services.ensure_default_lists(event)
    days = [cl.day for cl in services.lists_for(event) if cl.is_default]
    assert days == services.event_days(event)
    assert len(days) == 2 and days[1] - days[0] == timedelta(days=1)


def test_a_session_list_refuses_a_category_it_does_not_admit(app) -> None:
    event = event_today()
    signing = services.create_list(
        event, name="MOU signing ceremony", session_id=42, categories=[Category.EMBASSY.value, Category.SPEAKER.value]
    )
    ambassador = attendee(event, category=Category.EMBASSY)
    member = attendee(event, category=Category.MEMBER_CITY)
    walk_in = attendee(event, category=None)
    assert services.redeem_badge(event, ambassador.code, signing).result == "ok"
    refused = services.redeem_badge(event, member.code, signing)
    assert refused.result == "not_admitted"
    assert refused.summary["category"] == "member_city"
    assert services.redeem_badge(event, walk_in.code, signing).result == "not_admitted"
    # The day's list admits everyone.
    assert services.redeem_badge(event, member.code, day_list(event)).result == "ok"


def test_creating_a_list_checks_its_shape(app) -> None:
    event = event_today()
    with pytest.raises(services.CheckInError):
        services.create_list(event, name="  ")
    with pytest.raises(services.CheckInError):
        services.create_list(event, name="x", categories=["royalty"])
    with pytest.raises(services.CheckInError):
        services.create_list(event, name="x", day=local_midnight(40).date())


def test_exit_and_re_entry_keep_the_whole_history(app) -> None:
    event = event_today()
    badge = attendee(event)
    hall = services.create_list(event, name="Plenary hall", allows_exit=True)

    assert services.redeem_badge(event, badge.code, hall, door="A").result == "ok"
    out = services.record_exit(event, badge.code, hall, door="A")
    assert out.result == "ok" and out.checkin.direction is CheckInDirection.OUT
    assert services.record_exit(event, badge.code, hall).result == "not_checked_in"
    assert services.redeem_badge(event, badge.code, hall, door="B").result == "ok"  # back in: a fresh ok
    history = services.history(badge, hall)
    assert [(c.direction.value, c.door, c.closed_at is not None) for c in history] == [
        ("in", "A", True),
        ("out", "A", False),
        ("in", "B", False),
    ]
    assert history[1].entry_id == history[0].id
    assert services.dashboard(event)["lists"][-1]["inside"] == 1


def test_a_list_without_exits_refuses_exit_scans(app) -> None:
    event = event_today()
    badge = attendee(event)
    with pytest.raises(services.CheckInError) as refused:
        services.record_exit(event, badge.code, day_list(event))
    assert refused.value.code == "exits_not_allowed"


def test_a_retried_nonce_returns_the_first_answer_and_writes_nothing(app) -> None:
    event = event_today()
    badge = attendee(event)
    entrance = day_list(event)
    first = services.redeem_badge(event, badge.code, entrance, nonce="scan-0001-abcdef")
    retry = services.redeem_badge(event, badge.code, entrance, nonce="scan-0001-abcdef")
    assert first.result == retry.result == "ok"
    assert retry.replayed and retry.checkin.id == first.checkin.id
    assert len(rows(badge)) == 1
    with pytest.raises(services.CheckInError):
        services.redeem_badge(event, badge.code, entrance, nonce="bad nonce!")
    # Another event's door cannot read this scan back through its nonce.
    other = event_today()
    with pytest.raises(services.CheckInError) as reused:
        services.redeem_badge(other, attendee(other).code, day_list(other), nonce="scan-0001-abcdef")
    assert reused.value.code == "nonce_reused"


def test_undo_lets_the_badge_in_again_and_undoing_an_exit_reopens_the_entry(app) -> None:
    event = event_today()
    badge = attendee(event)
    hall = services.create_list(event, name="Hall", allows_exit=True)
    entry = services.redeem_badge(event, badge.code, hall).checkin
    services.annul_checkin(event, entry.id)
    services.annul_checkin(event, entry.id)  # twice is harmless
    again = services.redeem_badge(event, badge.code, hall)
    assert again.result == "ok"
    exit_scan = services.record_exit(event, badge.code, hall).checkin
    services.annul_checkin(event, exit_scan.id)
    assert services.redeem_badge(event, badge.code, hall).result == "already_checked_in"
    with pytest.raises(services.CheckInError):
        services.annul_checkin(event_today(), again.checkin.id)  # another event's door


def test_a_device_may_undo_only_its_own_scans(app) -> None:
    event = event_today()
    badge = attendee(event)
    north = factories.DoorDeviceFactory(event=event, name="North")
    south = factories.DoorDeviceFactory(event=event, name="South")
    entry = services.redeem_badge(event, badge.code, day_list(event), device=north).checkin
    assert entry.door == "North"  # the device's name is the door by default
    with pytest.raises(services.NotAllowed):
        services.annul_checkin(event, entry.id, device=south)
    assert services.annul_checkin(event, entry.id, device=north).annulled_at is not None


def test_needs_and_vips_ask_for_attention(app) -> None:
    event = event_today()
    wheelchair = attendee(event, accessibility_needs="Wheelchair access")
    speaker = attendee(event, category=Category.SPEAKER)
    plain = attendee(event)
    entrance = day_list(event)
    assert services.redeem_badge(event, wheelchair.code, entrance).attention == ["Needs: Wheelchair access"]
    assert services.redeem_badge(event, speaker.code, entrance).attention == ["VIP: Speaker"]
    assert services.redeem_badge(event, plain.code, entrance).attention == []


def test_a_late_registrant_found_by_name_gets_a_badge_and_is_checked_in(app) -> None:
    event = event_today()
    registration = factories.RegistrationFactory(event=event)
    result = services.redeem_registration(event, registration.id, day_list(event))
    assert result.result == "ok"
    assert result.checkin.badge.registration_id == registration.id
    cancelled = factories.RegistrationFactory(event=event, status=RegistrationStatus.CANCELLED)
    assert services.redeem_registration(event, cancelled.id, day_list(event)).result == "cancelled"


def test_search_shows_the_door_only_the_minimum(app) -> None:
    event = event_today()
    attendee(event, name="김민지", accessibility_needs="Hearing loop")
    attendee(event, name="Mathilde Müller")
    factories.RegistrationFactory(event=event, mode=Mode.ONLINE, person=factories.PersonFactory(name="Online Müller"))
    factories.RegistrationFactory(event=event_today(), person=factories.PersonFactory(name="Elsewhere Müller"))

    found = services.search_attendees(event, "müller")
    assert [p["name"] for p in found] == ["Mathilde Müller"]
    assert set(found[0]) == {
        "registration_id",
        "name",
        "organization",
        "category",
        "category_label",
        "status",
        "status_label",
        "mode",
        "needs",
        "has_badge",
    }
    assert services.search_attendees(event, "민지")[0]["needs"] == "Hearing loop"
    assert services.search_attendees(event, "m") == []  # too short
    assert services.search_attendees(event, "%") == []  # LIKE wildcards are plain text


def test_printing_at_the_door_reissues_without_checking_in(app) -> None:
    event = event_today()
    badge = attendee(event)
    registration = registration_of(badge)
    same = services.badge_for_printing(event, registration.id, reissue=False, actor=None)
    assert same.id == badge.id
    fresh = services.badge_for_printing(event, registration.id, reissue=True, actor=None)
    assert fresh.id != badge.id and fresh.code != badge.code
    db.session.refresh(badge)
    assert badge.revoked_at is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 0
    assert services.single_badge_pdf(event, fresh.id).startswith(b"%PDF")
    with pytest.raises(services.CheckInError):
        services.single_badge_pdf(event, badge.id)  # the revoked one is not printed again


def test_the_dashboard_counts_by_list_category_and_door(app) -> None:
    event = event_today()
    entrance = day_list(event)
    a = attendee(event, category=Category.SPEAKER)
    b = attendee(event, category=Category.SPEAKER)
    c = attendee(event, category=Category.PRESS)
    attendee(event, category=None)
    factories.RegistrationFactory(event=event, mode=Mode.ONLINE)  # not expected at the door
    services.redeem_badge(event, a.code, entrance, door="North")
    services.redeem_badge(event, b.code, entrance, door="South")
    undone = services.redeem_badge(event, c.code, entrance, door="North").checkin
    services.annul_checkin(event, undone.id)

    data = services.dashboard(event, now=utcnow() + timedelta(seconds=1))
    assert data["expected"] == 4 and data["checked_in"] == 2
    assert data["lists"][0]["checked_in"] == 2 and data["lists"][0]["expected"] == 4
    by_category = {row["category"]: (row["checked_in"], row["expected"]) for row in data["categories"]}
    assert by_category == {"speaker": (2, 2), "press": (0, 1), None: (0, 1)}
    assert {row["door"]: row["people"] for row in data["doors"]} == {"North": 1, "South": 1}
    assert len(data["last_scans"]) == 3 and data["last_scans"][0]["annulled"] is True
    assert data["scans_last_minute"] == 2
