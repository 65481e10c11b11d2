"""E-mail to users (password-reset links) through Flask-Mailman, sent off the request path.

A view only puts the message on a bounded queue; a thread of this process hands it to the SMTP
server (MAIL_SERVER, with MAIL_TIMEOUT), through app.background as app.logging does for error
e-mails. So a slow or unreachable mail server delays no answer, the answer to a reset request
takes as long whether or not a message was queued, and a burst while the server stalls drops
messages (logged) instead of piling up memory.
"""

from __future__ import annotations

import atexit

from flask import Flask, current_app
from flask_mailman import EmailMessage

from app.background import BackgroundWorker
from app.extensions import mail
from app.logging import MAIL_DRAIN_S, MAIL_QUEUE_SIZE

EXTENSION_KEY = "stockdash_mailer"


def mail_configured(app: Flask | None = None) -> bool:
    """Whether the app can send e-mail (MAIL_SERVER is set)."""
    return bool((app or current_app).config.get("MAIL_SERVER"))


class BackgroundMailer:
    """The messages of this process, sent by a BackgroundWorker (a bounded queue, one thread)."""

    def __init__(self, app: Flask, capacity: int = MAIL_QUEUE_SIZE):
        self.app = app
        self.worker: BackgroundWorker[EmailMessage] = BackgroundWorker(
            self._deliver, capacity, name="stockdash-mailer"
        )

    def _deliver(self, message: EmailMessage) -> None:
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

    def send(self, message: EmailMessage) -> bool:
        """Queue `message`; False (and a warning in the log) when the queue is full."""
        if self.worker.put(message):
            return True
        self.app.logger.warning(
            "E-mail to %s dropped: %d already waiting", ", ".join(message.to), self.worker.capacity
        )
        return False

    def drain(self, timeout: float) -> bool:
        """Wait until every queued message was handed over, at most `timeout` s; True if so."""
        return self.worker.drain(timeout)


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
