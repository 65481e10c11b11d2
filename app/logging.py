"""Logging: stdout always, a rotating file and error e-mails when configured."""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler, SMTPHandler

from flask import Flask

LOG_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


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


def build_mail_handler(app: Flask) -> SMTPHandler | None:
    """An SMTPHandler e-mailing unhandled errors to ADMINS, when MAIL_SERVER is configured."""
    config = app.config
    if not config.get("MAIL_SERVER") or not config.get("ADMINS"):
        return None
    credentials = None
    if config.get("MAIL_USERNAME"):
        credentials = (config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    handler = SMTPHandler(
        mailhost=(config["MAIL_SERVER"], config["MAIL_PORT"]),
        fromaddr=config.get("MAIL_FROM") or f"no-reply@{config['MAIL_SERVER']}",
        toaddrs=config["ADMINS"],
        subject="stockdash failure",
        credentials=credentials,
        secure=() if config.get("MAIL_USE_TLS") else None,
        timeout=5.0,
    )
    handler.setLevel(logging.ERROR)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return handler
