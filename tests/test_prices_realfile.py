"""The real S&P 500 file (../shared/data): one full import per backend, then a second one, and
the query layer over it compared with pandas."""

from __future__ import annotations

import csv
import math
from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import text

from app.extensions import db
from app.prices import queries

ROWS, TICKERS, MISSING_OPENS, WARNINGS = 619_040, 505, 11, 20  # 11 missing opens + 9 closes out


@pytest.fixture(scope="module")
def frame(real_file) -> pd.DataFrame:
    return pd.read_csv(real_file, parse_dates=["date"])


def test_full_import_twice_and_queries(app, runner, real_file, frame, tmp_path):
    # The reports go to tmp_path: nothing is ever written beside the shared real file.
    listed, rejects = tmp_path / "warnings.csv", tmp_path / "rejects.csv"
    command = ["prices", "import", "--warnings", listed, "--rejects", rejects, real_file]
    first = runner.invoke(args=list(map(str, command)))
    assert first.exit_code == 0, first.output
    assert (
        f"{ROWS} rows read, {ROWS} inserted, 0 updated, 0 unchanged, 0 rejected, "
        f"{WARNINGS} warnings"
    ) in first.stdout
    # The warnings the summary counts are exactly those listed, with their lines and kinds.
    assert f"{WARNINGS} warnings (11 missing value, 9 close outside low-high), written to" in (
        first.stdout
    )
    with listed.open(newline="") as file:
        rows = list(csv.reader(file))[1:]
    assert len(rows) == WARNINGS
    assert sorted({row[2] for row in rows}) == ["close outside low-high", "missing value"]
    assert len({int(row[1]) for row in rows}) == WARNINGS  # one warning a line, each its own
    assert not rejects.exists()

    checksum_sql = text(
        "SELECT count(*), count(open), count(high), count(DISTINCT ticker), sum(volume), "
        "round(CAST(sum(close) AS NUMERIC), 4), min(time), max(time) FROM stock_prices"
    )
    with app.app_context():
        stored = db.session.execute(checksum_sql).one()
        tickers = db.session.execute(text("SELECT count(*) FROM stock_tickers")).scalar_one()
    assert stored[:4] == (ROWS, ROWS - MISSING_OPENS, ROWS - 8, TICKERS)
    assert int(stored[4]) == int(frame.volume.sum())
    assert float(stored[5]) == pytest.approx(frame.close.sum(), rel=1e-12)
    assert tickers == TICKERS

    second = runner.invoke(args=list(map(str, command)))
    assert second.exit_code == 0, second.output
    assert f"{ROWS} rows read, 0 inserted, 0 updated, {ROWS} unchanged, 0 rejected" in (
        second.stdout
    )
    with app.app_context():
        assert db.session.execute(checksum_sql).one() == stored

        # The query layer on real data (reusing this import: it is the slow part).
        listed = queries.list_tickers()
        assert len(listed) == TICKERS
        aapl = next(t for t in listed if t.ticker == "AAPL")
        assert (aapl.first, aapl.last) == (datetime(2013, 2, 8), datetime(2018, 2, 7))

        series = queries.price_series(["AAPL", "MSFT", "GOOGL"], max_points=300)
        assert all(0 < len(s) <= 300 and s.bucket is not None for s in series.values())
        raw = queries.price_series(["AAPL"], date(2017, 1, 1), date(2017, 12, 31))["AAPL"]
        expected = frame[(frame.Name == "AAPL") & (frame.date.dt.year == 2017)]
        assert raw.bucket is None
        assert raw.close == list(expected.close)

        figures = queries.summary(["AAPL"], date(2016, 1, 1), date(2016, 12, 31))["AAPL"]
        closes = frame[(frame.Name == "AAPL") & (frame.date.dt.year == 2016)].close
        returns = closes.pct_change().dropna()
        assert figures.days == len(closes)
        assert figures.period_return == pytest.approx(closes.iloc[-1] / closes.iloc[0] - 1)
        assert figures.volatility == pytest.approx(returns.std() * math.sqrt(252))
        assert figures.max_drawdown == pytest.approx((closes / closes.cummax() - 1).min())
        db.session.remove()
