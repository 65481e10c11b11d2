"""`users.last_seen_at`: when the analyst last used the site, written at most every
LAST_SEEN_EVERY per user.

After a response to a request that loaded the logged-in user anyway (a page that needs a login),
the time is written only if the one stored is older than LAST_SEEN_EVERY: one conditional
UPDATE, whose WHERE repeats the age check so that several workers serving the same user in the
same moment write once. Requests that never look at the user (static files) write nothing, and
neither do the dashboard's callbacks and assets (under /dash/_), which the page fires many times
a minute. /healthcheck/ is answered before Flask (app.health) and never reaches this.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g, request
from sqlalchemy import or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.humanize import aware
from app.models import User, utcnow

LAST_SEEN_EVERY = timedelta(minutes=5)
QUIET_PREFIXES = ("/dash/_", "/static/")


def is_due(user: User, now) -> bool:
    """Whether `user`'s stored time is older than LAST_SEEN_EVERY (or missing)."""
    return user.last_seen_at is None or now - aware(user.last_seen_at) >= LAST_SEEN_EVERY


def touch_last_seen(user: User) -> None:
    """Write `user`'s last_seen_at if it is due, on a connection of its own (so nothing the view
    left in the session is committed with it); a database error is logged, not raised."""
    now = utcnow()
    if not is_due(user, now):
        return
    statement = (
        update(User)
        .where(User.id == user.id)
        .where(or_(User.last_seen_at.is_(None), User.last_seen_at < now - LAST_SEEN_EVERY))
        .values(last_seen_at=now)
    )
    try:
        with db.engine.begin() as connection:
            connection.execute(statement)
    except SQLAlchemyError as error:
        current_app.logger.warning("Could not record when user %s was seen: %s", user.id, error)
        return
    # What the loaded user says from now on, without marking it changed in the ORM session.
    set_committed_value(user, "last_seen_at", now)


def init_activity(app: Flask) -> None:
    """Record, after each response, that the logged-in user was seen (see the module)."""

    @app.after_request
    def record_last_seen(response):
        user = g.get("_login_user")  # set only if this request loaded the user (Flask-Login)
        if user is not None and user.is_authenticated and not request.path.startswith(
            QUIET_PREFIXES
        ):
            touch_last_seen(user)
        return response
