"""The rollups (`app.prices.rollups`) kept exact by the importer, on SQLite and PostgreSQL: minute
bars get hourly and daily levels equal to the raw aggregate, daily bars none, `--replace` updates
them, and a batch that fails leaves prices and rollups as they were, together."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import text

from app.extensions import db
from app.prices.importing import open_writer
from app.prices.rollups import Runner, check
from tests.support.data import MINUTE_TICKER, write_minute_bars


def run(runner, *args):
    """Invoke `flask prices ARGS`; a crash (anything but SystemExit) fails the test."""
    result = runner.invoke(args=["prices", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def fetch(app, sql: str, **params):
    with app.app_context():
        rows = db.session.execute(text(sql), params).all()
        db.session.remove()
        return [tuple(row) for row in rows]


def mismatches(app) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as connection:
        return check(Runner.for_sqlalchemy(connection))


def as_time(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def test_minute_bars_get_both_levels_equal_to_the_raw_aggregate(app, runner, tmp_path):
    path = tmp_path / "minutes.csv"
    rows = write_minute_bars(path, days=3)
    result = run(runner, "import", path, "--batch-size", 250)
    assert result.exit_code == 0, result.output
    assert fetch(app, "SELECT ticker, hourly, daily FROM stock_rollup_tickers") == [
        (MINUTE_TICKER, True, True)
    ]
    assert mismatches(app) == {"stock_prices_hourly": 0, "stock_prices_daily": 0}
    hours = fetch(app, "SELECT time, open, close, volume, row_count FROM stock_prices_hourly "
                  "ORDER BY time")  # fmt: skip
    # 09:30-15:59 a day: a half hour, then six whole hours.
    assert len(hours) == 3 * 7
    assert sum(row[4] for row in hours) == rows
    first = hours[0]
    assert (as_time(first[0]), first[3], first[4]) == (
        datetime(2021, 1, 4, 9), sum(range(100, 130)), 30
    )
    days = fetch(app, "SELECT time, row_count, volume FROM stock_prices_daily ORDER BY time")
    assert [(as_time(day), count) for day, count, _ in days] == [
        (datetime(2021, 1, d), 390) for d in (4, 5, 6)
    ]
    assert days[0][2] == sum(range(100, 490))


def test_daily_bars_get_no_levels(app, runner, tmp_path):
    path = tmp_path / "daily.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume,Name\n"
        + "".join(f"2020-01-{d:02d},1,2,0.5,1.5,100,DAYS\n" for d in range(1, 29))
    )
    assert run(runner, "import", path).exit_code == 0
    assert fetch(app, "SELECT count(*) FROM stock_rollup_tickers") == [(0,)]
    assert fetch(app, "SELECT count(*) FROM stock_prices_daily") == [(0,)]


def test_replace_updates_the_touched_buckets(app, runner, tmp_path):
    path = tmp_path / "minutes.csv"
    write_minute_bars(path, days=2)
    assert run(runner, "import", path).exit_code == 0
    lines = path.read_text().splitlines()
    # New values for the 10:00-10:59 rows of the first day (lines 31-90), a new high among them.
    changed = [lines[0]]
    for line in lines[31:91]:
        stamp, ticker, _open, _high, low, close, volume = line.split(",")
        changed.append(f"{stamp},{ticker},50,500,{low},{close},{int(volume) * 2}")
    replacement = tmp_path / "replacement.csv"
    replacement.write_text("\n".join(changed) + "\n")
    assert run(runner, "import", replacement, "--replace").exit_code == 0
    assert mismatches(app) == {"stock_prices_hourly": 0, "stock_prices_daily": 0}
    hour = fetch(app, "SELECT open, high, volume FROM stock_prices_hourly WHERE ticker = :t "
                 "ORDER BY time LIMIT 1 OFFSET 1", t=MINUTE_TICKER)  # fmt: skip
    assert hour == [(50.0, 500.0, 2 * sum(range(130, 190)))]
    day = fetch(app, "SELECT high FROM stock_prices_daily ORDER BY time LIMIT 1")
    assert day == [(500.0,)]


FAILING_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER fail_daily BEFORE INSERT ON stock_prices_daily "
        "BEGIN SELECT RAISE(ABORT, 'daily rollup refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION fail_daily() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'daily rollup refused'; END $$",
        "CREATE TRIGGER fail_daily BEFORE INSERT ON stock_prices_daily "
        "FOR EACH ROW EXECUTE FUNCTION fail_daily()",
    ],
}
DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER fail_daily"],
    "postgresql": ["DROP TRIGGER fail_daily ON stock_prices_daily", "DROP FUNCTION fail_daily()"],
}


def execute_all(app, statements):
    with app.app_context(), db.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


@pytest.mark.parametrize("background", [False, True])
def test_a_failing_batch_leaves_prices_and_rollups_together(app, tmp_path, background):
    """The database refuses the daily rollup of the second batch (a trigger, after its prices
    and hourly rows are written): that whole batch rolls back, the first stays, and the levels
    still equal the aggregate of the stored rows."""
    first = [("FAIL", datetime(2021, 1, 4, 9, m), 1.0, 2.0, 0.5, 1.5, 10) for m in range(3)]
    second = [("FAIL", datetime(2021, 1, 5, 9, m), 1.0, 2.0, 0.5, 1.5, 10) for m in range(3)]
    with app.app_context():
        dialect = db.engine.dialect.name
        writer = open_writer(db.engine)
        try:
            assert writer.write(first) == (3, 0)
            execute_all(app, FAILING_TRIGGERS[dialect])
            with pytest.raises(Exception, match="daily rollup refused"):
                writer.write(second)
        finally:
            writer.close()
        execute_all(app, DROP_TRIGGERS[dialect])
    assert fetch(app, "SELECT count(*) FROM stock_prices") == [(3,)]
    assert fetch(app, "SELECT count(*) FROM stock_prices_hourly") == [(1,)]
    assert mismatches(app) == {"stock_prices_hourly": 0, "stock_prices_daily": 0}
