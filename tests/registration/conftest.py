"""Registration test helpers: registrant data, and a recorder of the notifications services ask for."""

from __future__ import annotations

import pytest

from eventsys.registration import notifications
from eventsys.registration.models import Registration
from eventsys.registration.services import RegistrantData

NOTIFICATIONS = ("confirmed", "pending", "waitlisted", "offered", "offer_expired", "cancelled", "rejected", "changed")


class Sent:
    """The notifications the services asked for, as (kind, registration id); no mail is involved."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def record(self, kind: str, registration: Registration) -> None:
        self.calls.append((kind, registration.id))

    def kinds_for(self, registration: Registration) -> list[str]:
        return [kind for kind, reg_id in self.calls if reg_id == registration.id]


def replace_notifications(monkeypatch: pytest.MonkeyPatch, sent: Sent) -> None:
    for kind in NOTIFICATIONS:
        monkeypatch.setattr(notifications, f"notify_{kind}", lambda reg, kind=kind: sent.record(kind, reg))


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    record = Sent()
    replace_notifications(monkeypatch, record)
    return record


def data(n: int | str = 1, **overrides: object) -> RegistrantData:
    """A registrant who agreed to the privacy notice, with a unique email per ``n``."""
    values: dict[str, object] = {"name": f"Attendee {n}", "email": f"attendee{n}@example.org", "consent": True}
    values.update(overrides)
    return RegistrantData(**values)  # type: ignore[arg-type]
