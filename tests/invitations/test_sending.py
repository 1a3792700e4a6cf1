"""Sending invitations and reminders through a real SMTP server (aiosmtpd on loopback); bounces; progress."""

from __future__ import annotations

import sqlalchemy as sa

from eventsys.events.models import Category, EventStatus
from eventsys.extensions import db
from eventsys.invitations.models import BulkSend, Invitation, InvitationState
from tests import factories


def _invite(event, email: str, state=InvitationState.NOT_SENT, language: str = "en", name: str | None = None):
    person = factories.PersonFactory(email=email, name=name or email.split("@")[0].title())
    return factories.InvitationFactory(
        event=event, person=person, state=state, language=language, category=Category.EMBASSY
    )


def _latest_bulk(event) -> BulkSend:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(BulkSend).where(BulkSend.event_id == event.id).order_by(BulkSend.id.desc())
    ).first()


def _state(invitation) -> Invitation:
    db.session.expire_all()
    return db.session.get(Invitation, invitation.id)


def _body(message, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


def test_send_all_sends_over_smtp_and_a_refused_address_bounces(
    organizer_client, event, smtp_server, invitations_url
) -> None:
    peru = _invite(event, "ambassador.peru@embassy.example.org", language="es", name="Ambassador of Peru")
    oman = _invite(event, "ambassador.oman@embassy.example.org", name="Ambassador of Oman")
    gone = _invite(event, "bounce.me@embassy.example.org")
    answered = _invite(event, "declined@embassy.example.org", state=InvitationState.DECLINED)
    db.session.commit()

    response = organizer_client.post(invitations_url + "/send-all")
    assert response.status_code == 302

    received = smtp_server.messages
    assert sorted(m["To"].addresses[0].addr_spec for m in received) == [
        "ambassador.oman@embassy.example.org",
        "ambassador.peru@embassy.example.org",
    ]
    # Each in the invitee's language, plain text and HTML, with their own personal link.
    to_peru = next(m for m in received if "peru" in str(m["To"]))
    to_oman = next(m for m in received if "oman" in str(m["To"]))
    assert to_peru["Subject"] == f"Invitación: {event.name}"
    assert to_oman["Subject"] == f"Invitation: {event.name}"
    text, html = _body(to_peru, "plain"), _body(to_peru, "html")
    link = f"http://127.0.0.1:5000/i/{peru.token}"
    assert "Estimado/a Ambassador of Peru:" in text and link in text
    assert f'href="{link}"' in html and 'lang="es"' in html
    assert oman.token not in text
    assert "Dear Ambassador of Oman," in _body(to_oman, "plain")
    assert f"/i/{oman.token}" in _body(to_oman, "plain")

    assert _state(peru).state is InvitationState.SENT and _state(peru).sent_at is not None
    assert _state(oman).state is InvitationState.SENT
    bounced = _state(gone)
    assert bounced.state is InvitationState.BOUNCED
    assert "550" in bounced.last_error
    assert _state(answered).state is InvitationState.DECLINED

    bulk = _latest_bulk(event)
    assert (bulk.total, bulk.sent, bulk.failed) == (3, 2, 1)
    assert [f["email"] for f in bulk.failures] == ["bounce.me@embassy.example.org"]
    assert bulk.finished_at is not None

    page = organizer_client.client.get(invitations_url).get_data(as_text=True)
    assert '<progress id="bulk-progress" max="3" value="3">' in page
    assert "bounce.me@embassy.example.org</strong>: " in page
    status = organizer_client.client.get(invitations_url + "/bulk-status").get_json()["bulk_send"]
    assert status["total"] == 3 and status["sent"] == 2 and status["failed"] == 1 and status["finished"] is True
    assert status["failures"] == ["bounce.me@embassy.example.org"]

    # Nothing is left to send: the second press says so and starts no new bulk send.
    response = organizer_client.post(invitations_url + "/send-all", follow_redirects=True)
    assert "Every invitation has been sent already." in response.get_data(as_text=True)
    assert _latest_bulk(event).id == bulk.id


def test_a_temporary_refusal_fails_the_send_without_bouncing(organizer_client, event, smtp_server, invitations_url):
    later = _invite(event, "defer.me@example.org")
    db.session.commit()
    organizer_client.post(invitations_url + "/send-all")
    invitation = _state(later)
    assert invitation.state is InvitationState.NOT_SENT  # may be sent again later
    assert "451" in invitation.last_error
    assert _latest_bulk(event).failed == 1


def test_reminders_go_only_to_those_who_have_not_answered(organizer_client, event, smtp_server, invitations_url):
    sent = _invite(event, "sent@example.org", state=InvitationState.SENT)
    opened = _invite(event, "opened@example.org", state=InvitationState.OPENED)
    for email, state in [
        ("new@example.org", InvitationState.NOT_SENT),
        ("declined@example.org", InvitationState.DECLINED),
        ("accepted@example.org", InvitationState.ACCEPTED),
        ("bounced@example.org", InvitationState.BOUNCED),
    ]:
        _invite(event, email, state=state)
    db.session.commit()

    assert organizer_client.post(invitations_url + "/remind").status_code == 302
    received = smtp_server.messages
    assert sorted(str(m["To"].addresses[0].addr_spec) for m in received) == ["opened@example.org", "sent@example.org"]
    assert all(m["Subject"] == f"Reminder: your invitation to {event.name}" for m in received)
    assert _state(sent).reminded_at is not None
    assert _state(opened).state is InvitationState.OPENED  # a reminder does not change the state
    bulk = _latest_bulk(event)
    assert (bulk.kind, bulk.total, bulk.sent) == ("invitation_reminders", 2, 2)


def test_sending_one_invitation_again(organizer_client, event, smtp_server, invitations_url) -> None:
    invitation = _invite(event, "again@example.org", state=InvitationState.OPENED)
    invitation.send_count = 1
    db.session.commit()
    response = organizer_client.post(f"{invitations_url}/{invitation.id}/send")
    assert response.status_code == 302
    assert len(smtp_server.messages) == 1
    invitation = _state(invitation)
    assert invitation.send_count == 2
    assert invitation.state is InvitationState.OPENED  # it was opened before; sending again keeps that


def test_another_events_invitation_cannot_be_sent_from_this_event(
    organizer_client, event, smtp_server, invitations_url
):
    foreign = factories.InvitationFactory(state=InvitationState.NOT_SENT)
    db.session.commit()
    assert organizer_client.post(f"{invitations_url}/{foreign.id}/send").status_code == 404
    assert smtp_server.messages == []


def test_a_closed_event_sends_nothing(organizer_client, event, smtp_server, invitations_url) -> None:
    _invite(event, "late@example.org")
    event.status = EventStatus.CLOSED
    db.session.commit()
    response = organizer_client.post(invitations_url + "/send-all", follow_redirects=True)
    assert "The event is closed" in response.get_data(as_text=True)
    assert smtp_server.messages == []
    assert _latest_bulk(event) is None
