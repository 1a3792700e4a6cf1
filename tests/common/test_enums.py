"""LabelledEnum: the value stored is unchanged, the label is translated when read, and no member goes without one."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from eventsys.common.enums import LabelledEnum
from eventsys.events.models import Category, Event, EventFormat
from eventsys.extensions import db
from eventsys.invitations.models import InvitationState
from eventsys.registration.models import REGISTRATION_STATUS_LABELS, Mode, RegistrationStatus
from tests import factories


def test_members_keep_their_values_and_behave_as_strings() -> None:
    assert Mode.IN_PERSON.value == "in_person" and Mode("online") is Mode.ONLINE
    assert Mode.ONLINE == "online" and str(Mode.ONLINE) == "online" and f"{Mode.ONLINE}" == "online"
    assert [m.value for m in InvitationState] == ["not_sent", "sent", "opened", "accepted", "declined", "bounced"]
    assert EventFormat.HYBRID.has_venue and EventFormat.HYBRID.has_online  # the enums' own properties remain


def test_labels_are_translated_when_read(app: Flask) -> None:
    with force_locale("en"):
        assert RegistrationStatus.WAITLISTED.label == "On the waiting list"
        assert Category.EMBASSY.label == "Embassy"
    with force_locale("es"):
        spanish = RegistrationStatus.WAITLISTED.label
    with force_locale("ko"):
        korean = RegistrationStatus.WAITLISTED.label
    assert spanish != "On the waiting list" and korean != "On the waiting list" and spanish != korean
    # The forms' dict of lazy labels, in definition order.
    assert list(REGISTRATION_STATUS_LABELS) == list(RegistrationStatus)
    with force_locale("en"):
        assert str(REGISTRATION_STATUS_LABELS[RegistrationStatus.CONFIRMED]) == "Confirmed"


def test_a_member_without_a_label_is_refused() -> None:
    with pytest.raises(TypeError, match="needs a label"):

        class Colour(LabelledEnum):
            RED = "red", _l("Red")
            BLUE = "blue"


def test_the_database_stores_the_value(app: Flask) -> None:
    event = factories.EventFactory(format=EventFormat.ONLINE)
    db.session.flush()
    stored = db.session.execute(sa.text("SELECT format FROM event WHERE id = :id"), {"id": event.id}).scalar_one()
    assert stored == "online"
    db.session.expire_all()
    assert db.session.get(Event, event.id).format is EventFormat.ONLINE
