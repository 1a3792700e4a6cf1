"""Agenda rules: scheduling, conflict warnings as data, publishing numbered versions, stars and feeds."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from eventsys.agenda import services
from eventsys.agenda.models import FeedScope, SpeakerRole
from eventsys.common.errors import DomainError
from eventsys.extensions import db
from eventsys.registration.models import Mode, RegistrationStatus
from tests import factories
from tests.agenda.conftest import publish


def codes(event) -> list[str]:
    return sorted(w.code for w in services.agenda_warnings(event))


def test_a_clean_agenda_has_no_warnings(agenda) -> None:
    assert codes(agenda["event"]) == []


def test_two_sessions_in_one_room_at_once_warn_but_save(agenda) -> None:
    event, opening, activities = agenda["event"], agenda["opening"], agenda["activities"]
    services.schedule_session(activities, opening.starts_at, opening.ends_at, agenda["hall"].id)
    db.session.flush()
    assert activities.room_id == agenda["hall"].id  # saved despite the conflict
    warnings = services.agenda_warnings(event)
    room = [w for w in warnings if w.code == "room_overlap"]
    assert len(room) == 1 and set(room[0].session_ids) == {opening.id, activities.id}
    assert "Grand Hall" in room[0].message
    # The mayor speaks in one and moderates the other: double-booked too.
    speaker = [w for w in warnings if w.code == "speaker_overlap"]
    assert len(speaker) == 1 and speaker[0].person_id == agenda["mayor"].id


def test_sessions_that_only_touch_do_not_conflict(agenda) -> None:
    opening, activities = agenda["opening"], agenda["activities"]
    services.schedule_session(activities, opening.ends_at, opening.ends_at + timedelta(minutes=5), agenda["hall"].id)
    assert codes(agenda["event"]) == []


def test_a_plenary_session_conflicts_with_every_room(agenda) -> None:
    event = agenda["event"]
    factories.SessionFactory(
        event=event,
        title="Coffee break",
        plenary=True,
        starts_at=event.starts_at + timedelta(minutes=20),
        ends_at=event.starts_at + timedelta(minutes=30),
    )
    db.session.flush()
    warnings = [w for w in services.agenda_warnings(event) if w.code == "room_overlap"]
    assert [w.session_ids[0] for w in warnings] == [agenda["activities"].id]


def test_a_session_outside_the_event_dates_warns(agenda) -> None:
    event, opening = agenda["event"], agenda["opening"]
    services.schedule_session(opening, event.ends_at, event.ends_at + timedelta(minutes=30), opening.room_id)
    assert codes(event) == ["outside_event"]


def test_a_room_over_capacity_for_in_person_stars(agenda) -> None:
    event, opening = agenda["event"], agenda["opening"]
    publish(event)
    for _ in range(4):  # the Grand Hall seats 3
        registration = factories.RegistrationFactory(event=event)
        services.star_session(registration, opening.id, True)
    # Online attendees do not count toward the room.
    services.star_session(factories.RegistrationFactory(event=event, mode=Mode.ONLINE), opening.id, True)
    warnings = [w for w in services.agenda_warnings(event) if w.code == "over_capacity"]
    assert len(warnings) == 1 and warnings[0].session_ids == (opening.id,)
    assert "4" in warnings[0].message and "3" in warnings[0].message


def test_scheduling_refuses_impossible_times_and_foreign_rooms(agenda) -> None:
    opening = agenda["opening"]
    start = opening.starts_at
    with pytest.raises(DomainError) as error:
        services.schedule_session(opening, start, start, None)
    assert error.value.code == "ends_before_start"
    with pytest.raises(DomainError) as error:
        services.schedule_session(opening, start, None, None)
    assert error.value.code == "time_incomplete"
    other_room = factories.RoomFactory()
    with pytest.raises(DomainError) as error:
        services.schedule_session(opening, start, start + timedelta(minutes=5), other_room.id)
    assert error.value.code == "unknown_room"


def test_unscheduling_keeps_the_session_in_the_draft(agenda) -> None:
    opening = agenda["opening"]
    services.schedule_session(opening, None, None, None)
    assert opening.starts_at is None and opening.room_id is None


def test_speakers_keep_their_order_and_roles(agenda) -> None:
    activities = agenda["activities"]
    services.set_speakers(activities, [(agenda["mayor"], SpeakerRole.MODERATOR), (agenda["sg"], SpeakerRole.SPEAKER)])
    db.session.flush()
    db.session.expire(activities)
    assert [(link.person.name, link.role) for link in activities.speakers] == [
        ("Se-hoon Oh", SpeakerRole.MODERATOR),
        ("Jung Sook Park", SpeakerRole.SPEAKER),
    ]
    with pytest.raises(DomainError):
        services.set_speakers(activities, [(agenda["sg"], SpeakerRole.SPEAKER), (agenda["sg"], SpeakerRole.HOST)])


# --- publishing -----------------------------------------------------------------------------------------------


def test_publishing_numbers_versions_and_leaves_out_hidden_and_unscheduled(agenda) -> None:
    event = agenda["event"]
    agenda["activities"].is_public = False
    first = publish(event)
    assert first.number == 1
    assert [s["title"] for s in first.snapshot["sessions"]] == ["Opening remarks"]
    assert "stream_url" not in first.snapshot["sessions"][0]
    agenda["activities"].is_public = True
    second = publish(event)
    assert second.number == 2
    assert [c["kind"] for c in second.changes] == ["added"]


def test_a_change_raises_the_sequence_and_is_listed_as_moved(agenda) -> None:
    event, opening = agenda["event"], agenda["opening"]
    publish(event)
    services.schedule_session(
        opening, opening.starts_at + timedelta(minutes=5), opening.ends_at + timedelta(minutes=5), opening.room_id
    )
    agenda["activities"].title = "WeGO's activities for 2022"
    version = publish(event)
    assert opening.sequence == 1 and agenda["activities"].sequence == 1
    kinds = {c["title"]: c["kind"] for c in version.changes}
    assert kinds == {"Opening remarks": "moved", "WeGO's activities for 2022": "changed"}
    unchanged = publish(event)
    assert unchanged.changes == [] and opening.sequence == 1


def test_publishing_a_draft_that_changed_meanwhile_is_refused(agenda) -> None:
    event = agenda["event"]
    digest = services.draft_digest(event)
    agenda["opening"].title = "Opening remarks by the Mayor"
    db.session.flush()
    with pytest.raises(DomainError) as error:
        services.publish_agenda(event, None, digest)
    assert error.value.code == "draft_changed"


def test_attendees_who_starred_a_moved_session_get_one_email(agenda, mail_outbox) -> None:
    event, opening = agenda["event"], agenda["opening"]
    publish(event)
    follower = factories.RegistrationFactory(event=event)
    services.star_session(follower, opening.id, True)
    services.star_session(follower, agenda["activities"].id, True)
    bystander = factories.RegistrationFactory(event=event)
    services.star_session(bystander, agenda["activities"].id, True)
    cancelled = factories.RegistrationFactory(event=event)
    services.star_session(cancelled, opening.id, True)
    cancelled.status = RegistrationStatus.CANCELLED
    services.schedule_session(
        opening, opening.starts_at + timedelta(minutes=30), opening.ends_at + timedelta(minutes=30), agenda["small"].id
    )
    publish(event)
    db.session.commit()  # the emails leave after the commit
    assert [m["To"].addresses[0].addr_spec for m in mail_outbox] == [follower.person.email]
    body = mail_outbox[0].get_body(("plain",)).get_content()
    assert "Opening remarks" in body and "Seminar Room" in body and "Grand Hall" in body
    assert "WeGO activities 2022" not in body


def test_nothing_is_emailed_when_publishing_rolls_back(agenda, mail_outbox) -> None:
    event, opening = agenda["event"], agenda["opening"]
    publish(event)
    services.star_session(factories.RegistrationFactory(event=event), opening.id, True)
    services.schedule_session(opening, None, None, None)
    publish(event)
    db.session.rollback()
    assert mail_outbox == []


# --- stars and feeds ------------------------------------------------------------------------------------------


def test_only_published_sessions_can_be_starred(agenda) -> None:
    event = agenda["event"]
    registration = factories.RegistrationFactory(event=event)
    with pytest.raises(DomainError):
        services.star_session(registration, agenda["opening"].id, True)  # nothing published yet
    publish(event)
    services.star_session(registration, agenda["opening"].id, True)
    services.star_session(registration, agenda["opening"].id, True)  # twice is once
    assert services.starred_session_ids(registration) == {agenda["opening"].id}
    with pytest.raises(DomainError):
        services.star_session(registration, agenda["unscheduled"].id, True)
    services.star_session(registration, agenda["opening"].id, False)
    assert services.starred_session_ids(registration) == set()


def test_a_cancelled_registration_keeps_no_agenda_and_its_feed_stops(agenda) -> None:
    event = agenda["event"]
    publish(event)
    registration = factories.RegistrationFactory(event=event)
    feed = services.set_feed(registration, FeedScope.ALL)
    assert services.find_feed(feed.token) is feed
    registration.status = RegistrationStatus.CANCELLED
    assert services.find_feed(feed.token) is None
    with pytest.raises(DomainError):
        services.star_session(registration, agenda["opening"].id, True)


def test_renewing_the_feed_revokes_the_old_address(agenda) -> None:
    registration = factories.RegistrationFactory(event=agenda["event"])
    feed = services.set_feed(registration, FeedScope.STARRED)
    old = feed.token
    services.set_feed(registration, FeedScope.ALL)
    assert feed.token == old and feed.scope is FeedScope.ALL  # changing the scope keeps the address
    services.renew_feed(registration)
    assert feed.token != old
    assert services.find_feed(old) is None and services.find_feed(feed.token) is feed


# --- speaker photos -------------------------------------------------------------------------------------------


def _image(fmt: str = "PNG", size: tuple[int, int] = (1200, 800)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def test_a_photo_is_reencoded_resized_and_stored_under_a_random_name(app, tmp_path) -> None:
    app.config["SPEAKER_PHOTO_DIR"] = str(tmp_path)
    person = factories.PersonFactory()
    name = services.store_speaker_photo(person, _image())
    assert person.photo == name and services.is_photo_name(name)
    with Image.open(tmp_path / name) as stored:
        assert stored.format == "JPEG" and max(stored.size) == services.PHOTO_SIZE


@pytest.mark.parametrize(
    "content",
    [
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"GIF89a<?php system($_GET['c']); ?>",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,  # a PNG signature and nothing valid after it
        b"",
    ],
)
def test_files_that_are_not_images_are_refused(app, tmp_path, content: bytes) -> None:
    app.config["SPEAKER_PHOTO_DIR"] = str(tmp_path)
    person = factories.PersonFactory()
    with pytest.raises(DomainError) as error:
        services.store_speaker_photo(person, content)
    assert error.value.field == "photo"
    assert person.photo is None and list(tmp_path.iterdir()) == []


def test_an_oversized_photo_is_refused(app, tmp_path) -> None:
    app.config["SPEAKER_PHOTO_DIR"] = str(tmp_path)
    with pytest.raises(DomainError) as error:
        services.store_speaker_photo(factories.PersonFactory(), b"\xff\xd8" + b"\x00" * services.PHOTO_MAX_BYTES)
    assert error.value.code == "photo_too_large"
