"""Migration 0004_accounts on SQLite and PostgreSQL: existing users keep their rows and get an
empty about_me, the schema matches the models, and it goes down and up again."""

from __future__ import annotations

import flask_migrate
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.support.apps import make_config
from tests.support.databases import schema_differences


def test_accounts_migration_keeps_users_and_matches_the_models(empty_database):
    app = create_app(make_config(empty_database))
    with app.app_context():
        flask_migrate.upgrade(revision="0003_rollups")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (email, first_name, last_name, password_hash, session_token) "
                "VALUES ('ada@example.com', 'Ada', 'Lovelace', 'x', 't')"
            ))  # fmt: skip
        flask_migrate.upgrade(revision="head")
        with db.engine.connect() as connection:
            row = connection.execute(text("SELECT about_me, last_seen_at FROM users")).one()
            assert tuple(row) == ("", None)
            assert schema_differences(connection) == []
        flask_migrate.downgrade(revision="0003_rollups")
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT email FROM users")).scalar_one()
        flask_migrate.upgrade(revision="head")
        db.engine.dispose()
