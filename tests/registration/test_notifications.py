"""Registration emails through a real SMTP server: what was booked, in the registrant's language, with the .ics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import icalendar
import vobject
from flask import Flask

from eventsys.extensions import db
from eventsys.registration import notifications, services
from eventsys.registration.models import Mode, RegistrationStatus
from tests import factories

PLATFORM_URL = "https://meet.example.org/secret-room-42"
BASE = "http://127.0.0.1:5000"


def seoul_event(**changes: object):
    values: dict[str, object] = {
        "name": "WeGO 2022 Activities Kick-off",
        "timezone": "Asia/Seoul",
        "starts_at": datetime(2030, 3, 2, 1, 0, tzinfo=UTC),  # 10:00 in Seoul
        "ends_at": datetime(2030, 3, 2, 4, 0, tzinfo=UTC),
        "venue_name": "Seoul City Hall",
        "venue_address": "110 Sejong-daero, Jung-gu, Seoul",
        "online_url": PLATFORM_URL,
    }
    values.update(changes)
    return factories.EventFactory(**values)


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def everything_in(message: EmailMessage) -> str:
    """Every part decoded, headers included: to check that something appears nowhere."""
    chunks = [str(message)]
    for part in message.walk():
        if not part.is_multipart():
            chunks.append(part.get_payload(decode=True).decode("utf-8", "replace"))
    return "\n".join(chunks)


def ics_of(message: EmailMessage) -> bytes:
    [attachment] = [p for p in message.iter_attachments() if p.get_filename() == "invite.ics"]
    data = attachment.get_payload(decode=True)
    [inline] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert inline.get_payload(decode=True) == data, "the inline invitation and the attachment are one file"
    return data


def vevent(data: bytes) -> icalendar.Event:
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    return event


def test_in_person_confirmation_says_where_and_carries_the_invitation(app: Flask, smtp_server) -> None:
    event = seoul_event()
    registration = factories.RegistrationFactory(
        event=event,
        mode=Mode.IN_PERSON,
        dietary_needs="Vegetarian, no nuts",
        accessibility_needs="Step-free access",
        person__name="Ana López",
        person__email="ana@example.org",
    )
    notifications.notify_confirmed(registration)
    assert smtp_server.messages == [], "nothing is sent before the commit"
    db.session.commit()

    [message] = smtp_server.messages
    assert message["To"].addresses[0].addr_spec == "ana@example.org"
    assert message["Subject"] == "Registration confirmed: WeGO 2022 Activities Kick-off"
    text, html = text_of(message), html_of(message)
    for body in (text, html):
        assert "Seoul City Hall" in body
        assert "110 Sejong-daero, Jung-gu, Seoul" in body
        assert "Vegetarian, no nuts" in body and "Step-free access" in body
        assert f"{BASE}/r/{registration.manage_token}" in body
        assert "/join/" not in body
    assert "10:00" in text and "Seoul, UTC+9" in text  # the event's own zone
    assert PLATFORM_URL not in everything_in(message)

    data = ics_of(message)
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar["METHOD"] == "REQUEST"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Seoul"]
    entry = vevent(data)
    assert entry["UID"] == f"registration-{registration.id}@127.0.0.1"
    assert entry["DTSTART"].params["TZID"] == "Asia/Seoul"
    assert entry.decoded("DTSTART") == datetime(2030, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    assert "Seoul City Hall" in str(entry["LOCATION"])
    assert entry["ATTENDEE"].params["RSVP"] == "TRUE"
    other = vobject.readOne(data.decode("utf-8"))
    assert other.method.value == "REQUEST"
    assert other.vevent.uid.value == entry["UID"]
    assert other.vevent.dtstart.value.astimezone(UTC) == datetime(2030, 3, 2, 1, 0, tzinfo=UTC)


def test_korean_online_attendee_gets_korean_mail_with_a_personal_join_link(app: Flask, smtp_server) -> None:
    event = seoul_event()
    registration = factories.RegistrationFactory(
        event=event, mode=Mode.ONLINE, language="ko", person__name="김민준", person__email="minjun@example.org"
    )
    notifications.notify_confirmed(registration)
    db.session.commit()

    [message] = smtp_server.messages
    assert message["Subject"] == "등록 확정: WeGO 2022 Activities Kick-off"
    text, html = text_of(message), html_of(message)
    join = f"{BASE}/join/{registration.join_token}"
    for body in (text, html):
        assert "김민준 님께" in body
        assert join in body
        assert "Seoul City Hall" not in body, "online attendees get the join link, not the venue"
    assert "Dear" not in text
    assert PLATFORM_URL not in everything_in(message), "the platform URL is reached only through /join/<token>"

    entry = vevent(ics_of(message))
    assert str(entry["CONFERENCE"]) == join and str(entry["URL"]) == join
    assert join in str(entry["DESCRIPTION"])
    assert "등록 관리" in str(entry["DESCRIPTION"]), "the calendar text is in Korean too"


def test_uid_is_stable_sequence_rises_and_cancellation_removes_the_entry(app: Flask, smtp_server) -> None:
    event = seoul_event()
    registration = services.register_attendee(
        event,
        services.RegistrantData(name="Ana López", email="ana@example.org", consent=True, language="es"),
    )
    db.session.commit()
    services.switch_mode(registration, Mode.ONLINE)
    db.session.commit()
    services.cancel_registration(registration)
    db.session.commit()

    confirmed, changed, cancelled = smtp_server.messages
    assert confirmed["Subject"].startswith("Inscripción confirmada")
    assert cancelled["Subject"].startswith("Inscripción cancelada")
    first, second, last = (vevent(ics_of(m)) for m in (confirmed, changed, cancelled))
    assert first["UID"] == second["UID"] == last["UID"] == f"registration-{registration.id}@127.0.0.1"
    assert first["SEQUENCE"] < second["SEQUENCE"] < last["SEQUENCE"]
    assert "Seoul City Hall" in str(first["LOCATION"]) and "CONFERENCE" not in first
    assert "/join/" in str(second["CONFERENCE"]), "the switch to online sends the join link"
    cancel = icalendar.Calendar.from_ical(ics_of(cancelled))
    assert cancel["METHOD"] == "CANCEL" and last["STATUS"] == "CANCELLED"
    [inline] = [p for p in cancelled.walk() if p.get_content_type() == "text/calendar"]
    assert inline.get_param("method") == "CANCEL"
    assert vobject.readOne(ics_of(cancelled).decode()).method.value == "CANCEL"


def test_offer_states_the_deadline_in_the_event_zone_and_links_to_confirm(app: Flask, smtp_server) -> None:
    registration = factories.RegistrationFactory(
        event=seoul_event(),
        status=RegistrationStatus.OFFERED,
        confirmed_at=None,
        waitlisted_at=datetime(2030, 1, 1, tzinfo=UTC),
        offer_expires_at=datetime(2030, 2, 10, 9, 30, tzinfo=UTC),  # 18:30 in Seoul
    )
    notifications.notify_offered(registration)
    db.session.commit()

    [message] = smtp_server.messages
    assert message["Subject"].startswith("A seat is free for you")
    text = text_of(message)
    assert "6:30" in text and "Seoul, UTC+9" in text
    assert f"Confirm my seat: {BASE}/r/{registration.manage_token}" in text
    assert not list(message.iter_attachments()), "no calendar entry before the seat is confirmed"


def test_a_bounced_address_does_not_break_the_commit(app: Flask, smtp_server) -> None:
    registration = factories.RegistrationFactory(event=seoul_event(), person__email="nobody-bounce@example.org")
    notifications.notify_confirmed(registration)
    db.session.commit()  # the task logs the bounce instead of failing
    assert smtp_server.messages == []


def test_a_mail_overtaken_by_a_later_change_is_skipped(app: Flask, smtp_server) -> None:
    registration = factories.RegistrationFactory(event=seoul_event())
    notifications.notify_confirmed(registration)
    services.cancel_registration(registration)
    db.session.commit()
    [message] = smtp_server.messages
    assert message["Subject"].startswith("Registration cancelled")


def test_each_status_mail_is_sent_in_english_spanish_and_korean(app: Flask, mail_outbox: list) -> None:
    event = seoul_event()
    cases = {
        "pending": (RegistrationStatus.PENDING, Mode.IN_PERSON, "An organizer will review it"),
        "waitlisted": (RegistrationStatus.WAITLISTED, Mode.IN_PERSON, "waiting list"),
        "rejected": (RegistrationStatus.REJECTED, Mode.IN_PERSON, "could not be accepted"),
        "offer_expired": (RegistrationStatus.CANCELLED, Mode.IN_PERSON, "not confirmed in time"),
        "changed": (RegistrationStatus.CONFIRMED, Mode.ONLINE, "has been updated"),
    }
    for kind, (status, mode, phrase) in cases.items():
        for language in ("en", "es", "ko"):
            registration = factories.RegistrationFactory(event=event, status=status, mode=mode, language=language)
            getattr(notifications, f"notify_{kind}")(registration)
            db.session.commit()
            message = mail_outbox.pop()
            text = text_of(message)
            assert (phrase in text) == (language == "en"), (kind, language)
            assert text.strip() and html_of(message).strip()
    assert mail_outbox == []


def test_waitlisted_with_an_online_place_gets_the_join_link(app: Flask, mail_outbox: list) -> None:
    registration = factories.RegistrationFactory(
        event=seoul_event(),
        mode=Mode.ONLINE,
        online_meanwhile=True,
        waitlisted_at=datetime.now(UTC) - timedelta(hours=1),
    )
    notifications.notify_waitlisted(registration)
    db.session.commit()
    [message] = mail_outbox
    text = text_of(message)
    assert "waiting list" in text and "Meanwhile you have an online place." in text
    assert f"/join/{registration.join_token}" in text
    assert icalendar.Calendar.from_ical(ics_of(message))["METHOD"] == "REQUEST"
