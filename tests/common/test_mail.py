"""Mail through a real SMTP server: message structure, languages, bounces and the development backends."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask

from eventsys.common.mail import MailError, build_message, mail_connection, render_mail, send_mail
from tests import factories

ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//EN\r\nMETHOD:REQUEST\r\n"
    b"BEGIN:VEVENT\r\nUID:x-1@test\r\nDTSTAMP:20220101T000000Z\r\nDTSTART:20220302T010000Z\r\n"
    b"SUMMARY:Kick-off\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def parts(message: EmailMessage) -> dict[str, EmailMessage]:
    return {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}


def test_plain_html_and_calendar_arrive_over_smtp(smtp_server) -> None:
    html = "<p>Hello in <b>HTML</b></p>"
    send_mail(("김철수", "kim@example.org"), "Kick-off 안내", "Hello in text", html, calendar=ICS)

    [message] = smtp_server.messages
    assert message["Subject"] == "Kick-off 안내"
    assert message["To"].addresses[0].display_name == "김철수"
    assert message["To"].addresses[0].addr_spec == "kim@example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/mixed"
    alternative = message.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html", "text/calendar"]
    calendar_part = alternative.get_payload()[2]
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_param("charset") == "utf-8"
    assert calendar_part.get_payload(decode=True) == ICS  # CRLFs kept byte for byte
    [attachment] = [p for p in message.iter_attachments()]
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_payload(decode=True) == ICS
    found = parts(message)
    assert found["text/plain"].get_content().strip() == "Hello in text"
    assert "<b>HTML</b>" in found["text/html"].get_content()


def test_text_only_message_is_a_single_part(smtp_server) -> None:
    send_mail("plain@example.org", "Plain", "Only text")
    [message] = smtp_server.messages
    assert message.get_content_type() == "text/plain"
    assert message.get_content().strip() == "Only text"


def test_refused_recipient_is_a_permanent_failure(smtp_server) -> None:
    with pytest.raises(MailError) as refused:
        send_mail("nobody-bounce@example.org", "Hi", "text")
    assert refused.value.permanent and refused.value.bounced
    assert refused.value.code == 550
    assert refused.value.recipient == "nobody-bounce@example.org"
    assert smtp_server.messages == []


def test_deferred_recipient_is_transient(smtp_server) -> None:
    with pytest.raises(MailError) as deferred:
        send_mail("busy-defer@example.org", "Hi", "text")
    assert not deferred.value.permanent
    assert deferred.value.code == 451


def test_unreachable_server_is_transient(app: Flask) -> None:
    from tests.common.smtp_server import free_port

    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    with pytest.raises(MailError) as failed:
        send_mail("someone@example.org", "Hi", "text")
    assert not failed.value.permanent


def test_one_connection_sends_many_and_a_bounce_does_not_stop_the_rest(smtp_server) -> None:
    outcomes = []
    with mail_connection() as connection:
        for address in ("a@example.org", "x-bounce@example.org", "b@example.org"):
            try:
                send_mail(address, "Bulk", "text", connection=connection)
                outcomes.append("sent")
            except MailError as error:
                outcomes.append("bounced" if error.permanent else "failed")
    assert outcomes == ["sent", "bounced", "sent"]
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.messages] == ["a@example.org", "b@example.org"]


def test_file_backend_writes_an_eml_file(app: Flask, tmp_path: Path) -> None:
    app.config.update(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path / "mail"))
    send_mail("dev@example.org", "Written to disk", "text body", "<p>html</p>")
    [path] = list((tmp_path / "mail").glob("*.eml"))
    assert b"Subject: Written to disk" in path.read_bytes()


def test_console_backend_prints_the_message(app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    app.config.update(MAIL_BACKEND="console")
    send_mail("dev@example.org", "On the console", "console body")
    out = capsys.readouterr().out
    assert "Subject: On the console" in out and "console body" in out


def test_memory_backend_is_the_test_default(mail_outbox: list) -> None:
    send_mail("dev@example.org", "In memory", "text")
    assert [m["Subject"] for m in mail_outbox] == ["In memory"]


def test_a_calendar_without_method_is_refused(app: Flask) -> None:
    with pytest.raises(ValueError, match="METHOD"):
        build_message("a@example.org", "x", "y", calendar=ICS.replace(b"METHOD:REQUEST\r\n", b""))


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Registration confirmed"), ("ko", "등록 확정"), ("es", "Inscripción confirmada"), ("xx", "Registration")],
)
def test_render_mail_uses_the_recipients_language(app: Flask, language: str, expected: str) -> None:
    registration = factories.RegistrationFactory(language=language)
    from eventsys.registration.notifications import mail_context

    rendered = render_mail("registration", language, **mail_context(registration, "confirmed"))
    assert expected in rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")


def test_html_part_escapes_what_people_typed(app: Flask) -> None:
    event = factories.EventFactory(name="Kick-off <script>alert(1)</script>")
    registration = factories.RegistrationFactory(event=event, dietary_needs="<b>vegan</b>")
    from eventsys.registration.notifications import mail_context

    rendered = render_mail("registration", "en", **mail_context(registration, "confirmed"))
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<b>vegan</b>" not in rendered.html
    assert "<b>vegan</b>" in rendered.text  # plain text needs no escaping
