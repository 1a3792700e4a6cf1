"""A real SMTP server on loopback for tests (aiosmtpd), that keeps what it receives and can refuse recipients."""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller

#: Recipients whose address contains this are refused with a permanent 550, as a server does for a
#: mailbox that does not exist; use it to test bounces.
REFUSE_MARKER = "bounce"
#: Recipients whose address contains this get a temporary 451 (try again later).
DEFER_MARKER = "defer"


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if REFUSE_MARKER in address.lower():
            return "550 5.1.1 No such user"
        if DEFER_MARKER in address.lower():
            return "451 4.3.0 Mailbox temporarily unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        message = message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        with self.server.lock:
            self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class Received:
    """One delivered message: the envelope and the parsed message."""

    def __init__(self, mail_from: str, rcpt_tos: list[str], message: EmailMessage) -> None:
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.message = message


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """aiosmtpd's Controller on 127.0.0.1 and a free port, collecting received messages in ``received``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.host = "127.0.0.1"
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [item.message for item in self.received]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """The messages, once at least ``count`` have arrived (for mail sent by another process)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages within {timeout}s, got {len(self.messages)}")
