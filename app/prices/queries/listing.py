"""The tickers that have prices, for the dashboard's dropdown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, text
from sqlalchemy.engine import Connection

from app.prices.queries.arguments import RANGE_BINDS, current_connection, time_range
from app.prices.tickers import is_ticker


@dataclass(frozen=True)
class TickerInfo:
    """A ticker that has prices, with the first and last time it has one."""

    ticker: str
    name: str | None
    industry: str | None
    first: datetime
    last: datetime


def list_tickers(connection: Connection | None = None) -> list[TickerInfo]:
    """Every ticker that has prices and follows the ticker rule, in alphabetical order.

    The first and last times are two index lookups per ticker on the primary key, so this stays
    fast however many rows are stored. Like every query, this sees only the rows inside the
    window of `arguments.time_range` (a ticker with none there has no prices to show).
    """
    connection = connection or current_connection()
    statement = (
        text(
            "SELECT t.ticker, t.name, t.industry, "
            "(SELECT p.time FROM stock_prices p WHERE p.ticker = t.ticker "
            " AND p.time >= :start AND p.time < :end ORDER BY p.time LIMIT 1) AS first_time, "
            "(SELECT p.time FROM stock_prices p WHERE p.ticker = t.ticker "
            " AND p.time >= :start AND p.time < :end ORDER BY p.time DESC LIMIT 1) AS last_time "
            "FROM stock_tickers t ORDER BY t.ticker"
        )
        .bindparams(*RANGE_BINDS)
        .columns(first_time=DateTime(), last_time=DateTime())
    )
    low, high = time_range(None, None)
    return [
        TickerInfo(row.ticker, row.name, row.industry, row.first_time, row.last_time)
        for row in connection.execute(statement, {"start": low, "end": high})
        # A symbol stored before the one ticker rule existed could be neither charted nor linked.
        if row.first_time is not None and is_ticker(row.ticker)
    ]
