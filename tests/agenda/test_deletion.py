"""Deleting sessions and editing rooms: what the organizer sees, what the public keeps until the next publish,
what happens to stars, speakers and an MOU's signing ceremony; and the publish page's counts in plural."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from eventsys.agenda import services
from eventsys.agenda.models import Room, Session, SessionKind, SessionSpeaker, Star
from eventsys.events.models import Person
from eventsys.extensions import db
from eventsys.mou.models import Mou
from eventsys.registration.models import Mode
from tests import factories
from tests.agenda.conftest import publish


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def organizer(browser, agenda):
    """The browser, logged in as an organizer of the agenda's event."""
    user = factories.organizer_of(agenda["event"])
    assert browser.login(user.email).status_code == 302
    return browser


def delete_url(agenda, session) -> str:
    return f"/manage/events/{agenda['event'].slug}/agenda/sessions/{session.id}/delete"


def exists(model, row_id: int) -> bool:
    db.session.expire_all()
    return db.session.get(model, row_id) is not None


def is_tombstone(session_id: int) -> bool:
    """Only the row is left: off the draft, no speakers, stars, room, stream or MOU."""
    db.session.expire_all()
    session = db.session.get(Session, session_id)
    return (
        session is not None
        and session.deleted_at is not None
        and not session.is_public
        and session.stream_url is None
        and session.room_id is None
        and db.session.scalar(sa.select(SessionSpeaker).where(SessionSpeaker.session_id == session_id)) is None
        and db.session.scalar(sa.select(Star).where(Star.session_id == session_id)) is None
        and db.session.scalar(sa.select(Mou).where(Mou.session_id == session_id)) is None
        and session_id not in {s.id for s in services.sessions_of(session.event)}
    )


# --- deleting a session -----------------------------------------------------------------------------------------


def test_a_session_not_yet_published_is_deleted_at_once_after_confirmation(organizer, agenda) -> None:
    session, mayor = agenda["activities"], agenda["mayor"]
    url = delete_url(agenda, session)
    page = text(organizer.client.get(url))
    assert "Delete “WeGO activities 2022”?" in page
    assert "not on the published agenda" in page
    builder = text(organizer.client.get(f"/manage/events/{agenda['event'].slug}/agenda"))
    assert url in builder
    # Without the confirmation value, or without the CSRF token: nothing happens.
    assert organizer.post(url, {"confirm": "yes"}).status_code == 400
    assert organizer.client.post(url, data={"confirm": "delete"}).status_code == 400
    assert exists(Session, session.id)

    response = organizer.post(url, {"confirm": "delete"})
    assert response.status_code == 302
    assert not exists(Session, session.id)
    assert db.session.scalar(sa.select(SessionSpeaker).where(SessionSpeaker.session_id == session.id)) is None
    assert exists(Person, mayor.id)  # the speaker is kept, only their place on the session went
    builder = text(organizer.client.get(f"/manage/events/{agenda['event'].slug}/agenda"))
    assert "is deleted." in builder and "WeGO activities 2022</strong>" not in builder
    assert organizer.client.get(url).status_code == 404
    edit = f"/manage/events/{agenda['event'].slug}/agenda/sessions/{session.id}/edit"
    assert organizer.client.get(edit).status_code == 404


def test_a_published_session_stays_public_until_the_next_publish_and_followers_hear_of_it(
    organizer, client, agenda, mail_outbox
) -> None:
    event, session = agenda["event"], agenda["activities"]
    publish(event)
    follower = factories.RegistrationFactory(event=event)
    services.star_session(follower, session.id, True)
    db.session.commit()
    page = text(organizer.client.get(delete_url(agenda, session)))
    assert "stays there" in page and "1 attendee starred it and is told by email when you publish." in page

    assert organizer.post(delete_url(agenda, session), {"confirm": "delete"}).status_code == 302
    db.session.expire_all()
    # Gone from the draft: the builder, its JSON endpoint, the forms, the warnings, the publish digest.
    assert session.deleted_at is not None
    assert session.id not in {s.id for s in services.sessions_of(event)}
    builder = text(organizer.client.get(f"/manage/events/{event.slug}/agenda"))
    assert "WeGO activities 2022</strong>" not in builder and "leaves the public agenda when you publish" in builder
    api = organizer.client.post(
        f"/manage/events/{event.slug}/agenda/api/sessions/{session.id}",
        json={"starts_at": None, "ends_at": None, "room_id": None},
        headers={"X-CSRFToken": organizer.csrf_token()},
    )
    assert api.status_code == 404
    # Still public, in the feed, the programme and the personal agenda, with its star, until the next publish.
    assert "WeGO activities 2022" in text(client.get(f"/events/{event.slug}/agenda"))
    assert b"WeGO activities 2022" in client.get(f"/events/{event.slug}/agenda.ics").data
    assert client.get(f"/events/{event.slug}/agenda/sessions/{session.id}").status_code == 200
    assert services.starred_session_ids(follower) == {session.id}
    publish_page = text(organizer.client.get(f"/manage/events/{event.slug}/agenda/publish"))
    assert re.search(r"Removed:\s*WeGO activities 2022", publish_page)

    version = publish(event)
    db.session.commit()  # the emails leave after the commit
    assert [c["kind"] for c in version.changes] == ["removed"]
    assert [m["To"].addresses[0].addr_spec for m in mail_outbox] == [follower.person.email]
    assert "WeGO activities 2022" in mail_outbox[0].get_body(("plain",)).get_content()
    # Published without it: now it is retired, its stars and speakers with it (the row stays as a tombstone).
    assert is_tombstone(session.id)
    assert db.session.scalar(sa.select(Star).where(Star.session_id == session.id)) is None
    html = text(client.get(f"/events/{event.slug}/agenda"))
    assert re.search(r"Removed:\s*WeGO activities 2022", html)  # in "what changed", not on the grid
    assert f'id="session-{session.id}"' not in html


def test_an_mou_keeps_its_record_when_its_ceremony_session_is_deleted(organizer, client, agenda) -> None:
    event = agenda["event"]
    ceremony = factories.SessionFactory(
        event=event, title="MOU signing with Edgelands Institute", kind=SessionKind.CEREMONY
    )
    mou = factories.signed_mou(event, session_id=ceremony.id)
    publish(event)
    db.session.commit()
    page = text(organizer.client.get(delete_url(agenda, ceremony)))
    assert f"The MOU “{mou.title}” names it as its signing ceremony." in page

    assert organizer.post(delete_url(agenda, ceremony), {"confirm": "delete"}).status_code == 302
    db.session.expire_all()
    assert mou.session_id == ceremony.id  # still on the public agenda until the next publish
    publish(event)
    db.session.commit()
    db.session.expire_all()
    assert exists(Mou, mou.id) and mou.session_id is None and mou.title
    assert organizer.client.get(f"/manage/events/{event.slug}/mous/{mou.id}").status_code == 200


def test_an_unpublished_ceremony_session_goes_at_once_and_the_mou_stays(organizer, agenda) -> None:
    event = agenda["event"]
    ceremony = factories.SessionFactory(event=event, title="Signing ceremony")
    mou = factories.signed_mou(event, session_id=ceremony.id)
    db.session.commit()
    assert organizer.post(delete_url(agenda, ceremony), {"confirm": "delete"}).status_code == 302
    db.session.expire_all()
    assert not exists(Session, ceremony.id)
    assert exists(Mou, mou.id) and mou.session_id is None
    assert organizer.client.get(f"/manage/events/{event.slug}/mous/{mou.id}").status_code == 200


def test_another_events_organizer_cannot_delete(browser, agenda) -> None:
    outsider = factories.organizer_of(factories.EventFactory())
    assert browser.login(outsider.email).status_code == 302
    response = browser.post(delete_url(agenda, agenda["opening"]), {"confirm": "delete"})
    assert response.status_code == 403
    assert exists(Session, agenda["opening"].id)


# --- rooms ------------------------------------------------------------------------------------------------------


def room_url(agenda, room, action: str = "edit") -> str:
    return f"/manage/events/{agenda['event'].slug}/agenda/rooms/{room.id}/{action}"


def test_renaming_a_room_and_changing_its_seats(organizer, client, agenda) -> None:
    event, hall = agenda["event"], agenda["hall"]
    publish(event)
    rooms_page = text(organizer.client.get(f"/manage/events/{event.slug}/agenda/rooms"))
    assert room_url(agenda, hall) in rooms_page
    form = text(organizer.client.get(room_url(agenda, hall)))
    assert 'value="Grand Hall"' in form
    response = organizer.post(room_url(agenda, hall), {"name": "  Main Hall ", "capacity": "250"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (hall.name, hall.capacity) == ("Main Hall", 250)
    # Another room's name is refused; a negative or non-numeric capacity too; nothing changes.
    for data, message in (
        ({"name": "Seminar Room", "capacity": "10"}, "already has a room with that name"),
        ({"name": "Main Hall", "capacity": "-3"}, "Number must be"),
        ({"name": "", "capacity": "10"}, "This field is required"),
    ):
        response = organizer.post(room_url(agenda, hall), data)
        assert response.status_code == 400 and message in text(response), (data, text(response)[:300])
    db.session.expire_all()
    assert (hall.name, hall.capacity) == ("Main Hall", 250)
    # The public agenda keeps the published name until the next publish.
    assert "Grand Hall" in text(client.get(f"/events/{event.slug}/agenda"))
    publish_page = text(organizer.client.get(f"/manage/events/{event.slug}/agenda/publish"))
    assert "Rooms were added, renamed" in publish_page and "Nothing changed since the last version." not in publish_page
    publish(event)
    html = text(client.get(f"/events/{event.slug}/agenda"))
    assert "Main Hall" in html and "Grand Hall" not in html


def test_a_room_in_use_cannot_be_deleted_an_empty_one_can(organizer, agenda) -> None:
    event, hall = agenda["event"], agenda["hall"]
    page = text(organizer.client.get(room_url(agenda, hall)))
    assert "1 session uses this room." in page and "Opening remarks" in page
    assert room_url(agenda, hall, "delete") not in page  # no delete button while in use

    response = organizer.post(room_url(agenda, hall, "delete"), {"confirm": "delete"})
    assert response.status_code == 409
    assert "1 session still uses this room: “Opening remarks”. Move it to another room first." in text(response)
    assert exists(Room, hall.id)

    empty = factories.RoomFactory(event=event, name="Press room")
    db.session.commit()
    page = text(organizer.client.get(room_url(agenda, empty)))
    assert "No session uses this room." in page and room_url(agenda, empty, "delete") in page
    assert organizer.post(room_url(agenda, empty, "delete"), {"confirm": "x"}).status_code == 400
    assert exists(Room, empty.id)
    response = organizer.post(room_url(agenda, empty, "delete"), {"confirm": "delete"})
    assert response.status_code == 302
    assert not exists(Room, empty.id)
    assert "Room “Press room” is deleted." in text(organizer.client.get(f"/manage/events/{event.slug}/agenda/rooms"))


def test_a_room_used_only_by_a_deleted_session_can_go(organizer, client, agenda) -> None:
    event, small = agenda["event"], agenda["small"]
    publish(event)
    services.delete_session(agenda["activities"])  # published: waits for the next publish
    db.session.commit()
    assert organizer.post(room_url(agenda, small, "delete"), {"confirm": "delete"}).status_code == 302
    assert not exists(Room, small.id)
    # The published version still names the room for its session.
    html = text(client.get(f"/events/{event.slug}/agenda/sessions/{agenda['activities'].id}"))
    assert "Seminar Room" in html


def test_the_rooms_of_another_event_are_404(organizer, agenda) -> None:
    stranger = factories.RoomFactory(event=factories.EventFactory())
    assert organizer.client.get(room_url(agenda, stranger)).status_code == 404
    assert organizer.post(room_url(agenda, stranger, "delete"), {"confirm": "delete"}).status_code == 404


# --- counts in plural -------------------------------------------------------------------------------------------


def test_the_publish_page_counts_in_singular_and_plural(organizer, agenda) -> None:
    event = agenda["event"]
    url = f"/manage/events/{event.slug}/agenda/publish"
    html = text(organizer.client.get(url))
    assert "2 public scheduled sessions will be published" in html and "(2 changes)" in html
    agenda["activities"].is_public = False
    db.session.commit()
    html = text(organizer.client.get(url))
    assert "1 public scheduled session will be published" in html and "(1 change)" in html


def test_a_retired_sessions_id_and_calendar_uid_are_never_reused(organizer, client, agenda) -> None:
    """SQLite hands the highest deleted rowid to the next row: a new session must not inherit a published
    session's UID in subscribers' calendars, nor pass for it in "what changed since version N"."""
    event = agenda["event"]
    last = factories.SessionFactory(event=event, title="Closing showcase")  # the highest id of all sessions
    publish(event)
    old_uid = f"session-{last.id}@"
    assert old_uid in text(client.get(f"/events/{event.slug}/agenda.ics"))
    assert organizer.post(delete_url(agenda, last), {"confirm": "delete"}).status_code == 302
    version = publish(event)
    db.session.commit()
    assert [(c["kind"], c["session_id"]) for c in version.changes] == [("removed", last.id)]
    assert is_tombstone(last.id)

    newcomer = factories.SessionFactory(event=event, title="Youth hackathon awards")
    db.session.commit()
    assert newcomer.id != last.id
    later = publish(event)
    db.session.commit()
    assert [(c["kind"], c["session_id"]) for c in later.changes] == [("added", newcomer.id)]
    feed = text(client.get(f"/events/{event.slug}/agenda.ics"))
    assert "Youth hackathon awards" in feed and old_uid not in feed


def test_a_session_only_an_older_version_showed_is_retired_at_once(organizer, agenda) -> None:
    event, session = agenda["event"], agenda["activities"]
    publish(event)
    session.is_public = False  # hidden: the next version leaves it out
    publish(event)
    db.session.commit()
    assert organizer.post(delete_url(agenda, session), {"confirm": "delete"}).status_code == 302
    assert is_tombstone(session.id)


def test_a_deleted_sessions_join_link_works_until_the_publish_that_removes_it(organizer, client, agenda) -> None:
    event, session = agenda["event"], agenda["activities"]
    session.stream_url = "https://stream.example.org/activities"
    publish(event)
    online = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    db.session.commit()
    join = f"/join/{online.join_token}/sessions/{session.id}"
    assert organizer.post(delete_url(agenda, session), {"confirm": "delete"}).status_code == 302
    assert client.get(join).headers["Location"] == "https://stream.example.org/activities"  # still published
    publish(event)
    db.session.commit()
    assert client.get(join).status_code == 404
