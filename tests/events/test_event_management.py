"""Organizers create, edit, publish and close events; the public sees published events only."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from eventsys.accounts.models import EventRole, Role
from eventsys.events.models import Event, EventStatus
from tests import factories

VALID_FORM = {
    "name": "6th WeGO General Assembly",
    "slug": "ga-2023",
    "kind": "general_assembly",
    "format": "hybrid",
    "timezone": "America/Mexico_City",
    "starts_at": "2023-10-17T09:00",
    "ends_at": "2023-10-19T18:00",
    "venue_name": "Mexico City",
    "venue_address": "Mexico City, Mexico",
    "online_url": "https://meet.example.org/ga",
    "capacity": "400",
    "registration_opens_at": "2023-06-01T09:00",
    "registration_closes_at": "2023-10-16T18:00",
}


def _event(db, slug: str) -> Event | None:
    return db.session.scalar(sa.select(Event).where(Event.slug == slug))


def test_organizer_creates_a_draft_event_stored_in_utc(organizer_client, db, organizer) -> None:
    response = organizer_client.post("/manage/events/new", VALID_FORM)
    assert response.status_code == 302
    event = _event(db, "ga-2023")
    assert event is not None
    assert event.status is EventStatus.DRAFT
    # 09:00 in Mexico City (UTC-6 in October 2023) is 15:00 UTC.
    assert event.starts_at == datetime(2023, 10, 17, 15, 0, tzinfo=UTC)
    assert event.timezone == "America/Mexico_City"
    role = db.session.scalar(sa.select(EventRole).where(EventRole.event_id == event.id))
    assert role.user_id == organizer.id and role.role is Role.ORGANIZER


def test_ending_before_starting_is_refused_with_a_field_message(organizer_client, db) -> None:
    response = organizer_client.post("/manage/events/new", {**VALID_FORM, "ends_at": "2023-10-16T09:00"})
    assert response.status_code == 400
    assert "The event must end after it starts." in response.get_data(as_text=True)
    assert _event(db, "ga-2023") is None


def test_a_time_skipped_by_daylight_saving_is_refused(organizer_client, db) -> None:
    # Berlin skipped 02:00-03:00 on 2024-03-31.
    form = {**VALID_FORM, "timezone": "Europe/Berlin", "starts_at": "2024-03-31T02:30", "ends_at": "2024-03-31T09:00"}
    form.update(registration_opens_at="", registration_closes_at="")
    response = organizer_client.post("/manage/events/new", form)
    assert response.status_code == 400
    assert "does not exist in the chosen zone" in response.get_data(as_text=True)
    assert _event(db, "ga-2023") is None


def test_slug_must_be_unique(organizer_client, db, event) -> None:
    response = organizer_client.post("/manage/events/new", {**VALID_FORM, "slug": event.slug})
    assert response.status_code == 400
    assert "Another event already uses this short name." in response.get_data(as_text=True)


def test_edit_shows_times_in_the_event_zone_and_saves_changes(organizer_client, db, event) -> None:
    page = organizer_client.client.get(f"/manage/events/{event.slug}/edit").get_data(as_text=True)
    local = event.starts_at.astimezone(event.tz).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{local}"' in page
    response = organizer_client.post(
        f"/manage/events/{event.slug}/edit",
        {**VALID_FORM, "slug": event.slug, "name": "Renamed", "timezone": "Asia/Seoul", "capacity": "80"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert event.name == "Renamed"
    # Seats change only in the registration settings, where the seat rules and the waiting list apply.
    assert event.capacity == 50
    assert event.starts_at == datetime(2023, 10, 17, 0, 0, tzinfo=UTC)  # 09:00 in Seoul


def test_edit_form_sends_seat_changes_to_the_registration_settings(organizer_client, event) -> None:
    page = organizer_client.client.get(f"/manage/events/{event.slug}/edit").get_data(as_text=True)
    assert 'name="capacity"' not in page and 'name="online_capacity"' not in page
    assert "In-person capacity: 50." in page
    assert f"/manage/events/{event.slug}/registrations/settings" in page


def test_publish_and_close(organizer_client, db, organizer) -> None:
    draft = factories.EventFactory(status=EventStatus.DRAFT)
    factories.EventRoleFactory(event=draft, user=organizer)
    assert organizer_client.client.get(f"/events/{draft.slug}").status_code == 200  # the team may preview
    assert organizer_client.post(f"/manage/events/{draft.slug}/publish").status_code == 302
    db.session.expire_all()
    assert draft.status is EventStatus.PUBLISHED
    assert organizer_client.post(f"/manage/events/{draft.slug}/close").status_code == 302
    db.session.expire_all()
    assert draft.status is EventStatus.CLOSED
    assert "This event is closed." in organizer_client.client.get(f"/events/{draft.slug}").get_data(as_text=True)


def test_publishing_an_in_person_event_needs_a_venue(organizer_client, db, organizer) -> None:
    draft = factories.EventFactory(status=EventStatus.DRAFT, venue_name=None)
    factories.EventRoleFactory(event=draft, user=organizer)
    response = organizer_client.post(f"/manage/events/{draft.slug}/publish", follow_redirects=True)
    assert "Give the venue before publishing" in response.get_data(as_text=True)
    db.session.expire_all()
    assert draft.status is EventStatus.DRAFT


def test_public_sees_published_events_but_not_drafts(client, db) -> None:
    published = factories.EventFactory(name="Kick-off in Seoul")
    draft = factories.EventFactory(name="Secret draft", status=EventStatus.DRAFT)
    index = client.get("/").get_data(as_text=True)
    assert "Kick-off in Seoul" in index
    assert "Secret draft" not in index
    assert client.get(f"/events/{published.slug}").status_code == 200
    assert client.get(f"/events/{draft.slug}").status_code == 404


def test_public_page_never_shows_the_online_platform_url(client, event) -> None:
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert event.online_url not in page
    assert "personal link" in page


def test_public_page_shows_times_in_the_event_zone_with_machine_readable_utc(client, db) -> None:
    event = factories.EventFactory(
        timezone="Asia/Seoul",
        starts_at=datetime(2022, 2, 23, 5, 0, tzinfo=UTC),
        ends_at=datetime(2022, 2, 23, 7, 30, tzinfo=UTC),
    )
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert "2:00\u202fPM (Seoul, UTC+9)" in page or "2:00 PM (Seoul, UTC+9)" in page
    assert 'datetime="2022-02-23T05:00:00+00:00"' in page
    assert "data-local-time" in page  # localtime.js adds the viewer's zone beside it


def test_form_fields_carry_only_meaningful_accessibility_attributes(organizer_client) -> None:
    page = organizer_client.client.get("/manage/events/new").get_data(as_text=True)
    assert '="None"' not in page
    assert 'aria-describedby="slug-help"' in page
    response = organizer_client.post("/manage/events/new", {**VALID_FORM, "ends_at": "2023-10-16T09:00"})
    page = response.get_data(as_text=True)
    assert 'aria-describedby="ends_at-error" aria-invalid="true"' in page
    assert 'id="ends_at-error"' in page
