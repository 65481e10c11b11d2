"""Generated demo prices, so that `make run` shows a useful dashboard without downloading data.

The set is deterministic (a fixed seed) and clearly labelled: every name ends in "(demo)" and
every industry is "Demo data". Prices are correlated geometric random walks (a market factor
plus each ticker's own noise) over five years of weekdays, with consistent OHLC bars.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.prices.importing import Row, open_writer

SEED = 20130208
FIRST_DAY = date(2019, 1, 2)
LAST_DAY = date(2023, 12, 29)
DEMO_INDUSTRY = "Demo data"
# ticker, name, first close, yearly drift, yearly volatility, market beta, typical volume
DEMO_TICKERS: tuple[tuple[str, str, float, float, float, float, int], ...] = (
    ("ACME", "Acme Robotics (demo)", 84.0, 0.12, 0.32, 1.2, 3_200_000),
    ("BOLT", "Bolt Energy Storage (demo)", 23.5, 0.20, 0.55, 1.5, 8_500_000),
    ("CRNL", "Cornell Foods (demo)", 61.0, 0.04, 0.18, 0.6, 1_900_000),
    ("DYNX", "Dynamix Software (demo)", 142.0, 0.18, 0.35, 1.3, 2_400_000),
    ("ELMR", "Elmer Utilities (demo)", 48.0, 0.03, 0.15, 0.4, 1_200_000),
    ("FJRD", "Fjord Shipping (demo)", 17.2, 0.02, 0.45, 1.1, 5_600_000),
    ("GLXB", "Galaxy Biotech (demo)", 36.0, 0.08, 0.60, 0.9, 4_100_000),
    ("HRBR", "Harbor Bank (demo)", 52.5, 0.06, 0.25, 1.0, 3_000_000),
    ("IONQX", "Ion Quarry Mining (demo)", 12.8, 0.01, 0.40, 1.1, 7_300_000),
    ("JUNO", "Juno Retail (demo)", 95.0, 0.07, 0.28, 0.9, 2_700_000),
)
TRADING_DAYS = 252


class DatabaseNotEmpty(RuntimeError):
    """`stock_prices` already has rows; the demo set only ever fills an empty database."""


def trading_days(first: date = FIRST_DAY, last: date = LAST_DAY) -> list[date]:
    """Every weekday from `first` to `last` (holidays are not modelled)."""
    days = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def generate_rows(seed: int = SEED) -> list[Row]:
    """The demo bars, in ticker then time order; the same list for the same seed."""
    rng = random.Random(seed)  # noqa: S311  (reproducible test data, not secrets)
    days = trading_days()
    market = [rng.gauss(0.0, 0.011) for _ in days]
    rows: list[Row] = []
    for ticker, _name, first_close, drift, volatility, beta, typical_volume in DEMO_TICKERS:
        daily_sigma = volatility / math.sqrt(TRADING_DAYS)
        own_sigma = math.sqrt(max(daily_sigma**2 - (beta * 0.011) ** 2, (daily_sigma / 3) ** 2))
        daily_drift = drift / TRADING_DAYS - daily_sigma**2 / 2
        close = first_close
        for day, market_return in zip(days, market, strict=True):
            previous = close
            log_return = daily_drift + beta * market_return + rng.gauss(0.0, own_sigma)
            open_ = round(previous * math.exp(rng.gauss(0.0, daily_sigma / 4)), 2)
            close = round(previous * math.exp(log_return), 2)
            spread = abs(rng.gauss(0.0, daily_sigma / 2))
            high = round(max(open_, close) * (1 + spread), 2)
            low = round(min(open_, close) * (1 - abs(rng.gauss(0.0, daily_sigma / 2))), 2)
            # Busy days (big moves) trade more, as real volumes do.
            surprise = 1 + 20 * abs(log_return)
            volume = int(typical_volume * surprise * rng.lognormvariate(0.0, 0.35))
            rows.append(
                (ticker, datetime(day.year, day.month, day.day), open_, high, low, close, volume)
            )
    return rows


def load_demo(engine: Engine) -> int:
    """Store the demo tickers and prices in one transaction; returns the number of bars.

    Raises DatabaseNotEmpty when `stock_prices` has rows: demo bars must never mix with real ones.
    """
    with engine.connect() as connection:
        if connection.execute(text("SELECT 1 FROM stock_prices LIMIT 1")).first():
            raise DatabaseNotEmpty("stock_prices already has rows")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO stock_tickers (ticker, name, industry) "
                "VALUES (:ticker, :name, :industry) ON CONFLICT (ticker) DO UPDATE SET "
                "name = excluded.name, industry = excluded.industry"
            ),
            [
                {"ticker": ticker, "name": name, "industry": DEMO_INDUSTRY}
                for ticker, name, *_ in DEMO_TICKERS
            ],
        )
    rows = generate_rows()
    writer = open_writer(engine)
    try:
        # One batch, hence one transaction: an interrupted load leaves the table empty, so that
        # `prices demo --if-empty` simply runs again.
        inserted, _ = writer.write(rows)
    finally:
        writer.close()
    return inserted
