"""Migration 0003_rollups: on SQLite and plain PostgreSQL its tables match the models and it goes
down and up again keeping the prices; on TimescaleDB (only where STOCKDASH_TIMESCALE_URL names a
database with the extension, which the development machine lacks) the levels are continuous
aggregates that answer exactly as the raw rows."""

from __future__ import annotations

import os
from datetime import datetime

import flask_migrate
import pytest
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db
from app.prices.importing import open_writer
from app.prices.rollups import Runner, check, rebuild
from tests.support.apps import make_config
from tests.support.data import store_prices
from tests.support.databases import schema_differences, scratch_database

TIMESCALE_VARIABLE = "STOCKDASH_TIMESCALE_URL"
LEVEL_TABLES = {"stock_prices_hourly", "stock_prices_daily", "stock_rollup_tickers"}



def test_rollups_migration_matches_the_models_and_goes_down_and_up(empty_database):
    app = create_app(make_config(empty_database))
    with app.app_context():
        flask_migrate.upgrade(revision="0002_timescaledb")
        store_prices("OLD", [datetime(2021, 1, 4, 9, m) for m in range(5)])
        db.session.commit()
        flask_migrate.upgrade(revision="head")
        with db.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) >= LEVEL_TABLES
            assert schema_differences(connection) == []
            # Rows from before the migration have no levels (served raw) until a rebuild.
            count = text("SELECT count(*) FROM stock_rollup_tickers")
            assert connection.execute(count).scalar() == 0
        with db.engine.begin() as connection:
            assert rebuild(Runner.for_sqlalchemy(connection))["stock_prices_hourly"] == 1
        flask_migrate.downgrade(revision="0002_timescaledb")
        with db.engine.connect() as connection:
            assert not LEVEL_TABLES & set(inspect(connection).get_table_names())
            assert connection.execute(text("SELECT count(*) FROM stock_prices")).scalar() == 5
        flask_migrate.upgrade(revision="head")
        db.engine.dispose()


@pytest.mark.skipif(
    not os.environ.get(TIMESCALE_VARIABLE),
    reason=f"{TIMESCALE_VARIABLE} is not set (no TimescaleDB server to migrate)",
)
def test_timescale_levels_are_continuous_aggregates_equal_to_the_raw_rows():
    with scratch_database("stockdash_timescale", os.environ[TIMESCALE_VARIABLE]) as url:
        app = create_app(make_config(url))
        with app.app_context():
            flask_migrate.upgrade(revision="head")
            rows = [("TS", datetime(2021, 1, 4, 9, m), 1.0 + m, 2, 0.5, 1.5, 10) for m in range(5)]
            writer = open_writer(db.engine)
            try:
                writer.write(rows)
            finally:
                writer.close()
            with db.engine.connect() as connection:
                run = Runner.for_sqlalchemy(connection)
                assert run.timescale
                assert check(run) == {"stock_prices_hourly": 0, "stock_prices_daily": 0}
            flask_migrate.downgrade(revision="0002_timescaledb")
            db.engine.dispose()
