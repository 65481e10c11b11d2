"""Logging: stdout always, a rotating file and error e-mails when configured.

Error e-mails are sent off the request path: the request only puts the record on a bounded
queue (`BackgroundHandler`, through app.background) and a thread talks to the mail server, so
a slow or unreachable SMTP server delays no answer, and a burst of errors while it stalls drops
e-mails (counted on stderr) instead of piling up memory.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler, SMTPHandler

from flask import Flask

from app.background import BackgroundWorker
from app.config import MAIL_TIMEOUT_S

LOG_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"
MAIL_QUEUE_SIZE = 100
# At exit (a gunicorn worker stopping), how long queued e-mails may still take to go out.
MAIL_DRAIN_S = 2.0


class BackgroundHandler(logging.Handler):
    """Pass records to `target` through a BackgroundWorker (a bounded queue and its thread).

    `close()`, which logging calls at exit, gives the queued records up to MAIL_DRAIN_S to be
    handled.
    """

    def __init__(self, target: logging.Handler, capacity: int = MAIL_QUEUE_SIZE):
        super().__init__(target.level)
        self.target = target
        self.worker: BackgroundWorker[logging.LogRecord] = BackgroundWorker(
            target.handle, capacity, name="stockdash-error-mail"
        )
        self.dropped = 0

    @property
    def capacity(self) -> int:
        """How many records may wait."""
        return self.worker.capacity

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record; when the queue is full, drop it and say so on stderr."""
        if not self.worker.put(record):
            self.dropped += 1
            sys.stderr.write(
                f"stockdash: error e-mail dropped, {self.capacity} already waiting "
                f"({self.dropped} dropped so far): {record.getMessage()[:200]}\n"
            )

    def drain(self, timeout: float) -> bool:
        """Wait until every queued record was handled, at most `timeout` s; True if so."""
        return self.worker.drain(timeout)

    def close(self) -> None:
        """Let the queued records go out (at most MAIL_DRAIN_S), then close."""
        self.drain(MAIL_DRAIN_S)
        super().close()


class MailHandler(SMTPHandler):
    """SMTPHandler that reports a failed delivery in one line rather than a traceback."""

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        sys.stderr.write(
            f"stockdash: could not e-mail an error report to {', '.join(self.toaddrs)} via "
            f"{self.mailhost}:{self.mailport}: {type(error).__name__}: {error}\n"
        )


def configure_logging(app: Flask) -> None:
    """Attach handlers to the app's logger according to LOG_LEVEL, LOG_FILE and MAIL_*."""
    logger = app.logger
    logger.setLevel(app.config["LOG_LEVEL"])
    formatter = logging.Formatter(LOG_FORMAT)
    # Flask adds a stderr handler of its own; replace it so that logs go to stdout, where
    # Docker and gunicorn collect them.
    for handler in list(logger.handlers):
        logger.removeHandler(handler)

    stream = logging.StreamHandler(sys.stdout)
    stream.setFormatter(formatter)
    logger.addHandler(stream)

    if app.config.get("LOG_FILE"):
        file_handler = RotatingFileHandler(
            app.config["LOG_FILE"], maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
        )
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)

    mail_handler = build_mail_handler(app)
    if mail_handler is not None:
        logger.addHandler(mail_handler)


def build_mail_handler(app: Flask) -> BackgroundHandler | None:
    """A handler e-mailing unhandled errors to ADMINS in the background, when MAIL_SERVER is
    configured."""
    config = app.config
    if not config.get("MAIL_SERVER") or not config.get("ADMINS"):
        return None
    credentials = None
    if config.get("MAIL_USERNAME"):
        credentials = (config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    handler = MailHandler(
        mailhost=(config["MAIL_SERVER"], config["MAIL_PORT"]),
        fromaddr=config.get("MAIL_FROM") or f"no-reply@{config['MAIL_SERVER']}",
        toaddrs=config["ADMINS"],
        subject="stockdash failure",
        credentials=credentials,
        secure=() if config.get("MAIL_USE_TLS") else None,
        timeout=MAIL_TIMEOUT_S,
    )
    handler.setLevel(logging.ERROR)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return BackgroundHandler(handler)
