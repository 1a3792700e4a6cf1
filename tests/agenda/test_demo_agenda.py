"""The demo's kick-off agenda: the press release's programme, published, inside the event's afternoon in Seoul."""

from __future__ import annotations

import sqlalchemy as sa

from eventsys.agenda import services
from eventsys.demo import KICKOFF_SLUG, load_demo
from eventsys.events.models import Event
from eventsys.extensions import db


def test_the_kickoff_agenda_is_published_without_conflicts(client, app) -> None:
    load_demo(password="demo-password-for-tests")
    kickoff = db.session.scalar(sa.select(Event).where(Event.slug == KICKOFF_SLUG))
    version = services.latest_version(kickoff.id)
    assert version is not None and version.number == 1
    agenda = services.published_agenda(version)
    titles = [session.title for session in agenda.sessions]
    assert titles[0] == "Opening remarks" and titles[-1] == "MOU signing with Edgelands Institute"
    assert len(titles) == 12
    assert all(kickoff.starts_at <= s.starts_at and s.ends_at <= kickoff.ends_at for s in agenda.sessions)
    opening = agenda.sessions[0]
    assert [(person["name"], role.value) for person, role in opening.speakers] == [("Se-hoon Oh", "speaker")]
    peru = next(s for s in agenda.sessions if "Peru" in s.title)
    assert peru.speakers[0][0]["name"] == "Ambassador of Peru"
    assert services.agenda_warnings(kickoff) == []
    html = client.get(f"/events/{KICKOFF_SLUG}/agenda").get_data(as_text=True)
    assert "Launch of the WeGO Smart City Champions" in html and "Siriwan Chaichana" in html
    assert "2:00" in html or "14:00" in html  # 14:00 in Seoul
