"""The query layer against a pandas reference computed from the raw rows, on both backends."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from app.extensions import db
from app.prices import queries
from app.prices.importing import open_writer

START = datetime(2021, 3, 1, 9, 30)


def make_rows() -> list[tuple]:
    """Minute bars with gaps and missing values (AAA), daily bars (BBB), one bar (ONE)."""
    rng = np.random.default_rng(7)
    rows = []
    minutes = [START + timedelta(minutes=i) for i in range(3 * 24 * 60) if (i // 97) % 5 != 3]
    price = 100.0
    for i, when in enumerate(minutes):
        price = round(price * math.exp(rng.normal(0, 0.002)), 4)
        open_ = None if i % 13 == 0 else round(price * (1 + rng.normal(0, 0.001)), 4)
        high = None if i % 29 == 0 else round(price * 1.002, 4)
        low = None if i % 31 == 0 else round(price * 0.998, 4)
        volume = None if i % 17 == 0 else int(rng.integers(0, 10_000))
        rows.append(("AAA", when, open_, high, low, price, volume))
    day = datetime(2015, 1, 1)
    price = 50.0
    while day < datetime(2021, 1, 1):
        if day.weekday() < 5 and day.month != 8:  # every August missing: a gap
            price = round(price * math.exp(rng.normal(0.0003, 0.015)), 4)
            rows.append(("BBB", day, price, price * 1.01, price * 0.99, price, 1000))
        day += timedelta(days=1)
    rows.append(("ONE", datetime(2020, 6, 1, 12), 1.0, 2.0, 0.5, 1.5, 10))
    return rows


ROWS = make_rows()
FRAME = pd.DataFrame(ROWS, columns=["ticker", "time", "open", "high", "low", "close", "volume"])


@pytest.fixture
def loaded(app):
    """`app` with ROWS stored, inside an app context."""
    with app.app_context():
        writer = open_writer(db.engine)
        try:
            writer.write(ROWS)
        finally:
            writer.close()
        yield app
        db.session.remove()


def reference(ticker: str, start: datetime, end: datetime, width: timedelta | None):
    """OHLCV of `ticker` in [start, end) by pandas: raw rows, or buckets aligned on ORIGIN."""
    rows = FRAME[(FRAME.ticker == ticker) & (FRAME.time >= start) & (FRAME.time < end)]
    rows = rows.sort_values("time")
    if width is None:
        return rows[["time", "open", "high", "low", "close", "volume"]].reset_index(drop=True)
    origin = pd.Timestamp(queries.ORIGIN)
    buckets = origin + ((rows.time - origin) // width) * width
    grouped = rows.groupby(buckets)
    result = pd.DataFrame(
        {
            "open": grouped.open.first(),  # first non-missing, as documented
            "high": grouped.high.max(),
            "low": grouped.low.min(),
            "close": grouped.close.last(),
            "volume": grouped.volume.sum(min_count=1),
        }
    )
    result.index.name = "time"
    return result.reset_index()


def as_frame(series: queries.PriceSeries) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": series.time,
            "open": series.open,
            "high": series.high,
            "low": series.low,
            "close": series.close,
            "volume": series.volume,
        }
    )


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.time) == [t.to_pydatetime() for t in expected.time]
    for column in ("open", "high", "low", "close", "volume"):
        left = pd.to_numeric(got[column], errors="coerce").to_numpy(dtype=float)
        right = expected[column].to_numpy(dtype=float)
        np.testing.assert_allclose(left, right, rtol=1e-12, equal_nan=True, err_msg=column)


@pytest.mark.parametrize(
    ("ticker", "start", "end", "max_points"),
    [
        ("AAA", datetime(2021, 3, 1), datetime(2021, 3, 5), 2000),  # whole set: 1-5 min buckets
        ("AAA", datetime(2021, 3, 1, 10, 7), datetime(2021, 3, 2, 13, 3), 100),  # unaligned edges
        ("AAA", datetime(2021, 3, 2, 0, 0), datetime(2021, 3, 2, 6, 0), 50),
        ("AAA", datetime(2021, 3, 1), datetime(2021, 3, 5), 3),  # the smallest max_points
        ("BBB", datetime(2010, 1, 1), datetime(2030, 1, 1), 500),  # weekly buckets, gaps
        ("BBB", datetime(2016, 7, 20), datetime(2016, 9, 10), 10),
    ],
)
def test_buckets_match_pandas(loaded, ticker, start, end, max_points):
    series = queries.price_series([ticker], start, end, max_points=max_points)[ticker]
    assert 0 < len(series) <= max_points
    expected_rows = FRAME[(FRAME.ticker == ticker) & (FRAME.time >= start) & (FRAME.time < end)]
    assert len(expected_rows) > max_points  # so these are aggregated
    assert series.bucket is not None
    assert series.bucket == queries.bucket_width(
        expected_rows.time.max() - expected_rows.time.min(), max_points
    )
    assert_same(as_frame(series), reference(ticker, start, end, series.bucket))


def test_raw_rows_when_the_range_holds_few(loaded):
    start, end = datetime(2021, 3, 1, 12), datetime(2021, 3, 1, 14)
    series = queries.price_series(["AAA"], start, end, max_points=2000)["AAA"]
    assert series.bucket is None
    assert_same(as_frame(series), reference("AAA", start, end, None))
    # exactly max_points rows is still raw; one more is aggregated
    count = len(series)
    assert queries.price_series(["AAA"], start, end, max_points=count)["AAA"].bucket is None
    assert queries.price_series(["AAA"], start, end, max_points=count - 1)["AAA"].bucket


def test_several_tickers_share_one_width_and_keep_their_order(loaded):
    result = queries.price_series(["ONE", "BBB", "AAA"], max_points=500)
    assert list(result) == ["ONE", "BBB", "AAA"]
    assert result["ONE"].bucket is None and len(result["ONE"]) == 1
    assert result["AAA"].bucket == result["BBB"].bucket  # the union spans 2015-2021
    assert len(result["AAA"]) <= 500 and len(result["BBB"]) <= 500


def test_bucket_without_any_open_and_edges_cut_by_the_range(loaded):
    """Each bucket's open is the first stored one: None when the bucket has none at all, the
    close is the last row's, and rows of an edge bucket outside the range are left out."""
    rows = [
        ("GAP", datetime(2022, 5, 2, 12, m), None if m < 13 else 10.0 + m, 50.0, 1.0, m, m)
        for m in range(25)
    ]
    writer = open_writer(db.engine)
    try:
        writer.write(rows)
    finally:
        writer.close()
    # 12:02-12:24 holds 23 rows: 10-minute buckets from 12:00, 12:10 and 12:20
    series = queries.price_series(
        ["GAP"], datetime(2022, 5, 2, 12, 2), datetime(2022, 5, 2, 12, 24), max_points=5
    )["GAP"]
    assert series.bucket == timedelta(minutes=10)
    assert series.time == [datetime(2022, 5, 2, 12, m) for m in (0, 10, 20)]
    assert series.open == [None, 23.0, 30.0]
    assert series.close == [9.0, 19.0, 23.0]
    assert series.volume == [sum(range(2, 10)), sum(range(10, 20)), sum(range(20, 24))]
    assert series.high == [50.0] * 3 and series.low == [1.0] * 3


def test_single_row(loaded):
    series = queries.price_series(["one"], date(2020, 6, 1), date(2020, 6, 1))["ONE"]
    assert (series.time, series.open, series.high, series.low, series.close, series.volume) == (
        [datetime(2020, 6, 1, 12)],
        [1.0],
        [2.0],
        [0.5],
        [1.5],
        [10],
    )


def test_date_end_includes_its_day_and_ranges_are_half_open(loaded):
    noon = datetime(2020, 6, 1, 12)
    assert queries.price_series(["ONE"], noon, noon + timedelta(seconds=1))
    assert not queries.price_series(["ONE"], noon - timedelta(hours=1), noon)
    assert queries.price_series(["ONE"], date(2020, 6, 1), date(2020, 6, 1))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2000, 1, 1), datetime(2001, 1, 1)),  # no rows there
        (datetime(2021, 3, 2), datetime(2021, 3, 2)),  # empty range
        (datetime(2021, 3, 3), datetime(2021, 3, 2)),  # reversed
    ],
)
def test_empty_ranges_give_empty_results(loaded, start, end):
    assert queries.price_series(["AAA", "BBB"], start, end) == {}
    assert queries.summary(["AAA", "BBB"], start, end) == {}


INJECTIONS = [
    "'; DROP TABLE stock_prices; --",
    "AAA' OR '1'='1",
    'AAA" OR 1=1 --',
    "AAA) UNION SELECT * FROM users --",
    "%",
    "_AA",
    "AAA\x00",
    "",
    None,
    42,
]


def test_unknown_and_hostile_tickers_return_nothing(loaded):
    assert queries.price_series(INJECTIONS) == {}
    assert queries.summary(INJECTIONS) == {}
    assert queries.price_series(["NOPE", *INJECTIONS, "aaa"], max_points=10).keys() == {"AAA"}
    count = db.session.execute(text("SELECT count(*) FROM stock_prices")).scalar_one()
    assert count == len(ROWS)


def test_tickers_follow_the_one_ticker_rule(loaded):
    """Symbols are normalised by the ticker rule; one it refuses that was stored before the rule
    existed (written here straight through the writer, which trusts its parser) is neither listed
    nor queried."""
    day = datetime(2020, 1, 2)
    writer = open_writer(db.engine)
    try:
        writer.write([(name, day, 1.0, 2.0, 0.5, 1.5, 10) for name in ("^GSPC", "BRK.B", "A/B")])
    finally:
        writer.close()
    listed = sorted(t.ticker for t in queries.list_tickers())
    assert listed == sorted(["AAA", "BBB", "ONE", "^GSPC", "BRK.B"])
    asked = ["^gspc", " brk.b ", "A/B", "BRK.B", "a b"]
    assert list(queries.price_series(asked)) == ["^GSPC", "BRK.B"]
    assert queries.summary(asked).keys() == {"^GSPC", "BRK.B"}


def test_list_tickers_gives_names_and_extent(loaded):
    db.session.execute(
        text("UPDATE stock_tickers SET name = 'Alpha', industry = 'Tests' WHERE ticker = 'AAA'")
    )
    db.session.execute(text("INSERT INTO stock_tickers (ticker) VALUES ('EMPTY')"))
    db.session.commit()
    tickers = queries.list_tickers()
    assert [t.ticker for t in tickers] == ["AAA", "BBB", "ONE"]  # EMPTY has no prices
    first = tickers[0]
    assert (first.name, first.industry) == ("Alpha", "Tests")
    aaa = FRAME[FRAME.ticker == "AAA"]
    assert (first.first, first.last) == (aaa.time.min(), aaa.time.max())


def summary_reference(ticker: str, start: datetime, end: datetime) -> dict:
    rows = FRAME[(FRAME.ticker == ticker) & (FRAME.time >= start) & (FRAME.time < end)]
    daily = rows.sort_values("time").groupby(rows.time.dt.normalize())
    closes = daily.close.last()
    returns = closes.pct_change().dropna()
    return {
        "days": len(closes),
        "last_close": closes.iloc[-1],
        "period_return": closes.iloc[-1] / closes.iloc[0] - 1,
        "volatility": returns.std() * math.sqrt(252) if len(returns) >= 2 else None,
        "max_drawdown": (closes / closes.cummax() - 1).min(),
        "average_volume": daily.volume.sum(min_count=1).mean(),
    }


@pytest.mark.parametrize(
    ("ticker", "start", "end"),
    [
        ("AAA", datetime(2021, 3, 1), datetime(2021, 3, 5)),  # intraday: last close of each day
        ("BBB", datetime(2015, 1, 1), datetime(2021, 1, 1)),
        ("BBB", datetime(2018, 2, 3), datetime(2018, 11, 17)),
        ("ONE", datetime(2020, 1, 1), datetime(2021, 1, 1)),
    ],
)
def test_summary_matches_pandas(loaded, ticker, start, end):
    got = queries.summary([ticker], start, end)[ticker]
    expected = summary_reference(ticker, start, end)
    assert got.days == expected["days"]
    assert got.last_close == pytest.approx(expected["last_close"])
    assert got.period_return == pytest.approx(expected["period_return"])
    assert got.max_drawdown == pytest.approx(expected["max_drawdown"])
    assert got.average_volume == pytest.approx(expected["average_volume"])
    if expected["volatility"] is None:
        assert got.volatility is None
    else:
        assert got.volatility == pytest.approx(expected["volatility"], rel=1e-9)


@pytest.mark.parametrize("max_points", [3, 10, 99, 1000, 2000, 5000])
@pytest.mark.parametrize("days", [0.01, 1, 30, 365, 3650, 36500, 3_650_000])
def test_bucket_width_always_fits(max_points, days):
    span = timedelta(days=days)
    width = queries.bucket_width(span, max_points)
    # Any span-long interval touches at most span/width + 2 aligned buckets.
    assert span / width + 2 <= max_points
    # ... and the next smaller nice width would not.
    if width in queries.NICE_WIDTHS[1:]:
        smaller = queries.NICE_WIDTHS[queries.NICE_WIDTHS.index(width) - 1]
        assert span / smaller + 2 > max_points


def test_max_points_below_three_is_refused(loaded):
    with pytest.raises(ValueError, match="max_points"):
        queries.price_series(["AAA"], max_points=2)
