"""Agenda pages: the public agenda, sessions, speakers, the builder and its forms, publishing, the JSON endpoint."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import sqlalchemy as sa

from eventsys.agenda import services
from eventsys.agenda.models import Session
from eventsys.extensions import db
from tests import factories
from tests.agenda.conftest import publish


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_public_agenda_waits_for_the_first_version(client, agenda) -> None:
    response = client.get(f"/events/{agenda['event'].slug}/agenda")
    assert response.status_code == 200
    assert "The agenda is not published yet." in text(response)
    assert "Opening remarks" not in text(response)


def test_the_public_agenda_shows_sessions_by_day_and_room_with_speakers_and_badges(client, agenda) -> None:
    event = agenda["event"]
    agenda["unscheduled"].starts_at = None
    agenda["activities"].stream_url = "https://stream.example.org/secret-stream"
    hidden = factories.SessionFactory(event=event, title="Staff briefing", is_public=False)
    db.session.flush()
    publish(event)
    html = text(client.get(f"/events/{event.slug}/agenda"))
    assert "Opening remarks" in html and "WeGO activities 2022" in html
    assert hidden.title not in html and "Closing showcase" not in html
    assert "Grand Hall" in html and "Seminar Room" in html
    assert f"/events/{event.slug}/speakers/{agenda['mayor'].id}" in html
    assert "(Moderator)" in html and "Hybrid" in html
    assert "secret-stream" not in html and event.online_url not in html
    # The event is in Seoul: times show in Seoul unless the viewer asks for another zone.
    start_seoul = event.starts_at.astimezone(event.tz).strftime("%-I:%M")
    assert start_seoul in html
    other = text(client.get(f"/events/{event.slug}/agenda?zone=Europe/Berlin"))
    assert event.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).strftime("%-I:%M") in other
    assert "Europe/Berlin" in other or "Europe Berlin" in other
    assert client.get(f"/events/{event.slug}/agenda?zone=Not/AZone").status_code == 200


def test_a_plenary_session_spans_every_room_column(client, agenda) -> None:
    event = agenda["event"]
    factories.SessionFactory(
        event=event,
        title="Closing ceremony",
        plenary=True,
        starts_at=event.ends_at - timedelta(minutes=30),
        ends_at=event.ends_at,
    )
    db.session.flush()
    publish(event)
    html = text(client.get(f"/events/{event.slug}/agenda"))
    assert re.search(
        r'<td colspan="2" class="agenda-plenary">\s*<article[^>]*>\s*<p class="agenda-when">.*?All rooms', html, re.S
    )


def test_what_changed_since_the_previous_version(client, agenda) -> None:
    event, opening = agenda["event"], agenda["opening"]
    publish(event)
    services.schedule_session(
        opening, opening.starts_at + timedelta(hours=1), opening.ends_at + timedelta(hours=1), None
    )
    agenda["activities"].is_public = False
    publish(event)
    html = text(client.get(f"/events/{event.slug}/agenda"))
    assert "What changed since version 1" in html
    assert re.search(r"Moved:.*Opening remarks", html, re.S)
    assert re.search(r"Removed:\s*WeGO activities 2022", html)


def test_session_and_speaker_pages(client, agenda) -> None:
    event = agenda["event"]
    publish(event)
    html = text(client.get(f"/events/{event.slug}/agenda/sessions/{agenda['activities'].id}"))
    assert "Jung Sook Park" in html and "Moderator" in html and "Seminar Room" in html
    html = text(client.get(f"/events/{event.slug}/speakers/{agenda['mayor'].id}"))
    assert "Se-hoon Oh" in html and "Opening remarks" in html and "WeGO activities 2022" in html
    assert client.get(f"/events/{event.slug}/agenda/sessions/{agenda['unscheduled'].id}").status_code == 404
    stranger = factories.PersonFactory()
    assert client.get(f"/events/{event.slug}/speakers/{stranger.id}").status_code == 404


def test_a_draft_event_agenda_is_hidden_from_the_public(client, agenda) -> None:
    agenda["event"].status = factories.EventStatus.DRAFT
    publish(agenda["event"])
    assert client.get(f"/events/{agenda['event'].slug}/agenda").status_code == 404
    assert client.get(f"/events/{agenda['event'].slug}/agenda.ics").status_code == 404


# --- the organizer ---------------------------------------------------------------------------------------------


def test_the_builder_lists_sessions_and_conflicts_without_javascript(organizer_client, event) -> None:
    room = factories.RoomFactory(event=event, name="Hall A")
    a = factories.SessionFactory(event=event, title="Alpha", room=room)
    factories.SessionFactory(event=event, title="Beta", room=room)
    html = text(organizer_client.client.get(f"/manage/events/{event.slug}/agenda"))
    assert "“Alpha” and “Beta” overlap in Hall A." in html
    assert f"/manage/events/{event.slug}/agenda/sessions/{a.id}/edit" in html
    data = json.loads(
        re.search(r'<script type="application/json" id="agenda-builder-data">(.*?)</script>', html, re.S)[1]
    )
    assert {s["title"] for s in data["sessions"]} == {"Alpha", "Beta"}
    assert data["warnings"][0]["code"] == "room_overlap"


def test_the_plain_form_sets_start_end_and_room_in_the_event_zone(organizer_client, event) -> None:
    room = factories.RoomFactory(event=event, name="Hall A")
    session = factories.SessionFactory(event=event, title="Alpha", starts_at=None, ends_at=None)
    speaker = factories.PersonFactory(email="mayor@seoul.example.org")
    url = f"/manage/events/{event.slug}/agenda/sessions/{session.id}/edit"
    local = event.starts_at.astimezone(event.tz).replace(tzinfo=None)
    response = organizer_client.post(
        url,
        {
            "title": "Alpha",
            "kind": "keynote",
            "format": "in_person",
            "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (local + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M"),
            "room_id": str(room.id),
            "is_public": "y",
            "speakers": "MAYOR@seoul.example.org, moderator",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    minute = event.starts_at.replace(second=0)
    assert session.starts_at == minute and session.ends_at == minute + timedelta(minutes=20)
    assert session.room_id == room.id
    assert [(link.person_id, link.role.value) for link in session.speakers] == [(speaker.id, "moderator")]


def test_the_plain_form_explains_bad_input_and_saves_nothing(organizer_client, event) -> None:
    session = factories.SessionFactory(event=event, title="Alpha")
    before = (session.starts_at, session.ends_at)
    url = f"/manage/events/{event.slug}/agenda/sessions/{session.id}/edit"
    local = event.starts_at.astimezone(event.tz).replace(tzinfo=None)
    response = organizer_client.post(
        url,
        {
            "title": "Alpha",
            "kind": "talk",
            "format": "hybrid",
            "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (local - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M"),
            "room_id": "",
            "speakers": "nobody@example.org",
        },
    )
    assert response.status_code == 400
    assert "no person with this email" in text(response)
    db.session.expire_all()
    assert (session.starts_at, session.ends_at) == before


def test_publishing_through_the_page(organizer_client, event) -> None:
    factories.SessionFactory(event=event, title="Alpha")
    url = f"/manage/events/{event.slug}/agenda/publish"
    html = text(organizer_client.client.get(url))
    assert "New:" in html and "Alpha" in html
    digest = re.search(r'name="digest" type="hidden" value="([0-9a-f]{32})"', html)[1]
    assert organizer_client.post(url, {"digest": digest}).status_code == 302
    assert services.latest_version(event.id).number == 1
    # The same page again: the draft changed meanwhile, so nothing is published.
    factories.SessionFactory(event=event, title="Beta")
    response = organizer_client.post(url, {"digest": digest})
    assert response.status_code == 409 and "The draft changed" in text(response)
    assert services.latest_version(event.id).number == 1


def test_the_json_endpoint_moves_a_session_and_answers_with_warnings(organizer_client, event) -> None:
    hall = factories.RoomFactory(event=event, name="Hall A")
    alpha = factories.SessionFactory(event=event, title="Alpha", room=hall)
    beta = factories.SessionFactory(event=event, title="Beta", starts_at=None, ends_at=None)
    token = organizer_client.csrf_token()
    url = f"/manage/events/{event.slug}/agenda/api/sessions/{beta.id}"
    start = alpha.starts_at + timedelta(minutes=10)
    payload = {
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=25)).isoformat(),
        "room_id": hall.id,
    }
    response = organizer_client.client.post(url, json=payload, headers={"X-CSRFToken": token})
    assert response.status_code == 200, text(response)
    body = response.get_json()
    assert body["session"]["room_id"] == hall.id
    assert [w["code"] for w in body["warnings"]] == ["room_overlap"]
    db.session.expire_all()
    assert beta.starts_at == start


def test_the_json_endpoint_refuses_bad_input_and_changes_nothing(organizer_client, event) -> None:
    alpha = factories.SessionFactory(event=event, title="Alpha")
    foreign_room = factories.RoomFactory()
    db.session.commit()  # ends the test's savepoint: the view's rollback after a refusal keeps these rows
    token = organizer_client.csrf_token()
    url = f"/manage/events/{event.slug}/agenda/api/sessions/{alpha.id}"
    start = alpha.starts_at
    bad = [
        {"starts_at": start.isoformat(), "ends_at": start.isoformat(), "room_id": None},
        {"starts_at": "2023-02-30T25:61", "ends_at": None, "room_id": None},
        {
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=5)).isoformat(),
            "room_id": foreign_room.id,
        },
        {"starts_at": start.replace(tzinfo=None).isoformat(), "ends_at": None, "room_id": None},
        {"starts_at": start.isoformat()},
        ["not", "an", "object"],
    ]
    for payload in bad:
        response = organizer_client.client.post(url, json=payload, headers={"X-CSRFToken": token})
        assert response.status_code == 400, payload
        assert response.get_json()["error"]
    assert organizer_client.client.post(url, json=bad[0]).status_code == 400  # no CSRF header
    db.session.expire_all()
    assert alpha.starts_at == start and alpha.room_id is None
    other_event_session = factories.SessionFactory()
    response = organizer_client.client.post(
        f"/manage/events/{event.slug}/agenda/api/sessions/{other_event_session.id}",
        json={"starts_at": None, "ends_at": None, "room_id": None},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 404
    assert db.session.get(Session, other_event_session.id).starts_at is not None


def test_rooms_and_speakers_pages(organizer_client, event, tmp_path, app) -> None:
    app.config["SPEAKER_PHOTO_DIR"] = str(tmp_path)
    response = organizer_client.post(f"/manage/events/{event.slug}/agenda/rooms", {"name": "Hall A", "capacity": "80"})
    assert response.status_code == 302
    assert [(r.name, r.capacity) for r in services.rooms_of(event)] == [("Hall A", 80)]
    response = organizer_client.post(f"/manage/events/{event.slug}/agenda/rooms", {"name": "Hall A", "capacity": ""})
    assert response.status_code == 400 and "already has a room" in text(response)

    import io

    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (900, 900), "navy").save(image, format="PNG")
    image.seek(0)
    response = organizer_client.post(
        f"/manage/events/{event.slug}/agenda/speakers/new",
        {
            "name": "Siriwan Chaichana",
            "email": "siriwan@example.org",
            "title": "PhD student",
            "photo": (image, "me.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    person = db.session.scalar(sa.select(factories.Person).where(factories.Person.email == "siriwan@example.org"))
    assert person.photo and services.is_photo_name(person.photo)
    photo = organizer_client.client.get(f"/speakers/photos/{person.photo}")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    photo.close()
    assert organizer_client.client.get("/speakers/photos/..%2Fsecret.jpg").status_code == 404

    response = organizer_client.post(
        f"/manage/events/{event.slug}/agenda/speakers/new",
        {"name": "Mallory", "email": "mallory@example.org", "photo": (io.BytesIO(b"<svg onload=alert(1)>"), "x.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "not an image" in text(response)
    assert db.session.scalar(sa.select(factories.Person).where(factories.Person.email == "mallory@example.org")) is None


def test_a_new_version_replaces_the_rendered_page_at_once(client, agenda) -> None:
    event = agenda["event"]
    publish(event)
    url = f"/events/{event.slug}/agenda"
    assert "Opening remarks" in text(client.get(url))
    agenda["opening"].title = "Welcome by the Mayor of Seoul"
    publish(event)
    html = text(client.get(url))
    assert "Welcome by the Mayor of Seoul" in html
    assert "Opening remarks" not in html  # the grid of version 1 was not served again
