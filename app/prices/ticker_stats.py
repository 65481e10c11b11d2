"""The per-ticker summary of stored prices (`ticker_stats`): first and last time, last close,
the close before it and the change between them.

The tickers directory, the home watchlist and the dashboard's "prices up to" read this table
instead of `stock_prices`, so their cost follows the tickers shown, not the rows stored. It stays
exact because the importer rewrites the rows of every batch's tickers in the batch's own
transaction (`refresh_ticker_stats`, called by app.prices.importing.writers), from `stock_prices`
itself: four lookups per ticker on its primary key (ticker, time), each reading one or two index
entries, whatever was inserted or replaced. `rebuild_ticker_stats` recomputes every row (the
migration that creates the table runs it; `flask prices stats --rebuild` after rows were loaded
behind the app's back); `prices delete` (app.prices.deleting) removes a deleted ticker's row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

_COLUMNS = "ticker, first_time, last_time, last_close, previous_close, change_pct"


def _compute(ticker: str, source: str = "") -> str:
    """SELECT of the `ticker_stats` rows of the tickers that `ticker` names (a placeholder, or a
    column of the `source` FROM clause); a ticker with no prices gives no row."""
    latest = f"FROM stock_prices p WHERE p.ticker = {ticker} ORDER BY p.time DESC LIMIT 1"
    # Fixed SQL: `ticker` and `source` are only ever this module's constants.
    return (
        "SELECT ticker, first_time, last_time, last_close, previous_close, "  # noqa: S608
        "CASE WHEN previous_close <> 0 "
        "THEN (last_close - previous_close) * 100.0 / previous_close END AS change_pct "
        f"FROM (SELECT CAST({ticker} AS VARCHAR(16)) AS ticker, "
        f"(SELECT p.time FROM stock_prices p WHERE p.ticker = {ticker} ORDER BY p.time LIMIT 1)"
        f" AS first_time, (SELECT p.time {latest}) AS last_time, "
        f"(SELECT p.close {latest}) AS last_close, "
        f"(SELECT p.close {latest} OFFSET 1) AS previous_close{source}) AS computed "
        "WHERE last_time IS NOT NULL"
    )


_UPSERT = (
    f"INSERT INTO ticker_stats ({_COLUMNS}) {{compute}} "
    "ON CONFLICT (ticker) DO UPDATE SET first_time = excluded.first_time, "
    "last_time = excluded.last_time, last_close = excluded.last_close, "
    "previous_close = excluded.previous_close, change_pct = excluded.change_pct"
)
_DELETE_EMPTY = (
    "DELETE FROM ticker_stats WHERE ticker = {t} "
    "AND NOT EXISTS (SELECT 1 FROM stock_prices WHERE ticker = {t})"
)
PLACEHOLDERS = {"postgresql": "%(ticker)s", "sqlite": ":ticker"}


def refresh_ticker_stats(
    cursor, tickers: Iterable[str], dialect: Literal["postgresql", "sqlite"]
) -> None:
    """Recompute the `ticker_stats` rows of `tickers` on `cursor` (a DB-API cursor or sqlite3
    connection inside the caller's transaction), exactly, from their stored prices."""
    placeholder = PLACEHOLDERS[dialect]
    parameters = [{"ticker": ticker} for ticker in sorted(set(tickers))]
    if not parameters:
        return
    cursor.executemany(_DELETE_EMPTY.format(t=placeholder), parameters)
    cursor.executemany(_UPSERT.format(compute=_compute(placeholder)), parameters)


def rebuild_ticker_stats(connection: Connection | Session) -> int:
    """Recompute every `ticker_stats` row in the caller's transaction; returns how many tickers
    have prices. One pass over `stock_tickers`, with the same index lookups per ticker."""
    connection.execute(text("DELETE FROM ticker_stats"))
    every = _compute("t.ticker", " FROM stock_tickers t")
    connection.execute(text(f"INSERT INTO ticker_stats ({_COLUMNS}) {every}"))
    return connection.execute(text("SELECT count(*) FROM ticker_stats")).scalar_one()

