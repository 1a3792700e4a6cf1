"""Outgoing mail: render a message in the recipient's language and hand it to SMTP (or a file, or stdout).

``MAIL_BACKEND`` picks where mail goes:

- ``smtp`` (production): a real SMTP client on ``MAIL_SERVER:MAIL_PORT``, with STARTTLS (``MAIL_USE_TLS``)
  or implicit TLS (``MAIL_USE_SSL``), and a login when ``MAIL_USERNAME`` is set.
- ``file`` (development): each message is written as an ``.eml`` file to ``MAIL_FILE_DIR`` (instance/mail/),
  and the path is logged. Open it with any mail client.
- ``console``: the message is printed to standard output.
- ``memory`` (tests): messages are appended to ``outbox``.

Failures raise ``MailError``. ``permanent`` says the server refused the message for good (a 5xx reply to
the recipient or the data): the address bounced and retrying will not help. Anything else (connection
refused, timeout, 4xx) is transient and worth retrying later.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale

from eventsys.common.db import utcnow

logger = logging.getLogger(__name__)

#: Messages "sent" with MAIL_BACKEND = "memory" (tests).
outbox: list[EmailMessage] = []

#: A file attached to a message: (file name, MIME type such as "application/pdf", content).
Attachment = tuple[str, str, bytes]

_METHOD_RE = re.compile(rb"^METHOD:([A-Z-]+)\r?$", re.MULTILINE)


class MailError(Exception):
    """Sending failed. ``permanent``: the server refused this recipient or message (bounced); else transient."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None, recipient: str | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code
        self.recipient = recipient

    @property
    def bounced(self) -> bool:
        return self.permanent


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render_mail(template: str, language: str | None, **context: Any) -> RenderedMail:
    """Render templates/mail/<template>.subject.txt, .txt and .html in ``language`` (en, ko, es)."""
    languages = current_app.config.get("LANGUAGES", {"en": "English"})
    locale = language if language in languages else current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    with force_locale(locale):
        # A header must be one line; templates may end with a newline or wrap.
        subject = " ".join(render_template(f"mail/{template}.subject.txt", **context).split())
        text = render_template(f"mail/{template}.txt", subject=subject, **context)
        html = render_template(f"mail/{template}.html", subject=subject, **context)
    return RenderedMail(subject=subject, text=text.strip() + "\n", html=html)


def build_message(
    to: str | tuple[str, str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Iterable[Attachment] = (),
    calendar: bytes | None = None,
    *,
    sender: str | None = None,
    calendar_filename: str = "invite.ics",
) -> EmailMessage:
    """A MIME message: text/plain with an optional text/html alternative and an optional calendar invitation.

    With ``calendar`` (an iCalendar file whose METHOD is e.g. REQUEST or CANCEL) the alternative gets a
    third part ``text/calendar; method=...; charset=utf-8``, which mail clients show as an invitation with
    Accept/Decline buttons, and the same file is attached as ``calendar_filename`` for clients that only
    offer attachments. ``to`` is an address or a (name, address) pair.
    """
    message = EmailMessage(policy=SMTP)
    sender = sender or current_app.config["MAIL_DEFAULT_SENDER"]
    message["From"] = sender
    message["To"] = _address(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=_mail_domain(sender))
    # RFC 3834: an automatic message, so out-of-office replies are not sent back.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if calendar is not None:
        match = _METHOD_RE.search(calendar)
        if not match:
            raise ValueError("the calendar has no METHOD line; an emailed invitation needs METHOD:REQUEST or CANCEL")
        method = match.group(1).decode("ascii")
        # Base64 keeps the calendar's CRLF line endings and folding byte for byte.
        message.add_alternative(
            calendar, maintype="text", subtype="calendar", cte="base64", params={"method": method, "charset": "utf-8"}
        )
        message.add_attachment(calendar, maintype="application", subtype="ics", filename=calendar_filename)
    for filename, mime_type, content in attachments:
        maintype, _, subtype = mime_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return message


def send_mail(
    to: str | tuple[str, str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Iterable[Attachment] = (),
    calendar: bytes | None = None,
    *,
    connection: MailConnection | None = None,
) -> EmailMessage:
    """Build a message (see ``build_message``) and send it through the configured backend; returns it."""
    message = build_message(to, subject, text, html, attachments, calendar)
    if connection is not None:
        connection.send(message)
    else:
        with mail_connection() as opened:
            opened.send(message)
    return message


class MailConnection:
    """One open connection to the mail backend; reuse it to send many messages (bulk sends)."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.backend = config.get("MAIL_BACKEND", "smtp")
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        if self.backend != "smtp":
            if self.backend not in ("file", "console", "memory"):
                raise MailError(f"unknown MAIL_BACKEND {self.backend!r}", permanent=False)
            return
        host, port = self.config["MAIL_SERVER"], int(self.config["MAIL_PORT"])
        timeout = float(self.config.get("MAIL_TIMEOUT") or 30)
        try:
            if self.config.get("MAIL_USE_SSL"):
                self.smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
            else:
                self.smtp = smtplib.SMTP(host, port, timeout=timeout)
                if self.config.get("MAIL_USE_TLS"):
                    self.smtp.starttls(context=ssl.create_default_context())
            if self.config.get("MAIL_USERNAME"):
                self.smtp.login(self.config["MAIL_USERNAME"], self.config.get("MAIL_PASSWORD") or "")
        except smtplib.SMTPAuthenticationError as error:
            self.close()
            raise MailError(f"the SMTP server refused the login: {_reply(error)}", permanent=False) from error
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise MailError(f"cannot reach the SMTP server {host}:{port}: {error}", permanent=False) from error

    def send(self, message: EmailMessage) -> None:
        """Send one message; raise MailError (``permanent`` when the server refused it for good)."""
        if self.backend == "memory":
            outbox.append(message)
        elif self.backend == "console":
            sys.stdout.write(message.as_string() + "\n")
            sys.stdout.flush()
        elif self.backend == "file":
            logger.info("mail to %s written to %s", message["To"], self._write_file(message))
        else:
            self._send_smtp(message)

    def _write_file(self, message: EmailMessage) -> Path:
        folder = Path(self.config.get("MAIL_FILE_DIR") or "instance/mail")
        folder.mkdir(parents=True, exist_ok=True)
        stem = utcnow().strftime("%Y%m%dT%H%M%S.%f")
        local_part = re.sub(r"[^A-Za-z0-9._-]", "_", str(message["Message-ID"]).strip("<>").split("@")[0])
        path = folder / f"{stem}-{local_part}.eml"
        path.write_bytes(message.as_bytes())
        return path

    def _send_smtp(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self.open()
        assert self.smtp is not None
        recipients = [address.addr_spec for address in message["To"].addresses]
        try:
            refused = self.smtp.send_message(message, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as error:
            address, (code, reply) = next(iter(error.recipients.items()))
            raise MailError(
                f"{address}: {code} {_text(reply)}", permanent=500 <= code < 600, code=code, recipient=address
            ) from error
        except smtplib.SMTPSenderRefused as error:
            raise MailError(f"sender refused: {_reply(error)}", permanent=False, code=error.smtp_code) from error
        except smtplib.SMTPResponseException as error:  # e.g. the data refused (554), or a 4xx reply
            code = error.smtp_code
            raise MailError(
                _reply(error), permanent=500 <= code < 600, code=code, recipient=", ".join(recipients)
            ) from error
        except (OSError, smtplib.SMTPException) as error:  # disconnected, timed out
            self.close()
            raise MailError(f"sending failed: {error}", permanent=False) from error
        if refused:  # several recipients, some refused: report the first refusal
            address, (code, reply) = next(iter(refused.items()))
            raise MailError(
                f"{address}: {code} {_text(reply)}", permanent=500 <= code < 600, code=code, recipient=address
            )

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


@contextmanager
def mail_connection() -> Iterator[MailConnection]:
    """An open connection to the configured backend, closed afterwards."""
    connection = MailConnection(current_app.config)
    connection.open()
    try:
        yield connection
    finally:
        connection.close()


def _address(to: str | tuple[str, str] | Sequence[str]) -> str | Address:
    if isinstance(to, tuple):
        name, addr = to
        return str(Address(display_name=name or "", addr_spec=addr))
    return str(to)


def _mail_domain(sender: str) -> str:
    domain = sender.rpartition("@")[2].strip("> ")
    return domain or socket.getfqdn()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _reply(error: smtplib.SMTPResponseException) -> str:
    return f"{error.smtp_code} {_text(error.smtp_error)}"
