"""Each event's team (organizers and door staff), and the site admin's account pages."""

from __future__ import annotations

import sqlalchemy as sa

from eventsys.accounts.models import EventRole, Role, User
from eventsys.extensions import db
from tests import factories
from tests.conftest import Browser

LAST_ORGANIZER = "An event needs at least one organizer."


def _roles(event) -> dict[str, Role]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(User.email, EventRole.role).join(EventRole.user).where(EventRole.event_id == event.id)
    ).all()
    return {email: role for email, role in rows}


def _team_url(event) -> str:
    return f"/manage/events/{event.slug}/team"


# --- The team page ------------------------------------------------------------------------------------


def test_organizer_grants_the_door_role_by_email(organizer_client: Browser, event, organizer) -> None:
    volunteer = factories.UserFactory(name="Min-ji Kim")
    response = organizer_client.post(_team_url(event), {"email": volunteer.email.upper(), "role": "door"})
    assert response.status_code == 302
    assert _roles(event) == {organizer.email: Role.ORGANIZER, volunteer.email: Role.DOOR}
    page = organizer_client.client.get(_team_url(event)).get_data(as_text=True)
    assert "Min-ji Kim is now Door staff." in page
    assert volunteer.email in page

    # The new door staff member now reaches the event's door pages (here: sees it among their events).
    organizer_client.logout()
    assert organizer_client.login(volunteer.email).status_code == 302
    assert event.name in organizer_client.client.get("/manage/").get_data(as_text=True)


def test_granting_again_changes_the_role(organizer_client: Browser, event, organizer) -> None:
    colleague = factories.door_staff_of(event)
    response = organizer_client.post(_team_url(event), {"email": colleague.email, "role": "organizer"})
    assert response.status_code == 302
    assert _roles(event)[colleague.email] is Role.ORGANIZER


def test_an_unknown_email_is_a_field_error_and_writes_nothing(organizer_client: Browser, event, organizer) -> None:
    response = organizer_client.post(_team_url(event), {"email": "stranger@example.org", "role": "door"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page
    assert "No account has this email. A site admin can create one." in page
    assert _roles(event) == {organizer.email: Role.ORGANIZER}
    assert db.session.scalar(sa.select(User).where(User.email == "stranger@example.org")) is None


def test_the_last_organizer_cannot_be_demoted(organizer_client: Browser, event, organizer) -> None:
    response = organizer_client.post(_team_url(event), {"email": organizer.email, "role": "door"})
    assert response.status_code == 400
    assert LAST_ORGANIZER in response.get_data(as_text=True)
    assert _roles(event) == {organizer.email: Role.ORGANIZER}


def test_the_last_organizer_cannot_be_removed(organizer_client: Browser, event, organizer) -> None:
    response = organizer_client.post(f"{_team_url(event)}/{organizer.id}/remove", follow_redirects=True)
    assert response.status_code == 200
    assert LAST_ORGANIZER in response.get_data(as_text=True)
    assert _roles(event) == {organizer.email: Role.ORGANIZER}


def test_an_organizer_can_be_removed_when_another_remains(organizer_client: Browser, event, organizer) -> None:
    second = factories.organizer_of(event)
    response = organizer_client.post(f"{_team_url(event)}/{second.id}/remove", follow_redirects=True)
    assert "Role removed." in response.get_data(as_text=True)
    assert _roles(event) == {organizer.email: Role.ORGANIZER}


def test_removing_door_staff_works_and_ends_their_access(organizer_client: Browser, event, organizer) -> None:
    door = factories.door_staff_of(event)
    response = organizer_client.post(f"{_team_url(event)}/{door.id}/remove", follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Role removed." in page
    assert door.email not in page
    assert _roles(event) == {organizer.email: Role.ORGANIZER}

    organizer_client.logout()
    assert organizer_client.login(door.email).status_code == 302
    assert event.name not in organizer_client.client.get("/manage/").get_data(as_text=True)


def test_removing_someone_without_a_role_says_so(organizer_client: Browser, event, organizer) -> None:
    outsider = factories.UserFactory()
    response = organizer_client.post(f"{_team_url(event)}/{outsider.id}/remove", follow_redirects=True)
    assert "This person has no role on the event." in response.get_data(as_text=True)
    assert organizer_client.post(f"{_team_url(event)}/999999/remove").status_code == 404


def test_door_staff_of_the_event_cannot_open_the_team_page(browser: Browser, event, organizer) -> None:
    door = factories.door_staff_of(event)
    assert browser.login(door.email).status_code == 302
    assert browser.client.get(_team_url(event)).status_code == 403
    assert browser.post(_team_url(event), {"email": door.email, "role": "organizer"}).status_code == 403
    assert browser.post(f"{_team_url(event)}/{organizer.id}/remove").status_code == 403
    assert _roles(event) == {organizer.email: Role.ORGANIZER, door.email: Role.DOOR}


def test_organizers_of_another_event_cannot_open_the_team_page(browser: Browser, event, organizer) -> None:
    other = factories.organizer_of(factories.EventFactory())
    assert browser.login(other.email).status_code == 302
    assert browser.client.get(_team_url(event)).status_code == 403
    assert browser.post(_team_url(event), {"email": other.email, "role": "organizer"}).status_code == 403
    assert _roles(event) == {organizer.email: Role.ORGANIZER}


def test_a_site_admin_manages_any_team(admin_client: Browser, event, organizer) -> None:
    helper = factories.UserFactory()
    assert admin_client.client.get(_team_url(event)).status_code == 200
    assert admin_client.post(_team_url(event), {"email": helper.email, "role": "door"}).status_code == 302
    assert _roles(event)[helper.email] is Role.DOOR


# --- Site admin: accounts -----------------------------------------------------------------------------


def test_the_accounts_page_lists_every_account_with_its_roles(admin_client: Browser, event, organizer) -> None:
    door = factories.door_staff_of(event)
    page = admin_client.client.get("/admin/users")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for user in (organizer, door):
        assert user.email in text
    assert f"Organizer: {event.name}" in text
    assert f"Door staff: {event.name}" in text


NEW_ACCOUNT = {"name": "Ana López", "email": "Ana.Lopez@Example.org", "password": "a long passphrase"}


def test_a_site_admin_creates_an_account_that_can_log_in(admin_client: Browser) -> None:
    response = admin_client.post("/admin/users/new", NEW_ACCOUNT)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    user = db.session.scalar(sa.select(User).where(User.email == "ana.lopez@example.org"))
    assert user is not None and user.name == "Ana López" and not user.is_site_admin
    assert "ana.lopez@example.org" in admin_client.client.get("/admin/users").get_data(as_text=True)

    admin_client.logout()
    assert admin_client.login("ana.lopez@example.org", "a long passphrase").status_code == 302


def test_a_short_password_is_refused_with_a_message(admin_client: Browser) -> None:
    response = admin_client.post("/admin/users/new", {**NEW_ACCOUNT, "password": "short1234"})
    assert response.status_code == 400
    assert "Use at least 10 characters for the password." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.email == "ana.lopez@example.org")) is None


def test_a_duplicate_email_is_refused_whatever_its_case(admin_client: Browser) -> None:
    existing = factories.UserFactory(email="ana.lopez@example.org")
    db.session.commit()  # already stored (the view's rollback must not reach the test's own rows)
    count = db.session.scalar(sa.select(sa.func.count(User.id)))
    response = admin_client.post("/admin/users/new", NEW_ACCOUNT)
    assert response.status_code == 400
    assert "An account with this email already exists." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == count
    db.session.expire_all()
    assert existing.name != "Ana López"


def test_organizers_cannot_create_accounts(organizer_client: Browser) -> None:
    assert organizer_client.client.get("/admin/users").status_code == 403
    assert organizer_client.post("/admin/users/new", NEW_ACCOUNT).status_code == 403
    assert db.session.scalar(sa.select(User).where(User.email == "ana.lopez@example.org")) is None
