"""Agenda fixtures: an event with rooms, speakers and sessions, and a helper to publish it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventsys.agenda import services
from eventsys.agenda.models import SpeakerRole
from eventsys.extensions import db
from tests import factories


def publish(event, actor=None):
    """Publish the event's draft agenda as the next version, as an organizer would (digest included)."""
    version = services.publish_agenda(event, actor, services.draft_digest(event))
    db.session.flush()
    return version


@pytest.fixture
def agenda(app):
    """A hybrid event in Seoul with two rooms, two speakers and three sessions, nothing published."""
    event = factories.EventFactory(timezone="Asia/Seoul")
    hall = factories.RoomFactory(event=event, name="Grand Hall", capacity=3)
    small = factories.RoomFactory(event=event, name="Seminar Room", capacity=20)
    mayor = factories.PersonFactory(name="Se-hoon Oh", title="Mayor of Seoul")
    sg = factories.PersonFactory(name="Jung Sook Park", title="Secretary General of WeGO")
    start = event.starts_at
    opening = factories.SessionFactory(
        event=event, title="Opening remarks", room=hall, starts_at=start, ends_at=start + timedelta(minutes=15)
    )
    services.set_speakers(opening, [(mayor, SpeakerRole.SPEAKER)])
    activities = factories.SessionFactory(
        event=event,
        title="WeGO activities 2022",
        room=small,
        starts_at=start + timedelta(minutes=15),
        ends_at=start + timedelta(minutes=45),
    )
    services.set_speakers(activities, [(sg, SpeakerRole.SPEAKER), (mayor, SpeakerRole.MODERATOR)])
    unscheduled = factories.SessionFactory(event=event, title="Closing showcase", starts_at=None, ends_at=None)
    db.session.flush()
    return {
        "event": event,
        "hall": hall,
        "small": small,
        "mayor": mayor,
        "sg": sg,
        "opening": opening,
        "activities": activities,
        "unscheduled": unscheduled,
    }
