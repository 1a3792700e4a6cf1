"""The ``flask users`` and ``flask demo`` commands, run as an operator would run them."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from eventsys.accounts.models import EventRole, Role, User
from eventsys.demo import GA_SLUG, KICKOFF_SLUG
from eventsys.events.models import Event
from eventsys.extensions import db
from tests import factories
from tests.conftest import Browser, make_app


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def _count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- flask users create-admin -------------------------------------------------------------------------


def test_create_admin_prints_a_generated_password_that_logs_in(runner, browser: Browser) -> None:
    result = runner.invoke(args=["users", "create-admin", "Chief@Example.org", "--name", "Chief"])
    assert result.exit_code == 0, result.output
    assert "Site admin chief@example.org created." in result.output
    match = re.search(r"^Password: (\S+)$", result.output, re.MULTILINE)
    assert match, result.output
    password = match.group(1)
    assert len(password) >= 10

    user = _user("chief@example.org")
    assert user is not None and user.is_site_admin and user.name == "Chief"
    assert browser.login("chief@example.org", password).status_code == 302
    assert browser.client.get("/admin/users").status_code == 200


def test_create_admin_with_a_given_password_does_not_print_it(runner, browser: Browser) -> None:
    result = runner.invoke(args=["users", "create-admin", "chief@example.org", "--password", "a long passphrase"])
    assert result.exit_code == 0, result.output
    assert "a long passphrase" not in result.output
    assert browser.login("chief@example.org", "a long passphrase").status_code == 302


def test_create_admin_refuses_a_short_password_and_writes_nothing(runner) -> None:
    before = _count(User)
    result = runner.invoke(args=["users", "create-admin", "chief@example.org", "--password", "short"])
    assert result.exit_code != 0
    assert "Use at least 10 characters for the password." in result.output
    assert _user("chief@example.org") is None
    assert _count(User) == before


def test_create_admin_refuses_an_existing_email_whatever_its_case(runner) -> None:
    existing = factories.UserFactory(email="chief@example.org")
    db.session.commit()  # already stored: the command's rollback must not reach the test's own rows
    result = runner.invoke(args=["users", "create-admin", "CHIEF@example.org"])
    assert result.exit_code != 0
    assert "An account with this email already exists." in result.output
    assert "Password:" not in result.output
    assert not _user("chief@example.org").is_site_admin
    assert existing.id == _user("chief@example.org").id


# --- flask users grant --------------------------------------------------------------------------------


def test_grant_gives_the_door_role(runner, event, organizer, browser: Browser) -> None:
    helper = factories.UserFactory()
    result = runner.invoke(args=["users", "grant", helper.email.upper(), event.slug, "door"])
    assert result.exit_code == 0, result.output
    assert f"{helper.email} is now door of {event.slug}." in result.output
    db.session.expire_all()
    assert helper.role_for(event) is Role.DOOR

    assert browser.login(helper.email).status_code == 302
    assert event.name in browser.client.get("/manage/").get_data(as_text=True)


def test_grant_organizer_opens_the_event_management(runner, event, browser: Browser) -> None:
    helper = factories.UserFactory()
    result = runner.invoke(args=["users", "grant", helper.email, event.slug, "organizer"])
    assert result.exit_code == 0, result.output
    assert browser.login(helper.email).status_code == 302
    assert browser.client.get(f"/manage/events/{event.slug}/").status_code == 200


@pytest.mark.parametrize(
    ("who", "slug", "message"),
    [
        ("nobody@example.org", "EVENT", "No account with the email nobody@example.org."),
        ("USER", "no-such-event", "No event with the short name no-such-event."),
    ],
)
def test_grant_with_an_unknown_email_or_event_fails_clearly(runner, event, who, slug, message) -> None:
    helper = factories.UserFactory()
    who = helper.email if who == "USER" else who
    slug = event.slug if slug == "EVENT" else slug
    before = _count(EventRole)
    result = runner.invoke(args=["users", "grant", who, slug, "door"])
    assert result.exit_code != 0
    assert message in result.output
    assert _count(EventRole) == before


def test_grant_refuses_an_unknown_role(runner, event) -> None:
    helper = factories.UserFactory()
    result = runner.invoke(args=["users", "grant", helper.email, event.slug, "king"])
    assert result.exit_code == 2
    assert "'king' is not one of 'organizer', 'door'" in result.output
    assert helper.role_for(event) is None


def test_grant_cannot_demote_the_last_organizer(runner, event, organizer) -> None:
    db.session.commit()
    result = runner.invoke(args=["users", "grant", organizer.email, event.slug, "door"])
    assert result.exit_code != 0
    assert "An event needs at least one organizer." in result.output
    db.session.expire_all()
    assert organizer.role_for(event) is Role.ORGANIZER


# --- flask demo load ----------------------------------------------------------------------------------


@pytest.fixture
def instance_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's instance folder in a temporary directory: never the developer's instance/demo-login.txt."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    return tmp_path / "instance"


def _printed_password(output: str) -> str:
    match = re.search(r"^  password: (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_demo_load_loads_once_and_prints_the_logins_again(runner, instance_dir: Path, browser: Browser) -> None:
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded" in first.output
    for email in ("organizer@wego.example.org", "door@wego.example.org", "admin@wego.example.org"):
        assert f"  {email}" in first.output
    password = _printed_password(first.output)

    saved = instance_dir / "demo-login.txt"
    assert saved.exists()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert password in saved.read_text()
    events, users = _count(Event), _count(User)

    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "The demo data is already loaded." in second.output
    assert "organizer@wego.example.org" in second.output
    assert _printed_password(second.output) == password
    assert (_count(Event), _count(User)) == (events, users)

    assert browser.login("organizer@wego.example.org", password).status_code == 302
    page = browser.client.get("/manage/").get_data(as_text=True)
    assert "WeGO 2022 Activities Kick-off" in page and "6th WeGO General Assembly" in page


def test_demo_load_without_the_saved_logins_says_where_they_were(runner, instance_dir: Path) -> None:
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    (instance_dir / "demo-login.txt").unlink()
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0
    assert "The demo data is already loaded." in again.output
    assert str(instance_dir / "demo-login.txt") in again.output
    slugs = db.session.scalars(sa.select(Event.slug).where(Event.slug.in_([KICKOFF_SLUG, GA_SLUG]))).all()
    assert sorted(slugs) == sorted([KICKOFF_SLUG, GA_SLUG])


def test_the_instance_folder_can_be_moved(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTSYS_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    moved = make_app(database_url)
    assert moved.instance_path == str(tmp_path / "elsewhere")
