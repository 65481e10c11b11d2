"""Property: after any imports and replacements (and deletes), on SQLite and PostgreSQL, every
rollup level equals the aggregate of the stored rows, and `price_series` answers from the levels
exactly what it answers from the raw rows (same buckets, same values), whatever the range."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.extensions import db
from app.prices.deleting import delete_tickers, known_tickers
from app.prices.importing import open_writer
from app.prices.queries import price_series
from app.prices.queries.series import bucket_dialect, level_for
from app.prices.rollups import DAILY, HOURLY, Runner, check
from tests.support.apps import TABLES

BASE = datetime(2021, 1, 4)
TICKERS = ("AAA", "BBB", "CCC")
price = st.sampled_from([1.0, 1.5, 2.25, 3.0, 10.0, 0.5])
optional_price = st.one_of(st.none(), price)
row = st.tuples(
    st.sampled_from(TICKERS),
    # Ten days; a few minutes an hour, so that some hours and days hold several rows.
    st.builds(
        lambda day, hour, minute: BASE + timedelta(days=day, hours=hour, minutes=minute),
        st.integers(0, 9),
        st.integers(0, 23),
        st.sampled_from([0, 1, 30, 59]),
    ),
    optional_price,
    optional_price,
    optional_price,
    price,
    st.one_of(st.none(), st.integers(0, 10**12)),
)
import_step = st.tuples(st.just("import"), st.lists(row, min_size=1, max_size=40), st.booleans())
delete_step = st.tuples(st.just("delete"), st.sets(st.sampled_from(TICKERS), min_size=1))
steps = st.lists(st.one_of(import_step, import_step, delete_step), min_size=1, max_size=5)
query = st.tuples(
    st.integers(0, 10 * 24 * 60),  # start, minutes after BASE
    st.integers(1, 11 * 24 * 60),  # length in minutes
    st.sampled_from([3, 5, 10, 30, 100]),  # max_points: widths from hours to weeks
)


def empty_tables() -> None:
    with db.engine.begin() as connection:
        for table in TABLES:
            connection.execute(text(f"DELETE FROM {table}"))


def apply_step(step) -> None:
    """Delete tickers (those stored), or write one batch the way the importer does: one row per
    key (the last with replace)."""
    if step[0] == "delete":
        delete_tickers(db.engine, known_tickers(db.engine, step[1]))
        return
    _kind, rows, replace = step
    unique = {}
    for record in rows:
        if replace or (record[0], record[1]) not in unique:
            unique[record[0], record[1]] = record
    writer = open_writer(db.engine, replace)
    try:
        writer.write(list(unique.values()))
    finally:
        writer.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps, queries=st.lists(query, min_size=1, max_size=4))
def test_levels_and_series_equal_the_raw_aggregate(app, steps, queries):
    with app.app_context():
        empty_tables()
        for step in steps:
            apply_step(step)
        with db.engine.connect() as connection:
            assert check(Runner.for_sqlalchemy(connection)) == {
                "stock_prices_hourly": 0,
                "stock_prices_daily": 0,
            }
            for start, length, max_points in queries:
                low = BASE + timedelta(minutes=start)
                high = low + timedelta(minutes=length)
                arguments = (TICKERS, low, high, max_points)
                assert price_series(*arguments, connection=connection) == price_series(
                    *arguments, connection=connection, use_rollups=False
                )
        empty_tables()


def test_the_levels_serve_the_whole_range(app):
    """A ticker with every hour dense: daily buckets come from the daily level, 12-hour ones
    from the hourly level, and both equal the raw aggregate with ranges cut mid-bucket."""
    rows = [
        ("DENSE", BASE + timedelta(minutes=15 * n), 1.0 + n % 7, 9.0 - n % 5, 0.5, 2.0 + n % 3, n)
        for n in range(4 * 24 * 10)
    ]
    with app.app_context():
        apply_step(("import", rows, False))
        with db.engine.connect() as connection:
            dialect = bucket_dialect(connection)
            assert level_for(connection, dialect, ["DENSE"], timedelta(days=2)) == {"DENSE": DAILY}
            assert level_for(connection, dialect, ["DENSE"], timedelta(hours=12)) == {
                "DENSE": HOURLY
            }
            assert level_for(connection, dialect, ["DENSE"], timedelta(minutes=30)) == {}
            for max_points in (3, 10, 30):
                low, high = BASE + timedelta(hours=5, minutes=7), BASE + timedelta(days=9, hours=3)
                arguments = (["DENSE"], low, high, max_points)
                series = price_series(*arguments, connection=connection)
                assert series == price_series(*arguments, connection=connection, use_rollups=False)
                assert series["DENSE"].bucket >= timedelta(hours=12)


def test_a_range_inside_one_level_bucket_is_read_raw(app):
    """Three points asked of 40 minutes: a 1-hour width, the hourly level, but no whole hour in
    the range; every row is counted once."""
    ten = BASE + timedelta(hours=10)
    rows = [("SHORT", ten + timedelta(minutes=m), 1.0, 2.0, 0.5, 1.0 + m, m) for m in range(60)]
    with app.app_context():
        apply_step(("import", rows, False))
        with db.engine.connect() as connection:
            low, high = ten + timedelta(minutes=10), ten + timedelta(minutes=50)
            arguments = (["SHORT"], low, high, 3)
            series = price_series(*arguments, connection=connection)
            assert series == price_series(*arguments, connection=connection, use_rollups=False)
            assert series["SHORT"].bucket == timedelta(hours=1)
            assert series["SHORT"].volume == [sum(range(10, 50))]
