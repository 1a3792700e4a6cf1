"""The WeGO demo matches the kick-off press release, and its accounts work."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from eventsys.demo import GA_SLUG, KICKOFF_SLUG, load_demo
from eventsys.events.models import Event, EventFormat, EventStatus, Organization, OrganizationKind, Person
from eventsys.extensions import db
from tests.conftest import Browser

PRESS_RELEASE_ORGANIZATIONS = [
    "Seoul Metropolitan Government",
    "WeGO Secretariat",
    "Seoul National University Graduate School of Public Administration",  # SNU GSPA
    "Kookmin University",
    "Korea Overseas Infrastructure & Urban Development Bank (KIND)",
    "Edgelands Institute",
]
AMBASSADOR_COUNTRIES = {
    "Algeria": "DZ",
    "Azerbaijan": "AZ",
    "Dominican Republic": "DO",
    "Ecuador": "EC",
    "Iran": "IR",
    "Mexico": "MX",
    "Oman": "OM",
    "Peru": "PE",
    "United Arab Emirates": "AE",
    "Vietnam": "VN",
}


@pytest.fixture
def logins(app: Flask) -> dict[str, str]:
    result = load_demo()
    db.session.commit()
    return result


def _event(slug: str) -> Event:
    event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
    assert event is not None, slug
    return event


def _person(name: str) -> Person:
    person = db.session.scalar(sa.select(Person).where(Person.name == name))
    assert person is not None, name
    return person


def test_the_kickoff_is_hybrid_on_23_february_2022_in_seoul_and_published(logins) -> None:
    kickoff = _event(KICKOFF_SLUG)
    assert kickoff.format is EventFormat.HYBRID
    assert kickoff.timezone == "Asia/Seoul"
    assert kickoff.starts_at.astimezone(ZoneInfo("Asia/Seoul")).date() == date(2022, 2, 23)
    assert kickoff.ends_at > kickoff.starts_at
    assert kickoff.status is EventStatus.PUBLISHED
    assert kickoff.online_url and kickoff.venue_name


def test_the_general_assembly_is_in_mexico_city_in_2023(logins) -> None:
    assembly = _event(GA_SLUG)
    assert assembly.timezone == "America/Mexico_City"
    local_start = assembly.starts_at.astimezone(ZoneInfo("America/Mexico_City"))
    assert local_start.year == 2023
    assert "Mexico City" in assembly.venue_name


def test_the_organizations_of_the_press_release_exist(logins) -> None:
    names = set(db.session.scalars(sa.select(Organization.name)))
    missing = [name for name in PRESS_RELEASE_ORGANIZATIONS if name not in names]
    assert not missing


def test_each_ambassadors_country_has_an_embassy_and_a_person(logins) -> None:
    embassies = db.session.scalars(sa.select(Organization).where(Organization.kind == OrganizationKind.EMBASSY)).all()
    by_country = {embassy.country: embassy for embassy in embassies}
    assert set(by_country) == set(AMBASSADOR_COUNTRIES.values())
    for country, code in AMBASSADOR_COUNTRIES.items():
        embassy = by_country[code]
        assert country in embassy.name
        assert len(embassy.people) == 1, country
        assert country in embassy.people[0].title
    ecuador = by_country["EC"].people[0]
    assert ecuador.title == "Chief of Mission & Chargé d'Affaires of the Embassy of Ecuador"


def test_the_mayor_and_the_secretary_general(logins) -> None:
    mayor = _person("Se-hoon Oh")
    assert mayor.title == "Mayor of Seoul and President of WeGO"
    assert mayor.organization.name == "Seoul Metropolitan Government"
    secretary = _person("Jung Sook Park")
    assert "Secretary General" in secretary.title
    assert secretary.organization.name == "WeGO Secretariat"


def test_the_demo_organizer_sees_both_events(logins, browser: Browser) -> None:
    assert browser.login("organizer@wego.example.org", logins["organizer@wego.example.org"]).status_code == 302
    page = browser.client.get("/manage/").get_data(as_text=True)
    assert "WeGO 2022 Activities Kick-off" in page
    assert "6th WeGO General Assembly" in page
    for slug in (KICKOFF_SLUG, GA_SLUG):
        assert browser.client.get(f"/manage/events/{slug}/").status_code == 200


def test_the_door_account_sees_only_the_kickoff(logins, browser: Browser) -> None:
    assert browser.login("door@wego.example.org", logins["door@wego.example.org"]).status_code == 302
    page = browser.client.get("/manage/").get_data(as_text=True)
    assert "WeGO 2022 Activities Kick-off" in page
    assert "6th WeGO General Assembly" not in page
    assert browser.client.get(f"/manage/events/{KICKOFF_SLUG}/").status_code == 403  # door staff, not organizer


def test_the_demo_admin_is_a_site_admin(logins, browser: Browser) -> None:
    assert set(logins) == {"organizer@wego.example.org", "door@wego.example.org", "admin@wego.example.org"}
    assert browser.login("admin@wego.example.org", logins["admin@wego.example.org"]).status_code == 302
    assert browser.client.get("/admin/users").status_code == 200


def test_both_events_are_on_the_public_list(logins, client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "WeGO 2022 Activities Kick-off" in page
    assert "6th WeGO General Assembly" in page
    assert client.get(f"/events/{KICKOFF_SLUG}").status_code == 200
