"""Steps an attendee takes through the registration pages, on top of the ``browser`` test helper."""

from __future__ import annotations

import re

import sqlalchemy as sa

from eventsys.extensions import db
from eventsys.registration.models import Registration

MANAGE_RE = re.compile(r"/r/([A-Za-z0-9_-]{20,64})")


def form(**overrides: object) -> dict[str, object]:
    """What a registrant types into the public form."""
    values: dict[str, object] = {
        "name": "Kim Min-ji",
        "email": "minji.kim@example.org",
        "organization": "Seoul Metropolitan Government",
        "title": "Director of International Relations",
        "mode": "in_person",
        "dietary_needs": "Vegetarian",
        "accessibility_needs": "",
        "language": "en",
        "consent": "y",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def register(browser, event, **overrides: object):  # type: ignore[no-untyped-def]
    """Submit the public form of ``event``; returns the response (302 to the result page on success)."""
    return browser.post(f"/events/{event.slug}/register", form(**overrides))


def manage_token(response) -> str:  # type: ignore[no-untyped-def]
    """The manage token from the redirect after a successful registration."""
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = MANAGE_RE.search(response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def by_token(token: str) -> Registration:
    db.session.expire_all()
    return db.session.scalar(sa.select(Registration).where(Registration.manage_token == token))


def registration_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Registration))


def text(response) -> str:  # type: ignore[no-untyped-def]
    """The page's text with whitespace runs collapsed, for phrase assertions."""
    return " ".join(response.get_data(as_text=True).split())
