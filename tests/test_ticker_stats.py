"""ticker_stats stays exactly what stock_prices says, after imports, --replace, the demo data, a
rebuild and forgetting tickers; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import datetime

import pytest
from sqlalchemy import text

from app.extensions import db
from app.prices.ticker_stats import rebuild_ticker_stats
from tests.support.users import create_user

HEADER = ("Date", "Open", "High", "Low", "Close", "Volume", "Name")


def write_prices(path, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        writer.writerows(rows)


def import_file(runner, *args):
    result = runner.invoke(args=["prices", "import", *map(str, args)])
    assert result.exit_code == 0, result.output


def as_time(value):
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def stored_stats(app):
    with app.app_context():
        rows = db.session.execute(text(
            "SELECT ticker, first_time, last_time, last_close, previous_close, change_pct "
            "FROM ticker_stats ORDER BY ticker"
        )).all()  # fmt: skip
        db.session.remove()
    return [(r[0], as_time(r[1]), as_time(r[2]), *r[3:]) for r in rows]


def expected_stats(app):
    """The summary computed the slow way, from every stored row."""
    with app.app_context():
        rows = db.session.execute(
            text("SELECT ticker, time, close FROM stock_prices ORDER BY ticker, time")
        ).all()
        db.session.remove()
    by_ticker: dict[str, list] = {}
    for ticker, time, close in rows:
        by_ticker.setdefault(ticker, []).append((as_time(time), close))
    expected = []
    for ticker, bars in sorted(by_ticker.items()):
        last, previous = bars[-1][1], (bars[-2][1] if len(bars) > 1 else None)
        change = (last - previous) * 100.0 / previous if previous else None
        expected.append((ticker, bars[0][0], bars[-1][0], last, previous, change))
    return expected


def assert_exact(app):
    stored, expected = stored_stats(app), expected_stats(app)
    assert [row[:5] for row in stored] == [row[:5] for row in expected]
    for got, want in zip(stored, expected, strict=True):
        assert got[5] == pytest.approx(want[5]) if want[5] is not None else got[5] is None


def test_stats_exact_after_imports_in_small_batches_and_replace(app, runner, tmp_path):
    first = tmp_path / "first.csv"
    write_prices(first, [(f"2020-03-{d:02d}", 1, 2, 0.5, 10 + d, 100, "AAA") for d in range(2, 20)]
                 + [("2020-03-05", 1, 2, 0.5, 7, 100, "ONE")])  # fmt: skip
    import_file(runner, "--batch-size", 4, first)
    assert_exact(app)
    assert stored_stats(app)[0][3:5] == (29.0, 28.0)
    # Older and newer rows of AAA, a new ticker, and rows already stored with other closes.
    second = tmp_path / "second.csv"
    write_prices(second, [("2020-02-28", 1, 2, 0.5, 5, 1, "AAA"), ("2020-03-19", 1, 2, 0.5, 99, 1,
                 "AAA"), ("2020-03-20", 1, 2, 0.5, 30, 1, "AAA"), ("2020-03-21", 1, 2, 0.5, 0, 1,
                 "ZERO"), ("2020-03-22", 1, 2, 0.5, 3, 1, "ZERO")])  # fmt: skip
    import_file(runner, "--batch-size", 2, second)
    assert_exact(app)
    aaa = stored_stats(app)[0]
    assert aaa[1] == datetime(2020, 2, 28) and aaa[3:5] == (30.0, 29.0)  # 99 not replaced
    zero = stored_stats(app)[2]
    assert zero[0] == "ZERO" and zero[5] is None  # no change against a close of 0
    import_file(runner, "--replace", second)
    assert_exact(app)
    assert stored_stats(app)[0][3:5] == (30.0, 99.0)


def test_stats_of_the_demo_data_and_the_rebuild_agree(app, runner):
    assert runner.invoke(args=["prices", "demo"]).exit_code == 0
    assert_exact(app)
    before = stored_stats(app)
    with app.app_context():
        db.session.execute(text("UPDATE ticker_stats SET last_close = -1"))
        assert rebuild_ticker_stats(db.session) == len(before)
        db.session.commit()
    assert stored_stats(app) == before


def test_rebuild_command_after_rows_loaded_behind_the_app(app, runner):
    with app.app_context():
        db.session.execute(text("INSERT INTO stock_tickers (ticker) VALUES ('RAW')"))
        db.session.execute(text(
            "INSERT INTO stock_prices (ticker, time, close) VALUES "
            "('RAW', '2021-01-04 00:00:00', 4.0), ('RAW', '2021-01-05 00:00:00', 5.0)"
        ))  # fmt: skip
        db.session.commit()
    assert stored_stats(app) == []
    result = runner.invoke(args=["prices", "stats", "--rebuild"])
    assert result.exit_code == 0, result.output
    assert "Rebuilt the price summary of 1 ticker(s)." in result.output
    assert_exact(app)


def test_prices_delete_removes_their_watchlist_entries_and_stats_and_counts_them(
    app, runner, tmp_path
):
    path = tmp_path / "p.csv"
    write_prices(path, [(f"2020-01-0{d}", 1, 2, 0.5, d, 1, t) for d in (2, 3) for t in "ABC"])
    import_file(runner, path)
    user = create_user(app)
    with app.app_context():
        db.session.execute(
            text("INSERT INTO watchlist (user_id, ticker, added_at) VALUES (:u, :t, :at)"),
            [{"u": user, "t": t, "at": datetime(2020, 1, 1)} for t in "ABC"],
        )
        db.session.commit()
    result = runner.invoke(args=["prices", "delete", "A", "C", "--yes"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Deleted 2 tickers (A, C): 0 notes, 2 watchlist entries, 2 ticker summaries, 4 price rows, "
        "0 hourly rollup rows, 0 daily rollup rows, 0 rollup settings, 2 ticker names."
    )
    with app.app_context():
        assert db.session.execute(text("SELECT ticker FROM watchlist")).scalars().all() == ["B"]
        db.session.remove()
    assert_exact(app)
    assert [row[0] for row in stored_stats(app)] == ["B"]


def test_watchlist_and_stats_go_with_their_ticker_and_user(app, runner, tmp_path):
    path = tmp_path / "p.csv"
    write_prices(path, [("2020-01-02", 1, 2, 0.5, 1, 1, "AAA")])
    import_file(runner, path)
    user = create_user(app)
    with app.app_context():
        insert = text("INSERT INTO watchlist (user_id, ticker, added_at) VALUES (:u, 'AAA', :at)")
        db.session.execute(insert, {"u": user, "at": datetime(2020, 1, 1)})
        db.session.commit()
        db.session.execute(text("DELETE FROM users"))
        db.session.commit()
        assert db.session.execute(text("SELECT count(*) FROM watchlist")).scalar_one() == 0
        user = create_user(app)
        db.session.execute(insert, {"u": user, "at": datetime(2020, 1, 1)})
        db.session.execute(text("DELETE FROM stock_prices"))
        db.session.execute(text("DELETE FROM stock_tickers"))
        db.session.commit()
        counts = [db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("watchlist", "ticker_stats")]  # fmt: skip
        assert counts == [0, 0]
