"""Per-ticker figures over a range (return, volatility, drawdown, volume), computed in SQL
from daily closes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.engine import Connection

from app.prices.queries.arguments import (
    RANGE_BINDS,
    clean_tickers,
    current_connection,
    time_range,
)

TRADING_DAYS_PER_YEAR = 252
DAY_EXPRESSIONS = {"postgresql": "date_trunc('day', time)", "sqlite": "substr(time, 1, 10)"}


@dataclass(frozen=True)
class TickerSummary:
    """Figures over a range, from daily closes (the last close of each day).

    `period_return` and `max_drawdown` are fractions (-0.25 is a 25 % fall); `volatility` is
    the standard deviation of daily simple returns times sqrt(252); `average_volume` is per day.
    """

    ticker: str
    first_time: datetime
    last_time: datetime
    days: int
    first_close: float
    last_close: float
    period_return: float | None
    volatility: float | None
    max_drawdown: float
    average_volume: float | None


SUMMARY = """
WITH days AS (
    SELECT ticker, max(time) AS time, sum(volume) AS volume
    FROM stock_prices
    WHERE ticker IN :tickers AND time >= :start AND time < :end
    GROUP BY ticker, {day}
), closes AS (
    SELECT d.ticker, d.time, d.volume, p.close,
           p.close / NULLIF(lag(p.close) OVER w, 0) - 1 AS daily_return,
           p.close / NULLIF(max(p.close) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING
                                                 AND CURRENT ROW), 0) - 1 AS drawdown,
           first_value(p.close) OVER w AS first_close,
           last_value(p.close) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING
                                       AND UNBOUNDED FOLLOWING) AS last_close
    FROM days d JOIN stock_prices p ON p.ticker = d.ticker AND p.time = d.time
    WINDOW w AS (PARTITION BY d.ticker ORDER BY d.time)
)
SELECT ticker, min(time) AS first_time, max(time) AS last_time, count(*) AS days,
       max(first_close) AS first_close, max(last_close) AS last_close,
       count(daily_return) AS returns, sum(daily_return) AS return_sum,
       sum(daily_return * daily_return) AS return_squares,
       min(drawdown) AS max_drawdown, avg(volume) AS average_volume
FROM closes
GROUP BY ticker
ORDER BY ticker
"""


def summary(
    tickers,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    connection: Connection | None = None,
) -> dict[str, TickerSummary]:
    """Per-ticker figures over [start, end) from daily closes (see TickerSummary), computed
    in SQL; tickers without rows in the range are absent."""
    names = clean_tickers(tickers)
    low, high = time_range(start, end)
    if not names or low >= high:
        return {}
    connection = connection or current_connection()
    dialect = connection.dialect.name
    statement = (
        text(SUMMARY.format(day=DAY_EXPRESSIONS[dialect]))
        .bindparams(bindparam("tickers", expanding=True), *RANGE_BINDS)
        .columns(first_time=DateTime(), last_time=DateTime())
    )
    result = {}
    for row in connection.execute(statement, {"tickers": names, "start": low, "end": high}):
        volatility = None
        if row.returns >= 2:
            # Sample variance from the sums; clamped at 0 against rounding on flat series.
            mean = row.return_sum / row.returns
            variance = (row.return_squares - row.returns * mean * mean) / (row.returns - 1)
            volatility = math.sqrt(max(variance, 0.0) * TRADING_DAYS_PER_YEAR)
        period_return = row.last_close / row.first_close - 1 if row.first_close else None
        result[row.ticker] = TickerSummary(
            ticker=row.ticker,
            first_time=row.first_time,
            last_time=row.last_time,
            days=row.days,
            first_close=row.first_close,
            last_close=row.last_close,
            period_return=period_return,
            volatility=volatility,
            max_drawdown=row.max_drawdown or 0.0,
            average_volume=None if row.average_volume is None else float(row.average_volume),
        )
    return result
