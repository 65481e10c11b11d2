"""Migration 0005_watchlists on SQLite and PostgreSQL: the price summary is built from the rows
already stored, the schema matches the models, and it goes down and up again."""

from __future__ import annotations

import flask_migrate
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.support.apps import make_config
from tests.support.databases import schema_differences


def test_watchlists_migration_summarises_stored_prices_and_matches_the_models(empty_database):
    app = create_app(make_config(empty_database))
    with app.app_context():
        flask_migrate.upgrade(revision="0004_accounts")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO stock_tickers (ticker) VALUES ('AAA'), ('NONE')"))
            connection.execute(text(
                "INSERT INTO stock_prices (ticker, time, close) VALUES "
                "('AAA', '2020-01-02 00:00:00', 8.0), ('AAA', '2020-01-03 00:00:00', 10.0)"
            ))  # fmt: skip
        flask_migrate.upgrade(revision="head")
        with db.engine.connect() as connection:
            row = connection.execute(text(
                "SELECT ticker, last_close, previous_close, change_pct FROM ticker_stats"
            )).one()  # fmt: skip
            assert tuple(row) == ("AAA", 10.0, 8.0, 25.0)
            assert schema_differences(connection) == []
        flask_migrate.downgrade(revision="0004_accounts")
        flask_migrate.upgrade(revision="head")
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM ticker_stats")).scalar_one() == 1
        db.engine.dispose()
