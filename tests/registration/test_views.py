"""The public registration form, the invitation path, the result page and the personal join link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from eventsys.events.models import Category, EventFormat, EventStatus, Person
from eventsys.invitations.models import InvitationState
from eventsys.registration.models import Mode, RegistrationStatus
from tests import factories
from tests.registration.pages import by_token, form, manage_token, register, registration_count, text

S = RegistrationStatus


# --- the form ---------------------------------------------------------------------------------------------


def test_the_event_page_links_to_the_form_which_offers_the_modes_of_a_hybrid_event(browser, event) -> None:
    assert f'href="/events/{event.slug}/register"' in browser.client.get(f"/events/{event.slug}").get_data(as_text=True)
    page = browser.client.get(f"/events/{event.slug}/register")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="in_person"' in html and 'value="online"' in html
    assert 'name="dietary_needs"' in html and 'name="accessibility_needs"' in html
    assert 'href="/privacy"' in html
    assert "In-person seats free: 50 of 50." in text(page)


def test_an_online_only_event_offers_online_and_asks_no_in_person_questions(browser, app) -> None:
    event = factories.EventFactory(format=EventFormat.ONLINE, capacity=None, venue_name=None)
    html = browser.client.get(f"/events/{event.slug}/register").get_data(as_text=True)
    assert 'value="online"' in html and 'value="in_person"' not in html
    assert 'name="dietary_needs"' not in html


def test_an_in_person_only_event_offers_in_person_only(browser, app) -> None:
    event = factories.EventFactory(format=EventFormat.IN_PERSON)
    html = browser.client.get(f"/events/{event.slug}/register").get_data(as_text=True)
    assert 'value="in_person"' in html and 'value="online"' not in html
    response = register(browser, event, mode="online")
    assert response.status_code == 400
    assert registration_count() == 0


def test_the_language_defaults_to_the_interface_language(client, event) -> None:
    # The first request of the test: Flask-Babel keeps the locale on the test's one app context.
    html = client.get(f"/events/{event.slug}/register", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert '<option selected value="ko">' in html or 'value="ko" selected' in html


def test_privacy_notice_is_public(client) -> None:
    response = client.get("/privacy")
    assert response.status_code == 200
    assert "Privacy notice" in response.get_data(as_text=True)


# --- registering ------------------------------------------------------------------------------------------


def test_registering_in_person_shows_the_status_in_plain_words_with_the_manage_link(browser, event, db) -> None:
    response = register(browser, event, language="es")
    token = manage_token(response)
    assert response.headers["Location"] == f"/r/{token}/registered"

    page = browser.client.get(response.headers["Location"])
    assert page.status_code == 200
    words = text(page)
    assert "You are registered to attend in person." in words
    assert f"http://localhost/r/{token}" in words
    assert event.online_url not in words

    registration = by_token(token)
    assert registration.status is S.CONFIRMED and registration.mode is Mode.IN_PERSON
    assert registration.person.email == "minji.kim@example.org"
    assert registration.person.organization.name == "Seoul Metropolitan Government"
    assert registration.dietary_needs == "Vegetarian"
    assert registration.language == "es"
    assert registration.consent_at is not None
    assert registration.consent_at <= datetime.now(UTC)


def test_registering_online_ignores_in_person_needs(browser, event) -> None:
    token = manage_token(register(browser, event, mode="online", dietary_needs="Halal", accessibility_needs="Ramp"))
    registration = by_token(token)
    assert registration.mode is Mode.ONLINE and registration.status is S.CONFIRMED
    assert registration.dietary_needs is None and registration.accessibility_needs is None
    words = text(browser.client.get(f"/r/{token}/registered"))
    assert "You are registered to attend online." in words


def test_without_consent_nothing_is_saved(browser, event) -> None:
    response = register(browser, event, consent=None)
    assert response.status_code == 400
    assert "Please agree to the privacy notice to register." in text(response)
    assert registration_count() == 0


def test_an_email_registers_once(browser, event) -> None:
    manage_token(register(browser, event))
    response = register(browser, event, name="Someone else")
    assert response.status_code == 400
    assert "already registered" in text(response)
    assert registration_count() == 1


def test_registering_again_mails_the_manage_link_to_the_address_only(browser, event, smtp_server) -> None:
    token = manage_token(register(browser, event, email="siriwan@example.org"))
    smtp_server.received.clear()
    response = register(browser, event, email="Siriwan@Example.org", name="Someone else")
    assert response.status_code == 400
    assert "We have sent the link to manage the registration to that address." in text(response)
    assert token not in response.get_data(as_text=True)
    (mail,) = smtp_server.messages
    assert mail["To"].addresses[0].addr_spec == "siriwan@example.org"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"/r/{token}" in body
    assert "already registered" in body
    assert registration_count() == 1


def test_registrations_merge_into_one_person_per_email(browser, event, db) -> None:
    other = factories.EventFactory()
    manage_token(register(browser, event, email="Same@Example.org"))
    manage_token(register(browser, other, email="same@example.org"))
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.email == "same@example.org")) == 1
    )


def test_when_in_person_is_full_the_page_says_so_and_offers_the_waiting_list_or_online(browser, app) -> None:
    event = factories.EventFactory(capacity=1)
    factories.RegistrationFactory(event=event)

    page = browser.client.get(f"/events/{event.slug}/register")
    words = text(page)
    assert "In-person seats are full." in words
    html = page.get_data(as_text=True)
    assert 'name="when_full"' in html and 'value="waitlist"' in html and 'value="online"' in html

    waiting = by_token(manage_token(register(browser, event, email="wait@example.org", when_full="waitlist")))
    assert waiting.status is S.WAITLISTED and waiting.mode is Mode.IN_PERSON
    assert "You are on the waiting list for an in-person seat." in text(
        browser.client.get(f"/r/{waiting.manage_token}/registered")
    )

    meanwhile = by_token(manage_token(register(browser, event, email="online@example.org", when_full="online")))
    assert meanwhile.status is S.CONFIRMED and meanwhile.mode is Mode.ONLINE and meanwhile.online_meanwhile
    words = text(browser.client.get(f"/r/{meanwhile.manage_token}/registered"))
    assert "You are registered to attend online." in words
    assert "You are also on the waiting list for an in-person seat." in words


def test_an_in_person_only_event_that_is_full_offers_the_waiting_list_only(browser, app) -> None:
    event = factories.EventFactory(format=EventFormat.IN_PERSON, capacity=1)
    factories.RegistrationFactory(event=event)
    html = browser.client.get(f"/events/{event.slug}/register").get_data(as_text=True)
    assert 'value="waitlist"' in html and 'value="online"' not in html


def test_moderated_events_say_the_registration_awaits_approval(browser, app) -> None:
    event = factories.EventFactory(moderation=True)
    token = manage_token(register(browser, event))
    assert by_token(token).status is S.PENDING
    assert "waiting for the organizers' approval" in text(browser.client.get(f"/r/{token}/registered"))


# --- when registration is not possible --------------------------------------------------------------------


def test_an_invitation_only_event_refuses_the_public_form(browser, app) -> None:
    event = factories.EventFactory(invitation_only=True)
    page = browser.client.get(f"/events/{event.slug}/register")
    assert page.status_code == 403
    assert "invitation" in text(page)
    assert 'name="email"' not in page.get_data(as_text=True)
    assert f'href="/events/{event.slug}/register"' not in browser.client.get(f"/events/{event.slug}").get_data(
        as_text=True
    )
    response = register(browser, event)
    assert response.status_code == 403
    assert registration_count() == 0


def test_a_closed_event_says_registration_is_closed_and_refuses_posts(browser, app) -> None:
    event = factories.EventFactory(status=EventStatus.CLOSED)
    page = browser.client.get(f"/events/{event.slug}/register")
    assert page.status_code == 200
    assert "Registration is closed" in text(page)
    assert 'name="email"' not in page.get_data(as_text=True)
    assert register(browser, event).status_code == 403
    assert registration_count() == 0


def test_after_the_registration_deadline_posts_are_refused(browser, app) -> None:
    now = datetime.now(UTC)
    event = factories.EventFactory(
        registration_opens_at=now - timedelta(days=10), registration_closes_at=now - timedelta(minutes=1)
    )
    assert "Registration is closed" in text(browser.client.get(f"/events/{event.slug}/register"))
    assert register(browser, event).status_code == 403
    assert registration_count() == 0


def test_drafts_and_unknown_events_have_no_form(browser, app) -> None:
    draft = factories.EventFactory(status=EventStatus.DRAFT)
    assert browser.client.get(f"/events/{draft.slug}/register").status_code == 404
    assert browser.client.get("/events/no-such-event/register").status_code == 404


# --- the invitation path ----------------------------------------------------------------------------------


def test_an_invitee_registers_through_the_invitation_with_prefilled_details(browser, app, db) -> None:
    event = factories.EventFactory(invitation_only=True, moderation=True)
    person = factories.PersonFactory(name="H.E. Ambassador of Peru", title="Ambassador", email="peru@example.org")
    invitation = factories.InvitationFactory(event=event, person=person, category=Category.EMBASSY, language="es")

    page = browser.client.get(f"/i/{invitation.token}/register")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="H.E. Ambassador of Peru"' in html
    assert "peru@example.org" in html and 'name="email"' not in html
    assert '<option selected value="es">' in html or 'value="es" selected' in html

    values = form(name="H.E. Ambassador of Peru", email=None, language="es")
    response = browser.post(f"/i/{invitation.token}/register", values)
    registration = by_token(manage_token(response))
    assert registration.person_id == person.id
    assert registration.category is Category.EMBASSY
    assert registration.status is S.PENDING  # the invitation does not skip moderation
    db.session.refresh(invitation)
    assert invitation.state is InvitationState.ACCEPTED

    again = browser.client.get(f"/i/{invitation.token}/register")
    assert again.status_code == 302
    assert again.headers["Location"] == f"/r/{registration.manage_token}"


def test_an_invitation_that_skips_moderation_is_confirmed_at_once(browser, app) -> None:
    event = factories.EventFactory(invitation_only=True, moderation=True)
    invitation = factories.InvitationFactory(event=event, skip_moderation=True)
    response = browser.post(f"/i/{invitation.token}/register", form(email=None))
    assert by_token(manage_token(response)).status is S.CONFIRMED


# --- join links -------------------------------------------------------------------------------------------


def test_the_join_link_records_first_and_last_join_and_redirects_to_the_platform(browser, event, db) -> None:
    registration = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    first = browser.client.get(f"/join/{registration.join_token}")
    assert first.status_code == 302
    assert first.headers["Location"] == event.online_url
    db.session.refresh(registration)
    first_at = registration.first_joined_at
    assert first_at is not None and registration.last_joined_at == first_at

    assert browser.client.get(f"/join/{registration.join_token}").status_code == 302
    db.session.refresh(registration)
    assert registration.first_joined_at == first_at
    assert registration.last_joined_at > first_at


def test_a_wrong_join_token_is_404(client, event) -> None:
    factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    assert client.get("/join/this-token-does-not-exist-0123456789abc").status_code == 404


def test_a_cancelled_online_registration_cannot_join(browser, event, db) -> None:
    registration = factories.RegistrationFactory(event=event, mode=Mode.ONLINE, status=S.CANCELLED)
    db.session.commit()  # the view rolls back its own transaction; keep the test's rows out of it
    response = browser.client.get(f"/join/{registration.join_token}")
    assert response.status_code == 403
    words = text(response)
    assert "This join link cannot be used now" in words
    assert event.online_url not in words
    db.session.refresh(registration)
    assert registration.first_joined_at is None


def test_the_platform_address_appears_on_no_page(browser, event) -> None:
    registration = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    pages = [
        f"/events/{event.slug}",
        f"/events/{event.slug}/register",
        f"/r/{registration.manage_token}",
        f"/r/{registration.manage_token}/registered",
        f"/r/{registration.manage_token}/details",
    ]
    for url in pages:
        response = browser.client.get(url)
        assert response.status_code == 200, url
        assert event.online_url not in response.get_data(as_text=True), url
    assert f"/join/{registration.join_token}" in browser.client.get(pages[2]).get_data(as_text=True)
