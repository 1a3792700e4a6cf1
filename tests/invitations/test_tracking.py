"""The organizer's list (states, counts, filters), adding by hand, and the invitee's page: opened, declined."""

from __future__ import annotations

import sqlalchemy as sa

from eventsys.events.models import Category
from eventsys.extensions import db
from eventsys.invitations import services
from eventsys.invitations.models import Invitation, InvitationState
from tests import factories
from tests.invitations.conftest import counts, person


def _reload(invitation: Invitation) -> Invitation:
    db.session.expire_all()
    return db.session.get(Invitation, invitation.id)


# --- The invitee's page ---------------------------------------------------------------------------------


def test_visiting_the_link_marks_the_invitation_opened_once(client, event, db) -> None:
    invitation = factories.InvitationFactory(event=event, state=InvitationState.SENT)
    db.session.commit()
    response = client.get(f"/i/{invitation.token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert event.name in page
    assert f'href="/i/{invitation.token}/register"' in page  # Accept leads to registration
    invitation = _reload(invitation)
    assert invitation.state is InvitationState.OPENED
    first_open = invitation.opened_at
    assert first_open is not None

    assert client.get(f"/i/{invitation.token}").status_code == 200
    assert _reload(invitation).opened_at == first_open


def test_declining_records_the_answer(browser, event, db) -> None:
    invitation = factories.InvitationFactory(event=event, state=InvitationState.SENT)
    db.session.commit()
    response = browser.post(f"/i/{invitation.token}/decline")
    assert response.status_code == 302
    invitation = _reload(invitation)
    assert invitation.state is InvitationState.DECLINED
    assert invitation.responded_at is not None
    page = browser.client.get(f"/i/{invitation.token}").get_data(as_text=True)
    assert "You have declined this invitation." in page
    assert _reload(invitation).state is InvitationState.DECLINED  # visiting again does not reopen it


def test_someone_who_registered_cannot_decline_through_the_invitation(browser, event, db) -> None:
    invitation = factories.InvitationFactory(event=event, state=InvitationState.ACCEPTED)
    db.session.commit()
    response = browser.post(f"/i/{invitation.token}/decline", follow_redirects=True)
    assert "You have already registered." in response.get_data(as_text=True)
    assert _reload(invitation).state is InvitationState.ACCEPTED


def test_a_declined_invitee_is_not_reopened_by_a_visit_and_a_bounced_one_is(event, app) -> None:
    declined = factories.InvitationFactory(event=event, state=InvitationState.DECLINED)
    bounced = factories.InvitationFactory(event=event, state=InvitationState.BOUNCED)
    services.mark_opened(declined)
    services.mark_opened(bounced)
    assert declined.state is InvitationState.DECLINED and declined.opened_at is not None
    # A link that was visited reached its reader, whatever an earlier refusal said.
    assert bounced.state is InvitationState.OPENED


# --- The organizer's list -----------------------------------------------------------------------------


def test_the_list_shows_states_counts_and_filters(organizer_client, event, invitations_url) -> None:
    factories.InvitationFactory(
        event=event,
        state=InvitationState.NOT_SENT,
        category=Category.EMBASSY,
        person=factories.PersonFactory(name="Ambassador of Peru"),
    )
    factories.InvitationFactory(
        event=event,
        state=InvitationState.DECLINED,
        category=Category.EMBASSY,
        person=factories.PersonFactory(name="Ambassador of Oman"),
    )
    factories.InvitationFactory(
        event=event,
        state=InvitationState.BOUNCED,
        category=Category.PRESS,
        person=factories.PersonFactory(name="Press Person"),
        last_error="550 5.1.1 No such user",
    )
    factories.InvitationFactory(person=factories.PersonFactory(name="Other Event Guest"))  # another event's

    page = organizer_client.client.get(invitations_url).get_data(as_text=True)
    assert "Ambassador of Peru" in page and "Press Person" in page
    assert "Other Event Guest" not in page
    assert '<tr data-state="declined"><th scope="row">Declined</th><td>1</td></tr>' in page
    assert '<tr data-state="not_sent"><th scope="row">Not sent</th><td>1</td></tr>' in page
    assert '<tr data-category="embassy"><th scope="row">Embassy</th><td>2</td></tr>' in page
    assert "550 5.1.1 No such user" in page
    assert "Send all not yet sent (1)" in page

    page = organizer_client.client.get(invitations_url + "?state=declined").get_data(as_text=True)
    assert "Ambassador of Oman" in page and "Ambassador of Peru" not in page
    page = organizer_client.client.get(invitations_url + "?category=press").get_data(as_text=True)
    assert "Press Person" in page and "Ambassador" not in page.split('id="list-heading"')[1]
    page = organizer_client.client.get(invitations_url + "?q=peru").get_data(as_text=True)
    assert "Ambassador of Peru" in page and "Ambassador of Oman" not in page
    # An unknown filter value is ignored rather than failing.
    assert organizer_client.client.get(invitations_url + "?state=nonsense").status_code == 200


def test_the_event_page_links_to_the_invitations(organizer_client, event, invitations_url) -> None:
    page = organizer_client.client.get(f"/manage/events/{event.slug}/").get_data(as_text=True)
    assert f'href="{invitations_url}"' in page


# --- Adding one person ----------------------------------------------------------------------------------


def test_adding_a_person_by_hand(organizer_client, event, invitations_url) -> None:
    form = {
        "name": "Ambassador of Peru",
        "email": "Ambassador.Peru@Embassy.example.org",
        "organization": "Embassy of Peru in the Republic of Korea",
        "title": "Ambassador of Peru to the Republic of Korea",
        "category": "embassy",
        "language": "es",
        "skip_moderation": "y",
    }
    response = organizer_client.post(invitations_url + "/new", form)
    assert response.status_code == 302
    peru = person("ambassador.peru@embassy.example.org")
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.person_id == peru.id))
    assert invitation.event_id == event.id
    assert invitation.category is Category.EMBASSY and invitation.language == "es"
    assert invitation.skip_moderation is True
    assert invitation.state is InvitationState.NOT_SENT
    assert len(invitation.token) >= 43

    before = counts()
    response = organizer_client.post(invitations_url + "/new", {**form, "email": "AMBASSADOR.PERU@embassy.example.org"})
    assert response.status_code == 400
    assert "is already invited to this event" in response.get_data(as_text=True)
    assert counts() == before


def test_adding_a_known_person_merges_into_them(organizer_client, event, invitations_url) -> None:
    known = factories.PersonFactory(name="Se-hoon Oh", email="mayor@seoul.example.org")
    before = counts()
    form = {"name": "Oh Se-hoon", "email": "MAYOR@seoul.example.org", "category": "member_city", "language": "ko"}
    assert organizer_client.post(invitations_url + "/new", form).status_code == 302
    after = counts()
    assert after["Person"] == before["Person"]
    assert after["Invitation"] == before["Invitation"] + 1
    db.session.refresh(known)
    assert known.name == "Se-hoon Oh"


def test_an_invalid_addition_is_refused_with_a_message(organizer_client, invitations_url) -> None:
    before = counts()
    response = organizer_client.post(
        invitations_url + "/new", {"name": "", "email": "not-an-email", "category": "royalty", "language": "fr"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter a valid email address." in page
    assert counts() == before
