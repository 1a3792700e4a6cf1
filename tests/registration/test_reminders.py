"""The day-before reminder: confirmed attendees of events starting within 24 hours, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask

from eventsys.common.tasks import huey
from eventsys.events.models import EventStatus
from eventsys.extensions import db
from eventsys.registration.models import Mode, Registration, RegistrationStatus
from eventsys.registration.tasks import send_due_reminders
from tests import factories

NOW = datetime(2030, 3, 1, 3, 0, tzinfo=UTC)


def event_starting_in(hours: float, **changes: object):
    starts = NOW + timedelta(hours=hours)
    return factories.EventFactory(starts_at=starts, ends_at=starts + timedelta(hours=3), **changes)


def test_reminder_goes_once_with_venue_or_join_link(app: Flask, smtp_server) -> None:
    event = event_starting_in(20)
    in_person = factories.RegistrationFactory(event=event, mode=Mode.IN_PERSON, person__email="seat@example.org")
    online = factories.RegistrationFactory(event=event, mode=Mode.ONLINE, person__email="screen@example.org")
    factories.RegistrationFactory(event=event, status=RegistrationStatus.CANCELLED, person__email="gone@example.org")
    factories.RegistrationFactory(
        event=event, status=RegistrationStatus.WAITLISTED, confirmed_at=None, waitlisted_at=NOW,
        person__email="waiting@example.org",
    )  # fmt: skip
    later = event_starting_in(24 * 3)
    factories.RegistrationFactory(event=later, person__email="later@example.org")
    db.session.commit()

    assert send_due_reminders(now=NOW) == 2
    by_address = {m["To"].addresses[0].addr_spec: m for m in smtp_server.messages}
    assert set(by_address) == {"seat@example.org", "screen@example.org"}
    seat = by_address["seat@example.org"].get_body(("plain",)).get_content()
    screen = by_address["screen@example.org"].get_body(("plain",)).get_content()
    assert by_address["seat@example.org"]["Subject"] == f"Reminder: {event.name} starts soon"
    assert event.venue_name in seat and "/join/" not in seat
    assert f"/join/{online.join_token}" in screen and event.venue_name not in screen
    assert event.online_url not in screen

    assert send_due_reminders(now=NOW) == 0, "running the job again reminds nobody twice"
    assert send_due_reminders(now=NOW + timedelta(hours=1)) == 0
    assert len(smtp_server.messages) == 2
    db.session.expire_all()
    assert db.session.get(Registration, in_person.id).reminder_sent_at == NOW


def test_window_is_the_next_24_hours_of_published_events(app: Flask, mail_outbox: list) -> None:
    started = event_starting_in(-1)
    too_early = event_starting_in(25)
    draft = event_starting_in(5, status=EventStatus.DRAFT)
    due = event_starting_in(23.5)
    for event in (started, too_early, draft, due):
        factories.RegistrationFactory(event=event)
    db.session.commit()

    assert send_due_reminders(now=NOW) == 1
    reminded = db.session.scalars(sa.select(Registration.event_id).where(Registration.reminder_sent_at.is_not(None)))
    assert list(reminded) == [due.id]
    # An hour later the event that was 25 hours away is due.
    assert send_due_reminders(now=NOW + timedelta(hours=1)) == 1
    assert len(mail_outbox) == 2


def test_reminder_runs_hourly_and_offer_expiry_every_five_minutes() -> None:
    def due_at(hour: int, minute: int) -> set[str]:
        return {task.name.rsplit(".", 1)[-1] for task in huey.read_periodic(datetime(2030, 3, 1, hour, minute))}

    assert {"remind_day_before", "expire_seat_offers"} <= due_at(5, 0)
    assert "remind_day_before" not in due_at(5, 25) and "expire_seat_offers" in due_at(5, 25)
    assert not {"remind_day_before", "expire_seat_offers"} & due_at(5, 26)


def test_offer_expiry_job_runs_the_service(app: Flask, mail_outbox: list) -> None:
    from eventsys.registration.tasks import expire_seat_offers

    event = event_starting_in(24 * 10)
    offered = factories.RegistrationFactory(
        event=event,
        status=RegistrationStatus.OFFERED,
        confirmed_at=None,
        waitlisted_at=datetime.now(UTC) - timedelta(days=3),
        offer_expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    db.session.commit()
    expire_seat_offers.call_local()
    db.session.expire_all()
    assert db.session.get(Registration, offered.id).status is RegistrationStatus.CANCELLED
    assert [m["Subject"] for m in mail_outbox] == [f"Your seat offer has expired: {event.name}"]
