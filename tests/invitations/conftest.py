"""Helpers for the invitation tests: upload a CSV through the organizer's pages."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from eventsys.events.models import Organization, Person
from eventsys.extensions import db
from eventsys.invitations.models import Invitation

BOUNDARY = "eventsys-test-boundary-7f3a"


def upload(browser, event, raw: bytes, filename: str = "list.csv"):
    """Post ``raw`` to the import page as the file field, as a browser does; returns the preview response.

    The multipart body is built here rather than by the test client, which spools bodies over 500 kB to a
    temporary file it never closes (a ResourceWarning, an error under filterwarnings=error).
    """
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{browser.csrf_token()}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body = head + raw + f"\r\n--{BOUNDARY}--\r\n".encode()
    return browser.client.post(
        f"/manage/events/{event.slug}/invitations/import",
        input_stream=io.BytesIO(body),
        content_length=len(body),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


def payload_of(page: str) -> str:
    match = re.search(r'<input[^>]*name="payload"[^>]*>', page)
    assert match, "the preview must carry the confirmation form"
    value = re.search(r'value="([^"]+)"', match.group(0))
    assert value
    return value.group(1)


def counts() -> dict[str, int]:
    """How many people, organizations and invitations exist: proof that something was, or was not, written."""
    db.session.expire_all()
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Person, Organization, Invitation)
    }


def person(email: str) -> Person | None:
    return db.session.scalar(sa.select(Person).where(Person.email == email))


@pytest.fixture
def invitations_url(event) -> str:
    return f"/manage/events/{event.slug}/invitations"
