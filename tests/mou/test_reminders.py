"""The renewal reminder: the event's organizers are emailed some weeks before a signed MOU's end date, once."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask

from eventsys.extensions import db
from eventsys.mou import services
from eventsys.mou.models import MouStatus
from eventsys.mou.tasks import send_due_renewal_reminders
from tests import factories

TODAY = date(2030, 3, 1)


def test_renewal_reminder_goes_once_to_the_organizers(app: Flask, smtp_server) -> None:
    event = factories.EventFactory(name="WeGO 2022 Activities Kick-off")
    organizers = [factories.organizer_of(event), factories.organizer_of(event)]
    factories.door_staff_of(event)  # door staff are not reminded
    mou = factories.signed_mou(event, title="WeGO and Edgelands Institute", end_date=TODAY + timedelta(days=30))
    factories.signed_mou(event, title="Far off", end_date=TODAY + timedelta(days=200))
    factories.signed_mou(event, title="Already over", end_date=TODAY - timedelta(days=1))
    terminated = factories.signed_mou(event, title="Terminated", end_date=TODAY + timedelta(days=10))
    terminated.status = MouStatus.TERMINATED
    elsewhere = factories.EventFactory()
    factories.organizer_of(elsewhere)
    db.session.commit()

    assert send_due_renewal_reminders(today=TODAY) == 1
    received = smtp_server.messages
    assert sorted(m["To"].addresses[0].addr_spec for m in received) == sorted(u.email for u in organizers)
    message = received[0]
    assert message["Subject"] == f"MOU ends on {TODAY + timedelta(days=30)}: WeGO and Edgelands Institute"
    body = message.get_body(("plain",)).get_content()
    assert f"http://127.0.0.1:5000/manage/events/{event.slug}/mous/{mou.id}" in body

    assert send_due_renewal_reminders(today=TODAY) == 0
    assert send_due_renewal_reminders(today=TODAY + timedelta(days=1)) == 0
    assert len(smtp_server.messages) == 2

    # A new end date (an amendment) gets its own reminder when it comes near.
    data = services.MouData(
        title=mou.title,
        summary=mou.summary,
        place=mou.place,
        signing_date=mou.signing_date,
        end_date=TODAY + timedelta(days=400),
        visibility=mou.visibility,
    )
    services.update_mou(None, mou, data)
    db.session.commit()
    assert send_due_renewal_reminders(today=TODAY + timedelta(days=380)) == 1
    assert len(smtp_server.messages) == 4


def test_the_notice_period_is_configurable(app: Flask, smtp_server) -> None:
    event = factories.EventFactory()
    factories.organizer_of(event)
    factories.signed_mou(event, end_date=TODAY + timedelta(days=30))
    db.session.commit()
    app.config["MOU_RENEWAL_NOTICE_DAYS"] = 14
    assert send_due_renewal_reminders(today=TODAY) == 0
    app.config["MOU_RENEWAL_NOTICE_DAYS"] = 42
    assert send_due_renewal_reminders(today=TODAY) == 1
