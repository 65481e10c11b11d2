"""`flask prices delete` and `flask prices rollups --check|--rebuild` on SQLite and PostgreSQL:
exact counts of what was removed, confirmation, unknown tickers, the demo set, and rollups that
disagree with the prices (changed or loaded behind the app's back)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from app.extensions import db
from app.prices.demo import generate_rows
from tests.support.data import MINUTE_TICKER, store_prices, write_minute_bars


def run(runner, *args, input=None):
    """Invoke `flask prices ARGS`; a crash (anything but SystemExit) fails the test."""
    result = runner.invoke(args=["prices", *map(str, args)], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result


def count(app, table: str) -> int:
    with app.app_context():
        value = db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        db.session.remove()
        return value


def execute(app, sql: str) -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text(sql))


def load_two(runner, tmp_path) -> None:
    """MIN: two days of minute bars (with levels); DAY: 20 daily bars (none)."""
    minutes = tmp_path / "minutes.csv"
    write_minute_bars(minutes, days=2)
    days = tmp_path / "days.csv"
    days.write_text(
        "Date,Open,High,Low,Close,Volume,Name\n"
        + "".join(f"2020-01-{d:02d},1,2,0.5,1.5,100,DAY\n" for d in range(1, 21))
    )
    assert run(runner, "import", minutes, days).exit_code == 0


def test_delete_removes_everything_of_the_ticker_and_counts_it(app, runner, tmp_path):
    load_two(runner, tmp_path)
    result = run(runner, "delete", MINUTE_TICKER.lower(), "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"Deleted 1 tickers ({MINUTE_TICKER}): 0 notes, 0 watchlist entries, 1 ticker summaries, "
        "780 price rows, 14 hourly rollup rows, 2 daily rollup rows, 1 rollup settings, "
        "1 ticker names."
    )
    for table in ("stock_prices_hourly", "stock_prices_daily", "stock_rollup_tickers"):
        assert count(app, table) == 0
    assert count(app, "stock_prices") == 20
    assert count(app, "stock_tickers") == 1
    assert run(runner, "rollups", "--check").exit_code == 0


def test_delete_asks_first(app, runner, tmp_path):
    load_two(runner, tmp_path)
    refused = run(runner, "delete", "DAY", input="n\n")
    assert refused.exit_code == 1
    question = "Delete DAY with their prices, rollups, names, watchlist entries and notes?"
    assert question in refused.output
    assert count(app, "stock_prices") == 800
    accepted = run(runner, "delete", "DAY", input="y\n")
    assert accepted.exit_code == 0
    deleted = (
        "Deleted 1 tickers (DAY): 0 notes, 0 watchlist entries, 1 ticker summaries, 20 price rows"
    )
    assert deleted in accepted.output
    assert count(app, "stock_prices") == 780


def test_unknown_or_invalid_tickers_delete_nothing(app, runner, tmp_path):
    load_two(runner, tmp_path)
    unknown = run(runner, "delete", "DAY", "NOPE", "--yes")
    assert unknown.exit_code == 1
    assert "Unknown tickers (no prices, no name): NOPE; nothing deleted." in unknown.output
    invalid = run(runner, "delete", "bad\x00ticker", "--yes")
    assert invalid.exit_code == 1
    assert "not a ticker symbol" in invalid.output
    assert count(app, "stock_prices") == 800
    assert run(runner, "delete", "--yes").exit_code == 2  # no ticker, no --demo
    assert run(runner, "delete", "DAY", "--demo", "--yes").exit_code == 2


def test_delete_demo_removes_only_the_demo_set(app, runner, tmp_path):
    assert run(runner, "delete", "--demo", "--yes").output.strip() == (
        "No demo tickers are stored: nothing deleted."
    )
    assert run(runner, "demo").exit_code == 0
    load_two(runner, tmp_path)
    result = run(runner, "delete", "--demo", "--yes")
    assert result.exit_code == 0, result.output
    assert f" 10 ticker summaries, {len(generate_rows())} price rows, " in result.output
    assert "Deleted 10 tickers (ACME, BOLT, " in result.output
    assert count(app, "stock_prices") == 800
    assert count(app, "stock_tickers") == 2


def test_rollups_check_finds_a_changed_level_and_rebuild_repairs_it(app, runner, tmp_path):
    load_two(runner, tmp_path)
    assert run(runner, "rollups", "--check").output.splitlines() == [
        "stock_prices_hourly: 0 mismatched rows",
        "stock_prices_daily: 0 mismatched rows",
    ]
    execute(app, "UPDATE stock_prices_hourly SET high = 999 WHERE row_count = 30")
    execute(app, "DELETE FROM stock_prices_daily WHERE time > '2021-01-04 12:00'")
    broken = run(runner, "rollups", "--check")
    assert broken.exit_code == 1
    # Each changed row counts twice (the right one is missing, the wrong one extra).
    assert "stock_prices_hourly: 4 mismatched rows" in broken.output
    assert "stock_prices_daily: 1 mismatched rows" in broken.output
    rebuilt = run(runner, "rollups", "--rebuild")
    assert rebuilt.output.strip() == (
        "Rebuilt: stock_prices_hourly 14 rows, stock_prices_daily 2 rows"
    )
    assert run(runner, "rollups", "--check").exit_code == 0


def test_rebuild_gives_levels_to_rows_loaded_behind_the_apps_back(app, runner):
    with app.app_context():
        store_prices("BACK", [datetime(2021, 1, 4) + timedelta(minutes=10 * n) for n in range(18)])
        db.session.commit()
        db.session.remove()
    assert run(runner, "rollups", "--check").exit_code == 0  # no levels yet: served raw
    assert run(runner, "rollups", "--rebuild").exit_code == 0
    assert count(app, "stock_prices_hourly") == 3
    assert count(app, "stock_prices_daily") == 1
    assert run(runner, "rollups", "--check").exit_code == 0
    assert run(runner, "rollups").exit_code == 2
