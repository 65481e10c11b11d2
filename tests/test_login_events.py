"""The sign-in history: every login attempt against an account is recorded, within bounds, and
goes with the account."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select

from app.accounts import events
from app.extensions import db
from app.models import LoginEvent, LoginOutcome, User, utcnow
from tests.support.users import DEFAULT_EMAIL, AuthActions, create_user


def history(app, user_id):
    """The account's events, oldest first."""
    with app.app_context():
        rows = db.session.scalars(
            select(LoginEvent).where(LoginEvent.user_id == user_id).order_by(LoginEvent.id)
        ).all()
        return [(e.outcome, e.address, e.user_agent, e.remember) for e in rows]


def test_every_attempt_on_an_account_is_recorded(make_app):
    app = make_app(LOGIN_RATE_LIMIT="2 per minute", PROXY_FIX=1)
    user = create_user(app)
    client = app.test_client()
    client.environ_base.update(
        HTTP_USER_AGENT="Agent/1.0 " + "x" * 300 + "\x00", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    auth = AuthActions(client)
    assert auth.login(password="wrong password").status_code == 200
    assert auth.login(remember=True).status_code == 302
    auth.logout()
    assert auth.login(password="wrong again").status_code == 200
    assert auth.login(password="and again").status_code == 429  # the address's 2 are used
    assert auth.login(email="nobody@example.com", password="whatever").status_code == 429
    rows = history(app, user)
    assert [row[0] for row in rows] == [
        LoginOutcome.WRONG_PASSWORD,
        LoginOutcome.SUCCESS,
        LoginOutcome.WRONG_PASSWORD,
        LoginOutcome.RATE_LIMITED,
    ]
    assert {row[1] for row in rows} == {"203.0.113.9"}  # the client behind the proxy
    agent = rows[0][2]
    assert len(agent) == 200 and agent.startswith("Agent/1.0 x")
    assert [row[3] for row in rows] == [False, True, False, False]


def test_unknown_addresses_record_nothing(app, auth, user):
    auth.login(email="nobody@example.com")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginEvent)) == 0


def test_deleting_a_user_deletes_its_events(app, auth, user):
    other = create_user(app, email="grace@example.com")
    auth.login(password="wrong password")
    auth.login(email="grace@example.com")
    with app.app_context():
        db.session.execute(delete(User).where(User.id == user))
        db.session.commit()
        owners = db.session.scalars(select(LoginEvent.user_id)).all()
    assert owners == [other]


def test_retention_keeps_the_newest_and_drops_the_old(app, auth, user, monkeypatch):
    monkeypatch.setattr(events, "LOGIN_EVENTS_KEPT", 3)
    other = create_user(app, email="grace@example.com")
    old = utcnow().replace(year=utcnow().year - 1)
    with app.app_context():
        rows = [
            {"user_id": uid, "at": old, "outcome": "success", "address": "", "user_agent": "",
             "remember": False}
            for uid in (user, other)
        ]  # fmt: skip
        db.session.execute(insert(LoginEvent), rows)
        db.session.commit()
    for _ in range(4):
        auth.login(password="wrong password")
    rows = history(app, user)
    assert len(rows) == 3 and {row[0] for row in rows} == {LoginOutcome.WRONG_PASSWORD}
    assert len(history(app, other)) == 1  # another account's rows are never touched


def test_login_still_counts_with_its_event(app, auth, user):
    auth.login()
    with app.app_context():
        stored = db.session.scalar(select(User).where(User.email == DEFAULT_EMAIL))
        assert stored.login_count == 1 and stored.last_seen_at is not None
