"""An attendee registers through the real form in Chromium, then manages the registration through the personal link."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from eventsys.events.models import Person
from eventsys.extensions import db
from eventsys.registration.models import Mode, Registration, RegistrationStatus
from tests import factories


def _registration_of(email: str) -> Registration:
    registration = db.session.scalar(sa.select(Registration).join(Registration.person).where(Person.email == email))
    assert registration is not None
    return registration


def test_an_attendee_registers_in_person_then_switches_to_online(live_server, page: Page, browser_errors) -> None:
    slug = live_server.run(lambda: factories.EventFactory(name="WeGO Kick-off 2030", capacity=30).slug)

    page.goto(f"/events/{slug}")
    page.get_by_role("link", name="Register").click()
    expect(page.get_by_role("heading", name="Register")).to_be_visible()
    expect(page.get_by_text("In-person seats free: 30 of 30.")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Kim Min-ji")
    page.get_by_label("Email", exact=True).fill("minji.kim@example.org")
    page.get_by_label("Organization").fill("Seoul Metropolitan Government")
    # The in-person questions go away while "Online" is chosen, and come back for "In person".
    dietary = page.get_by_label("Dietary needs")
    page.get_by_label("Online", exact=True).check()
    expect(dietary).to_be_hidden()
    page.get_by_label("In person", exact=True).check()
    expect(dietary).to_be_visible()
    dietary.fill("Vegetarian")
    page.get_by_label("I agree to the privacy notice").check()
    page.locator("main").get_by_role("button", name="Register").click()

    expect(page.get_by_role("heading", name="Thank you, Kim Min-ji")).to_be_visible()
    expect(page.get_by_text("You are registered to attend in person.")).to_be_visible()
    manage_link = page.locator("[data-manage-link]")
    expect(manage_link).to_contain_text("/r/")
    manage_url = manage_link.get_attribute("href")
    assert manage_url is not None

    registration = live_server.run(_registration_of, "minji.kim@example.org")
    assert registration.mode is Mode.IN_PERSON and registration.status is RegistrationStatus.CONFIRMED
    assert registration.dietary_needs == "Vegetarian"
    assert manage_url.endswith(f"/r/{registration.manage_token}")

    # Later, from the link in the email: no account, no login.
    page.goto(f"/r/{registration.manage_token}")
    expect(page.get_by_role("heading", name="Your registration")).to_be_visible()
    expect(page.get_by_text("Seoul City Hall")).to_be_visible()
    page.get_by_role("button", name="Switch to online").click()

    expect(page.get_by_text("Your participation is changed.")).to_be_visible()
    expect(page.get_by_text("You are registered to attend online.")).to_be_visible()
    switched = live_server.run(_registration_of, "minji.kim@example.org")
    assert switched.mode is Mode.ONLINE and switched.status is RegistrationStatus.CONFIRMED
    assert switched.dietary_needs is None
    join = page.get_by_role("link", name="Your personal join link")
    expect(join).to_have_attribute("href", f"{live_server.url}/join/{switched.join_token}")
    assert browser_errors == []
