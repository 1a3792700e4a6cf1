"""The demo kick-off has invitations for the ten ambassadors named in the press release."""

from __future__ import annotations

import sqlalchemy as sa

from eventsys.demo import EMBASSIES, KICKOFF_SLUG, ambassador_email, load_demo
from eventsys.events.models import Category, Event, Person
from eventsys.extensions import db
from eventsys.invitations.models import Invitation, InvitationState


def test_the_ten_ambassadors_were_invited_and_accepted(app, tmp_path) -> None:
    app.config["CERTIFICATE_PDF_DIR"] = str(tmp_path / "pdfs")
    load_demo(password="demo-password-for-tests")
    db.session.commit()
    kickoff = db.session.scalar(sa.select(Event).where(Event.slug == KICKOFF_SLUG))
    invitations = db.session.scalars(
        sa.select(Invitation).where(Invitation.event_id == kickoff.id, Invitation.category == Category.EMBASSY)
    ).all()
    assert sorted(i.person.email for i in invitations) == sorted(ambassador_email(c) for c, _ in EMBASSIES)
    assert len(EMBASSIES) == 10
    # All ten came in person (the press release), so each accepted, in February 2022; the demo sends no mail.
    assert {i.state for i in invitations} == {InvitationState.ACCEPTED}
    assert all(i.responded_at.year == 2022 and i.opened_at <= i.responded_at for i in invitations)
    assert {i.send_count for i in invitations} == {0}
    by_email = {i.person.email: i for i in invitations}
    assert by_email[ambassador_email("Peru")].language == "es"
    assert by_email[ambassador_email("Oman")].language == "en"
    # The invitations point at the ambassadors' own Person rows: nobody was entered twice.
    emails = [ambassador_email(c) for c, _ in EMBASSIES]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.email.in_(emails))) == 10
