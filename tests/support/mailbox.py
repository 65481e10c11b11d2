"""A real SMTP server in the test process (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nobody listens on right now (aiosmtpd checks its own port, so not 0)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Mailbox:
    """aiosmtpd's handler: every message delivered, parsed, in arrival order."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """The first `count` messages, waiting up to `timeout` s for them to arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.messages)} of {count} e-mails arrived"
                self._arrived.wait(left)
            return self.messages[:count]


class SMTPServer:
    """aiosmtpd on a loopback port, with its Mailbox; `close()` stops it."""

    def __init__(self):
        self.mailbox = Mailbox()
        self.port = free_port()
        self._controller = Controller(self.mailbox, hostname=HOST, port=self.port)
        self._controller.start()

    def close(self) -> None:
        """Stop the server."""
        self._controller.stop()
