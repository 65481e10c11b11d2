"""A real SMTP server in the test process (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

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


class Sessions:
    """How many SMTP connections are open right now, and a way to wait for none."""

    def __init__(self):
        self.open = 0
        self._changed = threading.Condition()

    def change(self, by: int) -> None:
        """Count a connection opened (+1) or closed (-1)."""
        with self._changed:
            self.open += by
            self._changed.notify_all()

    def wait_for_none(self, timeout: float) -> None:
        """Return once no connection is open, or after `timeout` s."""
        with self._changed:
            self._changed.wait_for(lambda: self.open == 0, timeout)


class CountingController(Controller):
    """aiosmtpd's Controller whose SMTP sessions report to `sessions` when they open and close."""

    def __init__(self, handler, sessions: Sessions, **kwargs):
        super().__init__(handler, **kwargs)
        self.sessions = sessions

    def factory(self):
        """An SMTP protocol that counts its connection (see Sessions)."""
        sessions = self.sessions

        class CountingSMTP(SMTP):
            def connection_made(self, transport):
                sessions.change(+1)
                super().connection_made(transport)

            def connection_lost(self, error):
                super().connection_lost(error)
                sessions.change(-1)

        return CountingSMTP(self.handler, **self.SMTP_kwargs)


class SMTPServer:
    """aiosmtpd on a loopback port, with its Mailbox; `close()` stops it."""

    def __init__(self):
        self.mailbox = Mailbox()
        self.port = free_port()
        self.sessions = Sessions()
        self._controller = CountingController(
            self.mailbox, self.sessions, hostname=HOST, port=self.port
        )
        self._controller.start()

    def close(self, grace: float = 5.0) -> None:
        """Stop the server once the clients still connected have said QUIT (at most `grace` s):
        stopping under an open session leaves its transport unclosed, a ResourceWarning that
        fails the test whose mail thread was still sending."""
        self.sessions.wait_for_none(grace)
        self._controller.stop()
