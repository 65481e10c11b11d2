"""last_seen_at is written at most every 5 minutes per user, in one UPDATE, and never by
requests that do not need the user (static files, dashboard callbacks, the healthcheck)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event, update

from app.extensions import db
from app.models import User


@pytest.fixture
def last_seen_updates(app):
    """The UPDATE statements that write users.last_seen_at, as they reach the database."""
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE USERS") and "last_seen_at" in statement:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    yield statements
    event.remove(engine, "before_cursor_execute", capture)


def make_stale(app, user_id, minutes):
    with app.app_context():
        then = datetime.now(UTC) - timedelta(minutes=minutes)
        db.session.execute(update(User).where(User.id == user_id).values(last_seen_at=then))
        db.session.commit()


def seen(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).last_seen_at


def test_written_once_per_five_minutes(app, client, auth, user, last_seen_updates):
    auth.login()
    make_stale(app, user, 6)
    last_seen_updates.clear()
    for _ in range(5):
        assert client.get("/settings/profile/").status_code == 200
    assert len(last_seen_updates) == 1
    first = seen(app, user)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=4)):
        client.get(f"/users/{user}/")
    assert len(last_seen_updates) == 1 and seen(app, user) == first
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5, seconds=5)):
        client.get(f"/users/{user}/")
    assert len(last_seen_updates) == 2


def test_quiet_requests_write_nothing(app, client, auth, user, last_seen_updates):
    auth.login()
    make_stale(app, user, 60)
    last_seen_updates.clear()
    client.get("/static/css/site.css").close()
    client.get("/healthcheck/")
    client.post("/dash/_dash-update-component", json={"output": "x", "inputs": []})
    client.get("/dash/_dash-layout")
    assert last_seen_updates == []
    client.get("/")  # a page: the user is looked at, so seen
    assert len(last_seen_updates) == 1


def test_anonymous_requests_write_nothing(app, client, user, last_seen_updates):
    client.get("/")
    client.get("/login/")
    assert last_seen_updates == []
