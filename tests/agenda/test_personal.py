"""The personal agenda: a registered attendee stars sessions from their manage link and subscribes to them."""

from __future__ import annotations

import re

from eventsys.agenda import services
from eventsys.agenda.models import FeedScope
from eventsys.extensions import db
from eventsys.registration.models import Mode, RegistrationStatus
from tests import factories
from tests.agenda.conftest import publish


def test_the_manage_page_links_to_my_agenda(client, agenda) -> None:
    registration = factories.RegistrationFactory(event=agenda["event"])
    html = client.get(f"/r/{registration.manage_token}").get_data(as_text=True)
    assert f"/r/{registration.manage_token}/agenda" in html


def test_starring_and_unstarring_from_the_manage_link(browser, agenda) -> None:
    event, opening = agenda["event"], agenda["opening"]
    publish(event)
    registration = factories.RegistrationFactory(event=event)
    db.session.commit()
    url = f"/r/{registration.manage_token}/agenda"
    html = browser.client.get(url).get_data(as_text=True)
    assert "Opening remarks" in html and html.count("Add to my agenda") == 2
    response = browser.post(f"{url}/star", {"session_id": opening.id, "starred": "1"})
    assert response.status_code == 302
    assert services.starred_session_ids(registration) == {opening.id}
    html = browser.client.get(url).get_data(as_text=True)
    assert "In my agenda" in html and 'aria-pressed="true"' in html
    browser.post(f"{url}/star", {"session_id": opening.id, "starred": "0"})
    assert services.starred_session_ids(registration) == set()
    # A session that is not on the published agenda cannot be starred.
    response = browser.post(f"{url}/star", {"session_id": agenda["unscheduled"].id, "starred": "1"})
    assert response.status_code == 400 and "not on the published agenda" in response.get_data(as_text=True)
    assert services.starred_session_ids(registration) == set()


def test_the_private_feed_from_the_manage_link(browser, agenda) -> None:
    event = agenda["event"]
    publish(event)
    registration = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    db.session.commit()
    url = f"/r/{registration.manage_token}/agenda"
    assert browser.post(f"{url}/feed", {"scope": "all"}).status_code == 302
    html = browser.client.get(url).get_data(as_text=True)
    feed = services.feed_of(registration)
    assert feed.scope is FeedScope.ALL
    assert f"webcal://127.0.0.1:5000/agenda/feed/{feed.token}.ics" in html
    assert "It includes your personal join links." in html
    old = feed.token
    assert browser.post(f"{url}/feed/renew", {"confirm": "renew"}).status_code == 302
    db.session.expire_all()
    assert services.feed_of(registration).token != old
    assert browser.client.get(f"/agenda/feed/{old}.ics").status_code == 404
    assert browser.post(f"{url}/feed", {"scope": "everything"}).status_code == 400


def test_a_cancelled_registration_cannot_star(browser, agenda) -> None:
    event = agenda["event"]
    publish(event)
    registration = factories.RegistrationFactory(event=event, status=RegistrationStatus.CANCELLED)
    db.session.commit()
    url = f"/r/{registration.manage_token}/agenda"
    html = browser.client.get(url).get_data(as_text=True)
    assert not re.search(r"Add to my agenda", html)
    response = browser.post(f"{url}/star", {"session_id": agenda["opening"].id, "starred": "1"})
    assert response.status_code == 400
    assert services.starred_session_ids(registration) == set()
