"""Pre-aggregated bars (rollups): each ticker's prices per hour and per day, kept exact.

A level's row is one bucket of one ticker as `price_series` aggregates stored rows: the first
open (of the first row that has one), max high, min low, last close, summed volume, and the row
count. A ticker has a level only when it is worth it, decided from the rows written: an hour (a
day) holding two rows or more. Daily bars gain nothing from rollups of a day, so the real S&P
file costs the importer one density check per batch and no rollup rows.

Every write keeps them exact in its own transaction: a writer calls `BatchRollups.apply` after
storing a batch and before committing, `prices delete` removes a ticker's levels with its prices.
The touched buckets are recomputed from the stored rows by the database (DELETE, then
INSERT ... SELECT ... GROUP BY over the touched range of each ticker), never row by row in
Python; the daily level of a ticker with an hourly one is computed from the hourly rows.

On TimescaleDB the levels are continuous aggregates (migration 0003_rollups): the writers then
refresh the touched range after each commit instead (TimescaleDB refreshes outside transactions),
and real-time aggregation answers from raw rows for what was never materialized.

Every statement here is fixed SQL with bound parameters: the only text formatted in is a level's
table name, a bucket expression and a filter, each from the constants of this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the importer's writers import this module
    from app.prices.importing.batches import Batch


@dataclass(frozen=True)
class Level:
    """One rollup level: its name (a column of stock_rollup_tickers), table and bucket width."""

    name: str
    table: str
    width: timedelta


HOURLY = Level("hourly", "stock_prices_hourly", timedelta(hours=1))
DAILY = Level("daily", "stock_prices_daily", timedelta(days=1))
LEVELS = (HOURLY, DAILY)  # finest first: the daily level may be computed from the hourly one

# Each level's bucket start, as stored (SQLite keeps times as text in SQLAlchemy's format).
TRUNCATE = {
    ("postgresql", "hourly"): "date_trunc('hour', time)",
    ("postgresql", "daily"): "date_trunc('day', time)",
    ("sqlite", "hourly"): "strftime('%Y-%m-%d %H:00:00.000000', time)",
    ("sqlite", "daily"): "strftime('%Y-%m-%d 00:00:00.000000', time)",
}
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

DELETE_LEVEL = "DELETE FROM {table} WHERE {where}"
DELETE_TICKER = "DELETE FROM {table} WHERE ticker = :ticker"
COUNT_ROWS = "SELECT count(*) FROM {table}"
# One bucket per row, as price_series aggregates raw rows: first open and last close are looked
# up on the source's primary key, two probes per bucket.
AGGREGATE = """
SELECT b.ticker, b.bucket AS time,
       (SELECT o.open FROM {source} o
        WHERE o.ticker = b.ticker AND o.time = b.open_time) AS open,
       b.high, b.low,
       (SELECT c.close FROM {source} c
        WHERE c.ticker = b.ticker AND c.time = b.close_time) AS close,
       b.volume, b.row_count
FROM (SELECT ticker, {bucket} AS bucket,
             min(CASE WHEN open IS NOT NULL THEN time END) AS open_time,
             max(time) AS close_time, max(high) AS high, min(low) AS low,
             sum(volume) AS volume, {count} AS row_count
      FROM {source} WHERE {where}
      GROUP BY ticker, bucket) AS b
"""
INSERT_LEVEL = (
    "INSERT INTO {table} (ticker, time, open, high, low, close, volume, row_count) " + AGGREGATE
)
RAW_SOURCE = ("stock_prices", "count(*)")
HOURLY_SOURCE = ("stock_prices_hourly", "sum(row_count)")
ONE_TICKER = "ticker = :ticker"
TICKER_RANGE = "ticker = :ticker AND time >= :low AND time < :high"
SET_LEVELS = (
    "INSERT INTO stock_rollup_tickers (ticker, hourly, daily) VALUES (:ticker, :hourly, :daily) "
    "ON CONFLICT (ticker) DO UPDATE SET hourly = excluded.hourly, daily = excluded.daily"
)
GET_LEVELS = "SELECT ticker, hourly, daily FROM stock_rollup_tickers"
TIMESCALE_INSTALLED = "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
TIMESCALE_LEVELS = (
    "SELECT 1 FROM timescaledb_information.continuous_aggregates "
    "WHERE view_name = 'stock_prices_hourly'"
)
NAMED_PARAMETER = re.compile(r"(?<![:\w\\]):(\w+)")


class Runner:
    """Runs this module's statements (written with `:name` parameters) on any connection the
    app holds: a SQLAlchemy Connection, or the DBAPI connection or cursor of an import writer."""

    def __init__(self, dialect: str, execute: Callable[[str, dict], Any], timescale: bool):
        self.dialect = dialect
        self._execute = execute
        self.timescale = timescale

    @classmethod
    def for_sqlalchemy(cls, connection) -> Runner:
        """A runner on a SQLAlchemy Connection (its transaction is the caller's)."""
        from sqlalchemy import text

        runner = cls(
            connection.dialect.name,
            lambda sql, params: connection.execute(text(sql), params),
            False,
        )
        runner.timescale = runner._detect_timescale()
        return runner

    @classmethod
    def for_psycopg(cls, connection) -> Runner:
        """A runner on a psycopg connection, inside its current transaction if any (named
        parameters become `%(name)s`)."""
        runner = cls(
            "postgresql",
            lambda sql, params: connection.execute(NAMED_PARAMETER.sub(r"%(\1)s", sql), params),
            False,
        )
        runner.timescale = runner._detect_timescale()
        return runner

    @classmethod
    def for_sqlite3(cls, connection) -> Runner:
        """A runner on a sqlite3 connection."""
        return cls("sqlite", connection.execute, False)

    def _detect_timescale(self) -> bool:
        if self.dialect != "postgresql":
            return False
        # Two statements: the view of the second exists only with the extension.
        return bool(self(TIMESCALE_INSTALLED).fetchall() and self(TIMESCALE_LEVELS).fetchall())

    def __call__(self, sql: str, params: dict | None = None):
        """Execute `sql` with `params` (times as `time()` gives them)."""
        return self._execute(sql, params or {})

    def time(self, value: datetime):
        """A time as this database compares it with stored times."""
        return value.strftime(SQLITE_TIME_FORMAT) if self.dialect == "sqlite" else value


def ticker_levels(run: Runner) -> dict[str, set[str]]:
    """Each ticker's levels, by name, as stock_rollup_tickers records them."""
    levels: dict[str, set[str]] = {}
    for ticker, hourly, daily in run(GET_LEVELS).fetchall():
        names = {name for name, on in (("hourly", hourly), ("daily", daily)) if on}
        if names:
            levels[ticker] = names
    return levels


def set_levels(run: Runner, ticker: str, names: set[str]) -> None:
    """Record that `ticker` has the levels `names`."""
    run(SET_LEVELS, {"ticker": ticker} | {level.name: level.name in names for level in LEVELS})


def recompute(run: Runner, level: Level, where: str, params: dict, hourly_source: bool) -> None:
    """Replace `level`'s rows selected by `where` with the aggregate of the source's rows it
    selects: the hourly level's rows (`hourly_source`, for the daily level of a ticker that
    has one) or the stored prices."""
    run(DELETE_LEVEL.format(table=level.table, where=where), params)
    insert_level(run, level, where, params, hourly_source)


def insert_level(run: Runner, level: Level, where: str, params: dict, hourly_source: bool) -> None:
    """Insert `level`'s rows aggregated from the source's rows selected by `where`."""
    source, count = HOURLY_SOURCE if hourly_source else RAW_SOURCE
    statement = INSERT_LEVEL.format(
        table=level.table,
        source=source,
        bucket=TRUNCATE[run.dialect, level.name],
        count=count,
        where=where,
    )
    run(statement, params)


def floor_time(value: datetime, width: timedelta) -> datetime:
    """`value` rounded down to a multiple of `width` since midnight (an hour or a day)."""
    midnight = datetime(value.year, value.month, value.day)
    return midnight + (value - midnight) // width * width


def dense_tickers(batch: Batch, level: Level) -> set[str]:
    """The tickers of `batch` with a bucket of `level` holding two of its rows or more."""
    if len(batch) < 2:
        return set()
    buckets = batch.time.astype(np.int64) // (level.width // timedelta(microseconds=1))
    order = np.lexsort((buckets, batch.ticker))
    ticker, bucket = batch.ticker[order], buckets[order]
    repeated = (ticker[1:] == ticker[:-1]) & (bucket[1:] == bucket[:-1])
    return {batch.names[number] for number in np.unique(ticker[1:][repeated]).tolist()}


def batch_ranges(batch: Batch) -> dict[str, tuple[datetime, datetime]]:
    """Each ticker's first and last time in `batch`."""
    count = len(batch.names)
    times = batch.time.astype(np.int64)
    first = np.full(count, np.iinfo(np.int64).max)
    last = np.full(count, np.iinfo(np.int64).min)
    np.minimum.at(first, batch.ticker, times)
    np.maximum.at(last, batch.ticker, times)
    epoch = datetime(1970, 1, 1)
    return {
        name: (epoch + timedelta(microseconds=low), epoch + timedelta(microseconds=high))
        for name, low, high in zip(batch.names, first.tolist(), last.tolist(), strict=True)
    }


class BatchRollups:
    """A writer's view of the rollups: which levels each ticker has (as committed), and the
    recomputation of what one batch touched, inside the batch's transaction."""

    def __init__(self, run: Runner):
        self.timescale = run.timescale
        self.levels = {} if self.timescale else ticker_levels(run)
        self._pending: dict[str, set[str]] = {}

    def apply(self, run: Runner, batch: Batch) -> None:
        """Bring the levels of `batch`'s tickers up to date with the stored rows (call inside
        the batch's transaction, after its rows are written). A level a ticker gains now is
        computed over all its rows; the others over the buckets the batch touched."""
        if self.timescale or not len(batch):
            return
        ranges = batch_ranges(batch)
        pending = {name: set(self.levels.get(name, ())) for name in ranges}
        for level in LEVELS:
            gained = {
                name for name in dense_tickers(batch, level) if level.name not in pending[name]
            }
            for name in sorted(gained):
                pending[name].add(level.name)
                set_levels(run, name, pending[name])
                from_hourly = self._from_hourly(level, pending[name])
                recompute(run, level, ONE_TICKER, {"ticker": name}, from_hourly)
            for name, (first, last) in ranges.items():
                if level.name not in pending[name] or name in gained:
                    continue
                params = {
                    "ticker": name,
                    "low": run.time(floor_time(first, level.width)),
                    "high": run.time(floor_time(last, level.width) + level.width),
                }
                recompute(run, level, TICKER_RANGE, params, self._from_hourly(level, pending[name]))
        self._pending = {name: names for name, names in pending.items() if names}

    @staticmethod
    def _from_hourly(level: Level, names: set[str]) -> bool:
        return level is DAILY and HOURLY.name in names

    def committed(self) -> None:
        """The batch's transaction committed: its levels are now the stored ones."""
        self.levels |= self._pending
        self._pending = {}

    def refresh_after_commit(self, run: Runner, batch: Batch) -> None:
        """On TimescaleDB, refresh the continuous aggregates over the range `batch` touched
        (outside any transaction: `run` must be in autocommit mode)."""
        if not self.timescale or not len(batch):
            return
        ranges = batch_ranges(batch).values()
        refresh_timescale(run, min(f for f, _ in ranges), max(last for _, last in ranges))


def refresh_timescale(run: Runner, first: datetime, last: datetime) -> None:
    """Refresh both continuous aggregates over the days holding [first, last]."""
    low = floor_time(first, DAILY.width)
    high = floor_time(last, DAILY.width) + DAILY.width
    for level in LEVELS:
        run(
            "CALL refresh_continuous_aggregate(:view, :low, :high)",
            {"view": level.table, "low": low, "high": high},
        )


def delete_levels(run: Runner, tickers: Iterable[str]) -> dict[str, int]:
    """Delete `tickers`' rollup rows and stock_rollup_tickers rows (inside the caller's
    transaction, with their prices); returns the rows removed per table."""
    counts = {}
    names = list(tickers)
    tables = [] if run.timescale else [level.table for level in LEVELS]
    tables.append("stock_rollup_tickers")
    for table in tables:
        removed = 0
        for name in names:
            removed += run(DELETE_TICKER.format(table=table), {"ticker": name}).rowcount
        counts[table] = removed
    return counts


DENSE_TICKERS = (
    "SELECT DISTINCT ticker FROM (SELECT ticker, {bucket} AS bucket FROM stock_prices "
    "GROUP BY ticker, bucket HAVING count(*) >= 2) AS buckets"
)


def rebuild(run: Runner) -> dict[str, int]:
    """Recompute every level from the stored prices, deciding each ticker's levels from all its
    rows (for rows loaded behind the app's back); returns the rows per level. Runs inside the
    caller's transaction (on TimescaleDB: outside any, as its refresh requires)."""
    if run.timescale:
        first, last = run("SELECT min(time), max(time) FROM stock_prices").fetchall()[0]
        if first is not None:
            refresh_timescale(run, first, last)
        return {level.table: count_rows(run, level.table) for level in LEVELS}
    dense = {}
    for level in LEVELS:
        statement = DENSE_TICKERS.format(bucket=TRUNCATE[run.dialect, level.name])
        dense[level.name] = {row[0] for row in run(statement).fetchall()}
    run("DELETE FROM stock_rollup_tickers")
    for name in sorted(dense["hourly"] | dense["daily"]):
        set_levels(run, name, {level.name for level in LEVELS if name in dense[level.name]})
    for level in LEVELS:
        run(DELETE_LEVEL.format(table=level.table, where="1 = 1"))
    insert_level(run, HOURLY, LEVEL_TICKERS.format("hourly"), {}, hourly_source=False)
    insert_level(run, DAILY, LEVEL_TICKERS.format("daily AND NOT hourly"), {}, hourly_source=False)
    insert_level(run, DAILY, LEVEL_TICKERS.format("daily AND hourly"), {}, hourly_source=True)
    return {level.table: count_rows(run, level.table) for level in LEVELS}


def count_rows(run: Runner, table: str) -> int:
    """The number of rows in `table` (one of the levels)."""
    return run(COUNT_ROWS.format(table=table)).fetchall()[0][0]


# A level's rows as they should be: the aggregate of the raw rows of the tickers that have the
# level (every ticker on TimescaleDB), compared both ways with EXCEPT, which treats NULLs as equal.
LEVEL_TICKERS = "ticker IN (SELECT ticker FROM stock_rollup_tickers WHERE {})"
TIMESCALE_BUCKETS = {
    "hourly": "time_bucket(INTERVAL '1 hour', time)",
    "daily": "time_bucket(INTERVAL '1 day', time)",
}
STORED_LEVEL = "SELECT ticker, time, open, high, low, close, volume, row_count FROM {table}"
MISMATCHES = (
    "SELECT (SELECT count(*) FROM (SELECT * FROM ({expected}) AS e "
    "EXCEPT SELECT * FROM ({stored}) AS s) AS missing) + "
    "(SELECT count(*) FROM (SELECT * FROM ({stored}) AS s "
    "EXCEPT SELECT * FROM ({expected}) AS e) AS extra)"
)


def check(run: Runner) -> dict[str, int]:
    """The number of mismatched rows per level (missing, extra or different), 0 when every
    level equals the aggregate of the stored prices of the tickers that have it."""
    result = {}
    for level in LEVELS:
        if run.timescale:
            where, bucket = "1 = 1", TIMESCALE_BUCKETS[level.name]
        else:
            where, bucket = LEVEL_TICKERS.format(level.name), TRUNCATE[run.dialect, level.name]
        source, count = RAW_SOURCE
        expected = AGGREGATE.format(source=source, count=count, bucket=bucket, where=where)
        statement = MISMATCHES.format(
            expected=expected,
            stored=STORED_LEVEL.format(table=level.table),
        )
        result[level.table] = run(statement).fetchall()[0][0]
    return result
