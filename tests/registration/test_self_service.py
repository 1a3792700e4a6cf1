"""Attendees manage their own registration through their personal link, without an account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from eventsys.common.timefmt import format_in_zone
from eventsys.registration import services
from eventsys.registration.models import Mode, RegistrationStatus
from tests import factories
from tests.registration.pages import by_token, manage_token, register, text

S = RegistrationStatus


def test_register_then_manage_switch_to_online_and_cancel(browser, app, db) -> None:
    event = factories.EventFactory(capacity=1)
    waiting_person = factories.RegistrationFactory(event=event)  # holds the only seat
    token = manage_token(register(browser, event, email="second@example.org", when_full="waitlist"))
    assert by_token(token).status is S.WAITLISTED

    # The first person frees the seat by switching to online on their manage page.
    first = waiting_person.manage_token
    page = browser.client.get(f"/r/{first}")
    assert page.status_code == 200
    words = text(page)
    assert "You are registered to attend in person." in words
    assert event.venue_name in words
    response = browser.post(f"/r/{first}/mode", {"mode": "online"})
    assert response.status_code == 302 and response.headers["Location"] == f"/r/{first}"
    switched = by_token(first)
    assert switched.mode is Mode.ONLINE and switched.status is S.CONFIRMED
    page = browser.client.get(f"/r/{first}")
    assert "You are registered to attend online." in text(page)
    assert f"/join/{switched.join_token}" in page.get_data(as_text=True)

    # The seat went to the waiting list: the second person is offered it.
    assert by_token(token).status is S.OFFERED

    # Cancel, with a confirmation step.
    confirm = browser.client.get(f"/r/{first}/cancel")
    assert confirm.status_code == 200
    assert "Cancel my registration?" in text(confirm)
    assert by_token(first).status is S.CONFIRMED  # asking is not cancelling
    response = browser.post(f"/r/{first}/cancel", {"confirm": "yes"})
    assert response.status_code == 302
    assert by_token(first).status is S.CANCELLED
    page = browser.client.get(f"/r/{first}")
    words = text(page)
    assert "Your registration is cancelled." in words
    assert "Cancel my registration" not in words and "Switch to" not in words


def test_switching_to_in_person_when_full_offers_the_waiting_list_or_keeping_online(browser, app) -> None:
    event = factories.EventFactory(capacity=1)
    factories.RegistrationFactory(event=event)
    online = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)

    page = browser.client.get(f"/r/{online.manage_token}")
    words = text(page)
    assert "In-person seats are full." in words
    assert "Keep my online place while I wait for an in-person seat" in words
    assert "Give up my online place and join the waiting list" in words

    response = browser.post(f"/r/{online.manage_token}/mode", {"mode": "in_person", "when_full": "online"})
    assert response.status_code == 302
    registration = by_token(online.manage_token)
    assert registration.mode is Mode.ONLINE and registration.online_meanwhile
    assert "You are also on the waiting list for an in-person seat." in text(
        browser.client.get(f"/r/{online.manage_token}")
    )

    # Leave the waiting list and stay online only.
    assert browser.post(f"/r/{online.manage_token}/mode", {"mode": "online"}).status_code == 302
    registration = by_token(online.manage_token)
    assert registration.mode is Mode.ONLINE and not registration.online_meanwhile
    assert registration.waitlisted_at is None


def test_switching_to_in_person_with_a_free_seat_takes_it(browser, event) -> None:
    online = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    assert "In-person seats free: 50 of 50." in text(browser.client.get(f"/r/{online.manage_token}"))
    assert browser.post(f"/r/{online.manage_token}/mode", {"mode": "in_person"}).status_code == 302
    registration = by_token(online.manage_token)
    assert registration.mode is Mode.IN_PERSON and registration.status is S.CONFIRMED


def test_someone_on_the_waiting_list_takes_an_online_place_meanwhile(browser, app) -> None:
    event = factories.EventFactory(capacity=1)
    factories.RegistrationFactory(event=event)
    token = manage_token(register(browser, event, when_full="waitlist"))
    assert "Take an online place meanwhile" in text(browser.client.get(f"/r/{token}"))
    assert browser.post(f"/r/{token}/mode", {"mode": "online_meanwhile"}).status_code == 302
    registration = by_token(token)
    assert registration.mode is Mode.ONLINE and registration.status is S.CONFIRMED and registration.online_meanwhile


def test_a_refused_switch_says_why_with_a_4xx(browser, app, db) -> None:
    event = factories.EventFactory(online_capacity=1)
    factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    in_person = factories.RegistrationFactory(event=event)
    db.session.commit()  # the refused request rolls back its own transaction only
    response = browser.post(f"/r/{in_person.manage_token}/mode", {"mode": "online"})
    assert response.status_code == 400
    assert "All online places are taken." in text(response)
    assert by_token(in_person.manage_token).mode is Mode.IN_PERSON


def test_updating_details_keeps_the_email(browser, event) -> None:
    token = manage_token(register(browser, event))
    page = browser.client.get(f"/r/{token}/details")
    assert page.status_code == 200
    assert 'value="Kim Min-ji"' in page.get_data(as_text=True)
    values = {
        "name": "Kim Min-ji (Dr.)",
        "organization": "WeGO Secretariat",
        "title": "Secretary General",
        "dietary_needs": "Vegan",
        "accessibility_needs": "Wheelchair",
        "language": "ko",
        "email": "attacker@example.org",  # not a field of this form: ignored
    }
    assert browser.post(f"/r/{token}/details", values).status_code == 302
    registration = by_token(token)
    assert registration.person.name == "Kim Min-ji (Dr.)"
    assert registration.person.email == "minji.kim@example.org"
    assert registration.person.organization.name == "WeGO Secretariat"
    assert registration.dietary_needs == "Vegan" and registration.accessibility_needs == "Wheelchair"
    assert registration.language == "ko"

    response = browser.post(f"/r/{token}/details", {**values, "name": "", "language": "en"})
    assert response.status_code == 400
    assert by_token(token).person.name == "Kim Min-ji (Dr.)"


def _offered(event):  # type: ignore[no-untyped-def]
    """A registration that was on the waiting list and has just been offered a seat."""
    factories.RegistrationFactory(event=event)
    waiting = factories.RegistrationFactory(
        event=event, status=S.WAITLISTED, confirmed_at=None, waitlisted_at=datetime.now(UTC)
    )
    services.set_capacity(event, 2)
    assert waiting.status is S.OFFERED
    return waiting


def test_an_offered_seat_shows_its_deadline_in_the_event_zone_and_can_be_confirmed(browser, app) -> None:
    event = factories.EventFactory(capacity=1, timezone="America/Mexico_City")
    offered = _offered(event)
    page = browser.client.get(f"/r/{offered.manage_token}")
    words = text(page)
    assert "Confirm it before the deadline" in words or "Please confirm it before the deadline" in words
    assert " ".join(format_in_zone(offered.offer_expires_at, event.timezone).split()) in words
    assert "Mexico City" in words
    response = browser.post(f"/r/{offered.manage_token}/offer", {"decision": "confirm"})
    assert response.status_code == 302
    registration = by_token(offered.manage_token)
    assert registration.status is S.CONFIRMED and registration.mode is Mode.IN_PERSON


def test_an_offered_seat_can_be_declined(browser, app) -> None:
    offered = _offered(factories.EventFactory(capacity=1))
    assert browser.post(f"/r/{offered.manage_token}/offer", {"decision": "decline"}).status_code == 302
    assert by_token(offered.manage_token).status is S.CANCELLED


def test_an_expired_offer_cannot_be_confirmed(browser, app, db) -> None:
    offered = _offered(factories.EventFactory(capacity=1))
    offered.offer_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    response = browser.post(f"/r/{offered.manage_token}/offer", {"decision": "confirm"})
    assert response.status_code == 400
    assert "The seat offer has expired." in text(response)
    assert by_token(offered.manage_token).status is S.OFFERED


@pytest.mark.parametrize("decision", ["", "maybe", "confirm "])
def test_an_offer_answer_must_be_confirm_or_decline(browser, app, decision: str) -> None:
    offered = _offered(factories.EventFactory(capacity=1))
    assert browser.post(f"/r/{offered.manage_token}/offer", {"decision": decision}).status_code == 400
    assert by_token(offered.manage_token).status is S.OFFERED


def test_the_calendar_download_is_a_published_entry_in_the_event_zone(browser, app) -> None:
    event = factories.EventFactory(timezone="Asia/Seoul")
    registration = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    response = browser.client.get(f"/r/{registration.manage_token}/calendar.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert b"\r\n" in body
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar["METHOD"] == "PUBLISH"
    vevent = next(iter(calendar.walk("VEVENT")))
    assert str(vevent["UID"]).startswith(f"registration-{registration.id}@")
    assert vevent["DTSTART"].dt == event.starts_at
    assert str(vevent["DTSTART"].params["TZID"]) == "Asia/Seoul"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Seoul"]
    assert f"/join/{registration.join_token}" in str(vevent["DESCRIPTION"])
    assert event.online_url not in body.decode()


def test_the_manage_page_links_the_calendar_and_the_badge_but_no_certificate_yet(browser, event) -> None:
    registration = factories.RegistrationFactory(event=event)
    html = browser.client.get(f"/r/{registration.manage_token}").get_data(as_text=True)
    assert f"/r/{registration.manage_token}/calendar.ics" in html
    # A confirmed in-person registrant downloads their badge (tests/checkin/test_badge_pdf.py).
    assert f"/r/{registration.manage_token}/badge.pdf" in html
    assert "certificate" not in html.lower()


def test_a_cancel_post_without_confirmation_changes_nothing(browser, event) -> None:
    registration = factories.RegistrationFactory(event=event)
    assert browser.post(f"/r/{registration.manage_token}/cancel", {"confirm": ""}).status_code == 400
    assert by_token(registration.manage_token).status is S.CONFIRMED
