"""E-mail to users (password-reset links) through Flask-Mailman, sent off the request path.

A view only puts the message on a bounded queue; a thread of this process hands it to the SMTP
server (MAIL_SERVER, with MAIL_TIMEOUT), as app.logging does for error e-mails. So a slow or
unreachable mail server delays no answer, the answer to a reset request takes as long whether
or not a message was queued, and a burst while the server stalls drops messages (logged)
instead of piling up memory. The thread is started on first use in each process: gunicorn
forks its workers, and threads do not survive a fork.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time

from flask import Flask, current_app
from flask_mailman import EmailMessage

from app.extensions import mail
from app.logging import MAIL_DRAIN_S

EXTENSION_KEY = "stockdash_mailer"
MAIL_QUEUE_SIZE = 100


def mail_configured(app: Flask | None = None) -> bool:
    """Whether the app can send e-mail (MAIL_SERVER is set)."""
    return bool((app or current_app).config.get("MAIL_SERVER"))


class BackgroundMailer:
    """A bounded queue of messages and the thread that sends them, one of each per process."""

    def __init__(self, app: Flask, capacity: int = MAIL_QUEUE_SIZE):
        self.app = app
        self.capacity = capacity
        self.queue: queue.Queue[EmailMessage] = queue.Queue(capacity)
        self._pid: int | None = None
        self._lock = threading.Lock()

    def _running_queue(self) -> queue.Queue:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    # A fresh queue: what the parent queued is the parent's to send.
                    self.queue = queue.Queue(self.capacity)
                    thread = threading.Thread(
                        target=self._send_forever, args=(self.queue,), daemon=True,
                        name="stockdash-mailer",
                    )  # fmt: skip
                    thread.start()
                    self._pid = os.getpid()
        return self.queue

    def _send_forever(self, messages: queue.Queue) -> None:
        while True:
            message = messages.get()
            try:
                with self.app.app_context():
                    message.send()
            except Exception as error:
                # WARNING, not ERROR: an error would be e-mailed to ADMINS through the same server.
                self.app.logger.warning(
                    "Could not send an e-mail to %s via %s:%s: %s: %s",
                    ", ".join(message.to), self.app.config["MAIL_SERVER"],
                    self.app.config["MAIL_PORT"], type(error).__name__, error,
                )  # fmt: skip
            finally:
                messages.task_done()

    def send(self, message: EmailMessage) -> bool:
        """Queue `message`; False (and a warning in the log) when the queue is full."""
        try:
            self._running_queue().put_nowait(message)
        except queue.Full:
            self.app.logger.warning(
                "E-mail to %s dropped: %d already waiting", ", ".join(message.to), self.capacity
            )
            return False
        return True

    def drain(self, timeout: float) -> bool:
        """Wait until every queued message was handed over, at most `timeout` s; True if so."""
        deadline = time.monotonic() + timeout
        while self._pid == os.getpid() and self.queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


def sender() -> str:
    """MAIL_FROM, or no-reply@ the mail server (as the error e-mails of app.logging)."""
    config = current_app.config
    return config.get("MAIL_FROM") or f"no-reply@{config['MAIL_SERVER']}"


def send_email(to: str, subject: str, body: str) -> bool:
    """Queue a plain-text e-mail from `sender()` to `to` (see the module)."""
    message = EmailMessage(subject=subject, body=body, from_email=sender(), to=[to])
    return current_app.extensions[EXTENSION_KEY].send(message)


def init_mail(app: Flask) -> None:
    """Bind Flask-Mailman and this process's mailer to the app. At exit (a gunicorn worker
    stopping), queued messages get up to MAIL_DRAIN_S to go out."""
    mail.init_app(app)
    mailer = BackgroundMailer(app)
    app.extensions[EXTENSION_KEY] = mailer
    if mail_configured(app):
        atexit.register(mailer.drain, MAIL_DRAIN_S)
