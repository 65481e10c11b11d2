"""Migration 0006_notes on SQLite and PostgreSQL: the schema matches the models, the database
itself refuses a self-follow and removes a user's notes and follows with the user, and the
migration goes down and up again."""

from __future__ import annotations

import flask_migrate
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.extensions import db
from tests.support.apps import make_config
from tests.support.databases import schema_differences

USERS = (
    "INSERT INTO users (id, email, first_name, last_name, password_hash, session_token, "
    "login_count, about_me) VALUES "
    "(1, 'a@example.com', 'A', 'A', 'x', 't1', 0, ''), "
    "(2, 'b@example.com', 'B', 'B', 'x', 't2', 0, '')"
)


def test_notes_migration_matches_the_models_and_enforces_its_rules(empty_database):
    app = create_app(make_config(empty_database))
    with app.app_context():
        flask_migrate.upgrade(revision="0005_watchlists")
        with db.engine.begin() as connection:
            connection.execute(text(USERS))
            connection.execute(text("INSERT INTO stock_tickers (ticker) VALUES ('AAA')"))
        flask_migrate.upgrade(revision="head")
        with db.engine.connect() as connection:
            assert schema_differences(connection) == []
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO follows (follower_id, followed_id, created_at) "
                "VALUES (1, 2, CURRENT_TIMESTAMP), (2, 1, CURRENT_TIMESTAMP)"
            ))  # fmt: skip
            connection.execute(text(
                "INSERT INTO notes (user_id, ticker, as_of, body, created_at) "
                "VALUES (1, 'AAA', '2020-01-02', 'hello', CURRENT_TIMESTAMP)"
            ))  # fmt: skip
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO follows (follower_id, followed_id, created_at) "
                "VALUES (2, 2, CURRENT_TIMESTAMP)"
            ))  # fmt: skip
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM users WHERE id = 1"))
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM notes")).scalar_one() == 0
            assert connection.execute(text("SELECT count(*) FROM follows")).scalar_one() == 0
        flask_migrate.downgrade(revision="0005_watchlists")
        flask_migrate.upgrade(revision="head")
        with db.engine.connect() as connection:
            assert schema_differences(connection) == []
        db.engine.dispose()
