"""The public form's CSRF token, signed when the page is rendered (not when a valid POST is answered).

With CSRF protection on (``concurrent_app``), as in production: the page carries a token that registers; a
refused POST renders the form again with a token that works; a POST without a valid token writes nothing.
"""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa

from eventsys.events.models import EventStatus, Person
from eventsys.extensions import db
from tests import factories
from tests.registration import test_concurrency as concurrency
from tests.registration.test_concurrency import concurrent_app, setup

sqlite_url = concurrency.sqlite_url  # fixture: an SQLite file

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def form(token: str, email: str, name: str = "Kim Min-ji") -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": name,
        "email": email,
        "mode": "in_person",
        "when_full": "waitlist",
        "language": "en",
        "consent": "y",
    }


def test_the_token_rendered_after_a_refused_post_registers(sqlite_url: str) -> None:
    def build() -> str:
        event = factories.EventFactory(capacity=50, status=EventStatus.PUBLISHED, slug=f"c-{secrets.token_hex(4)}")
        db.session.flush()
        return event.slug

    slug = setup(sqlite_url, build)
    app = concurrent_app(sqlite_url)
    assert app.config.get("WTF_CSRF_ENABLED", True)
    client = app.test_client()
    page = client.get(f"/events/{slug}/register").get_data(as_text=True)
    first = CSRF_RE.search(page)
    assert first is not None and first.group(1)

    # No name: refused, the form comes back with a token, and nothing is written.
    refused = client.post(f"/events/{slug}/register", data=form(first.group(1), "minji@example.org", name=""))
    assert refused.status_code == 400
    again = CSRF_RE.search(refused.get_data(as_text=True))
    assert again is not None and again.group(1)

    forged = client.post(f"/events/{slug}/register", data=form("not-a-token", "forged@example.org"))
    assert forged.status_code == 400

    done = client.post(f"/events/{slug}/register", data=form(again.group(1), "minji@example.org"))
    assert done.status_code == 302
    with app.app_context():
        emails = set(db.session.scalars(sa.select(Person.email)))
        db.session.remove()
        db.engine.dispose()
    assert "minji@example.org" in emails
    assert "forged@example.org" not in emails
