"""The organizer's registration list: counts, search, filters, moderation, cancelling and the settings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from eventsys.events.models import Category, EventFormat
from eventsys.extensions import db
from eventsys.registration.models import CategoryQuota, Mode, RegistrationStatus
from tests import factories
from tests.registration.pages import by_token, text

S = RegistrationStatus


def _list(browser, event, **params: str) -> str:  # type: ignore[no-untyped-def]
    response = browser.client.get(f"/manage/events/{event.slug}/registrations", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _names(html: str) -> set[str]:
    return set(re.findall(r'<tr data-registration="\d+">\s*<td>([^<]+)<br>', html))


def _count(html: str, name: str) -> str:
    match = re.search(rf'data-count="{name}">([^<]+)<', html)
    assert match, name
    return " ".join(match.group(1).split())


def _person(name: str, email: str, organization: str | None = None):  # type: ignore[no-untyped-def]
    org = factories.OrganizationFactory(name=organization) if organization else None
    return factories.PersonFactory(name=name, email=email, organization=org)


@pytest.fixture
def crowd(event):  # type: ignore[no-untyped-def]
    """Five registrations of the event in different states, and one of another event."""
    now = datetime.now(UTC)
    return {
        "seoul": factories.RegistrationFactory(
            event=event, person=_person("Oh Se-hoon", "mayor@seoul.go.kr", "Seoul Metropolitan Government")
        ),
        "lima": factories.RegistrationFactory(
            event=event,
            person=_person("Ambassador of Peru", "embassy@peru.example", "Embassy of Peru"),
            category=Category.EMBASSY,
        ),
        "online": factories.RegistrationFactory(
            event=event, mode=Mode.ONLINE, person=_person("Ana García", "ana@cdmx.example", "Mexico City")
        ),
        "waiting": factories.RegistrationFactory(
            event=event,
            status=S.WAITLISTED,
            confirmed_at=None,
            waitlisted_at=now,
            person=_person("Youth Delegate", "youth@example.org"),
            category=Category.YOUTH,
        ),
        "pending": factories.RegistrationFactory(
            event=event, status=S.PENDING, confirmed_at=None, person=_person("Press Person", "press@example.org")
        ),
        "elsewhere": factories.RegistrationFactory(person=_person("Other Event Guest", "other@example.org")),
    }


def test_the_list_shows_counts_and_every_registration_of_the_event(organizer_client, event, crowd) -> None:
    html = _list(organizer_client, event)
    assert _names(html) == {"Oh Se-hoon", "Ambassador of Peru", "Ana García", "Youth Delegate", "Press Person"}
    assert _count(html, "in_person") == "2 / 50"
    assert _count(html, "waiting") == "1"
    assert _count(html, "online") == "1"
    assert _count(html, "pending") == "1"
    assert _count(html, "offered") == "0"
    assert event.online_url not in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "seoul"}, {"Oh Se-hoon"}),  # organization
        ({"q": "PERU.EXAMPLE"}, {"Ambassador of Peru"}),  # email, any case
        ({"q": "garcía"}, {"Ana García"}),  # name
        ({"q": "%"}, set()),  # LIKE wildcards are plain text
        ({"mode": "online"}, {"Ana García"}),
        ({"status": "waitlisted"}, {"Youth Delegate"}),
        ({"status": "pending"}, {"Press Person"}),
        ({"category": "embassy"}, {"Ambassador of Peru"}),
        ({"category": "none"}, {"Oh Se-hoon", "Ana García", "Press Person"}),
        ({"mode": "in_person", "status": "confirmed"}, {"Oh Se-hoon", "Ambassador of Peru"}),
        (
            {"mode": "nonsense", "status": "<script>"},
            {"Oh Se-hoon", "Ambassador of Peru", "Ana García"} | {"Youth Delegate", "Press Person"},
        ),
    ],
)
def test_search_and_filters(organizer_client, event, crowd, params: dict[str, str], expected: set[str]) -> None:
    assert _names(_list(organizer_client, event, **params)) == expected


def test_approving_and_rejecting_pending_registrations(organizer_client, app, db) -> None:
    event = factories.EventFactory(moderation=True)
    organizer = factories.organizer_of(event)
    first = factories.RegistrationFactory(event=event, status=S.PENDING, confirmed_at=None)
    second = factories.RegistrationFactory(event=event, status=S.PENDING, confirmed_at=None)
    organizer_client.logout()
    assert organizer_client.login(organizer.email).status_code == 302
    url = f"/manage/events/{event.slug}/registrations"

    html = _list(organizer_client, event)
    assert html.count('value="approve"') == 2 and html.count('value="reject"') == 2
    response = organizer_client.post(f"{url}/{first.id}/action", {"action": "approve", "next": f"{url}?status=pending"})
    assert response.status_code == 302 and response.headers["Location"] == f"{url}?status=pending"
    response = organizer_client.post(f"{url}/{second.id}/action", {"action": "reject", "next": "https://evil.example/"})
    assert response.headers["Location"] == url
    assert by_token(first.manage_token).status is S.CONFIRMED
    assert by_token(second.manage_token).status is S.REJECTED


def test_approving_twice_says_why_and_changes_nothing(organizer_client, event, db) -> None:
    registration = factories.RegistrationFactory(event=event)
    db.session.commit()  # the refused request rolls back its own transaction only
    url = f"/manage/events/{event.slug}/registrations/{registration.id}/action"
    response = organizer_client.post(url, {"action": "approve"}, follow_redirects=True)
    assert "Only registrations awaiting approval can be approved." in text(response)
    assert by_token(registration.manage_token).status is S.CONFIRMED


def test_cancelling_one_offers_the_seat_to_the_waiting_list(organizer_client, app) -> None:
    event = factories.EventFactory(capacity=1)
    organizer = factories.organizer_of(event)
    seated = factories.RegistrationFactory(event=event)
    waiting = factories.RegistrationFactory(
        event=event, status=S.WAITLISTED, confirmed_at=None, waitlisted_at=datetime.now(UTC)
    )
    organizer_client.logout()
    assert organizer_client.login(organizer.email).status_code == 302
    url = f"/manage/events/{event.slug}/registrations/{seated.id}/action"
    assert organizer_client.post(url, {"action": "cancel"}).status_code == 302
    assert by_token(seated.manage_token).status is S.CANCELLED
    assert by_token(waiting.manage_token).status is S.OFFERED


def test_a_registration_of_another_event_is_404(organizer_client, event, crowd) -> None:
    url = f"/manage/events/{event.slug}/registrations/{crowd['elsewhere'].id}/action"
    assert organizer_client.post(url, {"action": "cancel"}).status_code == 404
    assert by_token(crowd["elsewhere"].manage_token).status is S.CONFIRMED


def _settings(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {"capacity": "50", "online_capacity": "", "offer_hours": "48"}
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def test_settings_raise_capacity_and_the_waiting_list_is_offered_the_seats(organizer_client, app, db) -> None:
    event = factories.EventFactory(capacity=1)
    organizer = factories.organizer_of(event)
    factories.RegistrationFactory(event=event)
    waiting = factories.RegistrationFactory(
        event=event, status=S.WAITLISTED, confirmed_at=None, waitlisted_at=datetime.now(UTC)
    )
    organizer_client.logout()
    assert organizer_client.login(organizer.email).status_code == 302
    url = f"/manage/events/{event.slug}/registrations/settings"
    page = organizer_client.client.get(url)
    assert page.status_code == 200 and 'name="quota_embassy"' in page.get_data(as_text=True)

    values = _settings(capacity="3", online_capacity="100", moderation="y", offer_hours="24", quota_embassy="1")
    response = organizer_client.post(url, values, follow_redirects=True)
    assert "1 person on the waiting list was offered a seat." in text(response)
    db.session.expire_all()
    assert event.capacity == 3 and event.online_capacity == 100 and event.moderation and event.offer_hours == 24
    quota = db.session.scalar(sa.select(CategoryQuota).where(CategoryQuota.event_id == event.id))
    assert (quota.category, quota.seats) == (Category.EMBASSY, 1)
    assert by_token(waiting.manage_token).status is S.OFFERED

    # Removing the quota deletes it.
    organizer_client.post(url, _settings(capacity="3", online_capacity="100", moderation="y", offer_hours="24"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CategoryQuota)) == 0


def test_settings_refuse_a_capacity_below_the_seats_held(organizer_client, app, db) -> None:
    event = factories.EventFactory(capacity=5)
    organizer = factories.organizer_of(event)
    for _ in range(3):
        factories.RegistrationFactory(event=event)
    db.session.commit()  # the refused request rolls back its own transaction only
    organizer_client.logout()
    assert organizer_client.login(organizer.email).status_code == 302
    url = f"/manage/events/{event.slug}/registrations/settings"
    response = organizer_client.post(url, _settings(capacity="2", offer_hours="12"))
    assert response.status_code == 400
    assert "3 people already hold in-person seats" in text(response)
    db.session.expire_all()
    assert event.capacity == 5 and event.offer_hours == 48


def test_settings_refuse_an_online_limit_below_the_places_taken(organizer_client, event, db) -> None:
    for _ in range(2):
        factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    db.session.commit()  # the refused request rolls back its own transaction only
    url = f"/manage/events/{event.slug}/registrations/settings"
    response = organizer_client.post(url, _settings(online_capacity="1"))
    assert response.status_code == 400
    assert "2 people already hold online places" in text(response)
    db.session.expire_all()
    assert event.online_capacity is None


def test_the_event_form_carries_the_registration_settings(organizer_client, event, db) -> None:
    html = organizer_client.client.get(f"/manage/events/{event.slug}/edit").get_data(as_text=True)
    assert 'name="moderation"' in html and 'name="offer_hours"' in html
    # Seats (capacity, online places) are changed on the settings page, through the seat rules.
    assert 'name="online_capacity"' not in html


def test_an_online_only_event_has_no_seat_settings(organizer_client, app) -> None:
    event = factories.EventFactory(format=EventFormat.ONLINE, capacity=None, venue_name=None)
    organizer = factories.organizer_of(event)
    organizer_client.logout()
    assert organizer_client.login(organizer.email).status_code == 302
    html = organizer_client.client.get(f"/manage/events/{event.slug}/registrations/settings").get_data(as_text=True)
    assert 'name="online_capacity"' in html
    assert 'name="capacity"' not in html and 'name="quota_embassy"' not in html


# --- a fixed number of queries, whatever the number of registrations --------------------------------------


@contextmanager
def count_queries() -> Iterator[list[str]]:
    statements: list[str] = []
    engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _queries_for(organizer_client, event, count: int, url: str) -> int:  # type: ignore[no-untyped-def]
    existing = len(_names(_list(organizer_client, event)))
    for i in range(existing, count):
        factories.RegistrationFactory(
            event=event,
            person=_person(f"Guest {i}", f"guest{i}-{event.id}@example.org", f"Org {i} of {event.id}"),
            category=Category.PARTNER if i % 2 else None,
        )
    db.session.expire_all()
    with count_queries() as statements:
        response = organizer_client.client.get(url)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize("path", ["registrations", "registrations.csv"])
def test_the_list_and_export_issue_the_same_queries_for_5_and_50_registrations(
    organizer_client, event, path: str
) -> None:
    url = f"/manage/events/{event.slug}/{path}"
    few = _queries_for(organizer_client, event, 5, url)
    many = _queries_for(organizer_client, event, 50, url)
    assert len(_names(_list(organizer_client, event))) == 50
    assert few == many
    assert few <= 12
