"""The WeGO demo matches the kick-off press release, and its accounts work."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from eventsys.agenda import services as agenda
from eventsys.common.db import utcnow
from eventsys.demo import GA_SLUG, KICKOFF_SLUG, SAMPLE_SLUG, complete_demo, load_demo
from eventsys.events.models import Category, Event, EventFormat, EventStatus, Organization, OrganizationKind, Person
from eventsys.extensions import db
from eventsys.registration import services as registration
from eventsys.registration.models import Mode, Registration, RegistrationStatus
from tests.conftest import Browser
from tests.registration.pages import manage_token, register

SEOUL = ZoneInfo("Asia/Seoul")

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
def logins(app: Flask, tmp_path: Path) -> dict[str, str]:
    app.config["CERTIFICATE_PDF_DIR"] = str(tmp_path / "pdfs")  # the demo's attendance certificates render here
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


# --- The kick-off's attendance ----------------------------------------------------------------------------------


def _registrations(event: Event) -> list[Registration]:
    return list(db.session.scalars(sa.select(Registration).where(Registration.event_id == event.id)))


def test_the_kickoff_had_the_ambassadors_in_person_and_fictional_participants_online(logins) -> None:
    kickoff = _event(KICKOFF_SLUG)
    registrations = _registrations(kickoff)
    assert {r.status for r in registrations} == {RegistrationStatus.CONFIRMED}
    in_person = [r for r in registrations if r.mode is Mode.IN_PERSON]
    online = [r for r in registrations if r.mode is Mode.ONLINE]
    # In person: the ten ambassadors, through their embassy invitations.
    assert sorted(r.person.organization.country for r in in_person) == sorted(AMBASSADOR_COUNTRIES.values())
    assert {r.category for r in in_person} == {Category.EMBASSY}
    assert all(r.invitation is not None and r.invitation.person_id == r.person_id for r in in_person)
    # Online: a handful, clearly fictional; all but one followed their join link on the day.
    assert len(online) == 5 and all("(fictional)" in r.person.name for r in online)
    joined = [r for r in online if r.first_joined_at is not None]
    assert len(joined) == 4
    for r in joined:
        assert r.first_joined_at.astimezone(SEOUL).date() == date(2022, 2, 23)
        assert r.first_joined_at <= r.last_joined_at <= kickoff.ends_at
    # Registered while registration was open, in February 2022.
    for r in registrations:
        assert kickoff.registration_opens_at <= r.consent_at < kickoff.registration_closes_at
        assert r.created_at == r.consent_at  # the organizer's list shows when they registered, not the load day
    counts = registration.seat_counts(kickoff)
    assert (counts.in_person_confirmed, counts.online_confirmed) == (10, 5)


def test_loading_the_demo_sends_no_mail(app: Flask, tmp_path: Path, mail_outbox: list) -> None:
    app.config["CERTIFICATE_PDF_DIR"] = str(tmp_path / "pdfs")
    load_demo("demo-password-for-tests")
    db.session.commit()  # tasks run at the commit, eagerly in tests
    assert mail_outbox == []


# --- The upcoming sample event ----------------------------------------------------------------------------------


def test_the_sample_event_is_a_month_ahead_open_public_hybrid_with_a_few_seats_and_an_agenda(
    app: Flask, tmp_path: Path, client
) -> None:
    app.config["CERTIFICATE_PDF_DIR"] = str(tmp_path / "pdfs")
    now = utcnow()
    load_demo("demo-password-for-tests", now=now)
    db.session.commit()
    sample = _event(SAMPLE_SLUG)
    assert sample.name.startswith("[Sample] ") and "Smart City Champions" in sample.name
    assert sample.format is EventFormat.HYBRID and sample.timezone == "Asia/Seoul"
    assert sample.status is EventStatus.PUBLISHED and not sample.invitation_only
    load_day = now.astimezone(SEOUL).date()
    assert sample.starts_at.astimezone(SEOUL) == datetime.combine(load_day + timedelta(days=30), time(15), SEOUL)
    assert sample.registration_is_open(utcnow())
    assert sample.registration_is_open(sample.starts_at - timedelta(days=2))  # open until the day before
    counts = registration.seat_counts(sample)
    assert counts.capacity == 12 and counts.in_person_free == 3
    version = agenda.latest_version(sample.id)
    assert version is not None and len(agenda.published_agenda(version).sessions) == 4

    home = client.get("/").get_data(as_text=True)
    assert "[Sample] WeGO Smart City Champions info session" in home
    assert "Smart City Champions" in client.get(f"/events/{SAMPLE_SLUG}/agenda").get_data(as_text=True)
    page = client.get(f"/events/{SAMPLE_SLUG}/register").get_data(as_text=True)
    assert "In-person seats free: 3 of 12." in page


def test_a_newcomer_registers_for_the_sample_event(logins, browser: Browser) -> None:
    sample = _event(SAMPLE_SLUG)
    response = register(browser, sample, name="Newcomer Tester", email="newcomer@example.org")
    token = manage_token(response)
    mine = db.session.scalar(sa.select(Registration).where(Registration.manage_token == token))
    assert mine.status is RegistrationStatus.CONFIRMED and mine.mode is Mode.IN_PERSON
    page = browser.client.get(f"/events/{SAMPLE_SLUG}/register").get_data(as_text=True)
    assert "In-person seats free: 2 of 12." in page


# --- Loading again ----------------------------------------------------------------------------------------------


def _row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_loading_the_demo_twice_changes_nothing(
    app: Flask, runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    counts = _row_counts()
    assert counts["registration"] == 10 + 5 + 12 and counts["checkin"] == 10 and counts["certificate"] == 11
    sample_start = _event(SAMPLE_SLUG).starts_at

    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "The demo data is already loaded." in second.output and "Added" not in second.output
    assert _row_counts() == counts
    assert _event(SAMPLE_SLUG).starts_at == sample_start  # the sample's date is kept across reloads


def test_an_older_demo_gets_the_sample_event_on_the_next_load(
    app: Flask, runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    db.session.execute(sa.delete(Event).where(Event.slug == SAMPLE_SLUG))  # as loaded before the sample existed
    db.session.commit()
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "Added to it: the upcoming sample event." in again.output
    assert _event(SAMPLE_SLUG).registration_is_open()


def test_a_sample_whose_registration_closed_is_replaced_by_a_fresh_one_a_month_ahead(logins) -> None:
    old = _event(SAMPLE_SLUG)
    old_start = old.starts_at
    later = old.registration_closes_at + timedelta(hours=1)
    assert complete_demo(now=later) == [
        "a fresh sample event a month ahead (the previous one's registration had closed)"
    ]
    db.session.commit()
    fresh = _event(SAMPLE_SLUG)
    # One sample, and the old one's registrations went with it (SQLite may reuse the id).
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.slug == SAMPLE_SLUG)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 10 + 5 + 12
    assert fresh.starts_at.astimezone(SEOUL) == datetime.combine(
        later.astimezone(SEOUL).date() + timedelta(days=30), time(15), SEOUL
    )
    assert fresh.starts_at > old_start and fresh.registration_is_open(later)
    assert registration.seat_counts(fresh).in_person_free == 3  # the fictional registrants again, no one twice
    emails = [r.person.email for r in _registrations(fresh)]
    assert len(emails) == len(set(emails)) == 12
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.email.like("sample.registrant%")))
        == 12
    )
    assert complete_demo(now=later) == []  # and loading again changes nothing
