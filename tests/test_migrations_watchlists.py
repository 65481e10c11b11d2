"""Migration 0005_watchlists on SQLite and PostgreSQL: the price summary is built from the rows
already stored, the schema matches the models, and it goes down and up again."""

from __future__ import annotations

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.support.apps import make_config
from tests.support.databases import postgres_admin_connection, scratch_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """The URL of a database with no tables yet."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "migrations.db")
        return
    postgres_admin_connection().close()
    with scratch_database("stockdash_migrations") as url:
        yield url


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
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        flask_migrate.downgrade(revision="0004_accounts")
        flask_migrate.upgrade(revision="head")
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM ticker_stats")).scalar_one() == 1
        db.engine.dispose()
