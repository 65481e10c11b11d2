"""The price query layer: the dashboard reads prices only through these functions.

The database does the aggregation: a series never returns more than `max_points` rows per ticker,
whatever the range and however many rows are stored, so a chart's cost does not grow with the
table. Every value from the caller is a bound parameter; the only SQL chosen here is a fixed
statement per backend: on plain PostgreSQL each bucket is aggregated by its own range scan of
the primary key (`BUCKET_ROWS`); TimescaleDB (`time_bucket`) and SQLite (integer arithmetic on
epoch seconds) group the range's rows by a bucket expression (`AGGREGATED_ROWS`).

Ranges are half-open, `start <= time < end`. A `date` end includes that whole day; None means
unbounded. Unknown tickers and empty ranges give empty results, never errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import DateTime, Integer, Interval, bindparam, text
from sqlalchemy.engine import Connection

from app.extensions import db
from app.models import TICKER_MAX

MAX_POINTS = 2000
TRADING_DAYS_PER_YEAR = 252
# Buckets are aligned on this instant, so that panning keeps bucket edges where they were; it is
# a Monday, so weekly buckets start on Mondays.
ORIGIN = datetime(1900, 1, 1)
EPOCH = datetime(1970, 1, 1)
ORIGIN_SECONDS = int((ORIGIN - EPOCH).total_seconds())
# Bucket widths a reader recognises; beyond two weeks, whole weeks.
NICE_WIDTHS = (
    tuple(
        timedelta(seconds=s)
        for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400)
    )
    + tuple(timedelta(hours=h) for h in (6, 12, 24, 48, 72))
    + (timedelta(weeks=1),)
)
MIN_TIME = datetime(1, 1, 1)
MAX_TIME = datetime(9999, 12, 31)

BUCKET_EXPRESSIONS = {
    "timescaledb": "time_bucket(:width, time, :origin)",
    # floor((epoch - origin) / width) * width + origin, with SQLite's truncating `/` and `%`.
    "sqlite": (
        "(CAST(strftime('%s', time) AS INTEGER)"
        " - ((CAST(strftime('%s', time) AS INTEGER) - :origin) % :width + :width) % :width)"
    ),
}
DAY_EXPRESSIONS = {"postgresql": "date_trunc('day', time)", "sqlite": "substr(time, 1, 10)"}
_bucket_dialects: dict[str, str] = {}


@dataclass(frozen=True)
class TickerInfo:
    """A ticker that has prices, with the first and last time it has one."""

    ticker: str
    name: str | None
    industry: str | None
    first: datetime
    last: datetime


@dataclass
class PriceSeries:
    """One ticker's bars in time order, as columns (what Plotly takes). `bucket` is the width
    each bar aggregates, or None when these are the stored rows themselves."""

    ticker: str
    bucket: timedelta | None = None
    time: list[datetime] = field(default_factory=list)
    open: list[float | None] = field(default_factory=list)
    high: list[float | None] = field(default_factory=list)
    low: list[float | None] = field(default_factory=list)
    close: list[float] = field(default_factory=list)
    volume: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.time)

    def append(self, row) -> None:
        """Add one (time, open, high, low, close, volume) bar."""
        self.time.append(row[0])
        self.open.append(row[1])
        self.high.append(row[2])
        self.low.append(row[3])
        self.close.append(row[4])
        self.volume.append(None if row[5] is None else int(row[5]))


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


def clean_tickers(tickers) -> list[str]:
    """Distinct, upper-cased ticker strings that could exist; anything else is dropped (a NUL
    character, for one, is an error in PostgreSQL rather than a mere mismatch)."""
    cleaned: list[str] = []
    for ticker in tickers or ():
        if isinstance(ticker, str):
            ticker = ticker.strip().upper()
            if 0 < len(ticker) <= TICKER_MAX and ticker.isprintable() and ticker not in cleaned:
                cleaned.append(ticker)
    return cleaned


def as_naive_utc(value: datetime) -> datetime:
    """The stored form of a time: naive, UTC when it carried a zone."""
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def time_range(start: date | datetime | None, end: date | datetime | None):
    """The half-open datetime range for the caller's bounds (a `date` end includes its day)."""
    if start is None:
        low = MIN_TIME
    elif isinstance(start, datetime):
        low = as_naive_utc(start)
    else:
        low = datetime(start.year, start.month, start.day)
    if end is None:
        high = MAX_TIME
    elif isinstance(end, datetime):
        high = as_naive_utc(end)
    else:
        high = datetime(end.year, end.month, end.day) + timedelta(days=1)
    return low, high


def bucket_width(span: timedelta, max_points: int = MAX_POINTS) -> timedelta:
    """The smallest nice width that cuts `span` into at most `max_points` aligned buckets.

    A span covers at most span/width + 2 buckets once edges are aligned on ORIGIN, hence the
    `max_points - 2`.
    """
    needed = span / (max_points - 2)
    for width in NICE_WIDTHS:
        if width >= needed:
            return width
    week = timedelta(weeks=1)
    return week * math.ceil(needed / week)


def current_connection() -> Connection:
    """The connection of the request's session (the dashboard runs inside Flask requests)."""
    return db.session.connection()


def bucket_dialect(connection: Connection) -> str:
    """'timescaledb', 'postgresql' or 'sqlite': which bucket expression this database takes.
    Looked up once per database URL."""
    name = connection.dialect.name
    if name != "postgresql":
        return name
    key = connection.engine.url.render_as_string(hide_password=True)
    if key not in _bucket_dialects:
        installed = connection.execute(
            text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        ).first()
        _bucket_dialects[key] = "timescaledb" if installed else "postgresql"
    return _bucket_dialects[key]


def list_tickers(connection: Connection | None = None) -> list[TickerInfo]:
    """Every ticker that has prices, in alphabetical order.

    The first and last times are two index lookups per ticker on the primary key, so this stays
    fast however many rows are stored.
    """
    connection = connection or current_connection()
    statement = text(
        "SELECT t.ticker, t.name, t.industry, "
        "(SELECT p.time FROM stock_prices p WHERE p.ticker = t.ticker "
        " ORDER BY p.time LIMIT 1) AS first_time, "
        "(SELECT p.time FROM stock_prices p WHERE p.ticker = t.ticker "
        " ORDER BY p.time DESC LIMIT 1) AS last_time "
        "FROM stock_tickers t ORDER BY t.ticker"
    ).columns(first_time=DateTime(), last_time=DateTime())
    return [
        TickerInfo(row.ticker, row.name, row.industry, row.first_time, row.last_time)
        for row in connection.execute(statement)
        if row.first_time is not None
    ]


RANGE_BINDS = (
    bindparam("start", type_=DateTime()),
    bindparam("end", type_=DateTime()),
)
EXTENT = (
    text(
        "SELECT "
        "(SELECT count(*) FROM (SELECT 1 FROM stock_prices WHERE ticker = :ticker "
        " AND time >= :start AND time < :end LIMIT :limit) AS x) AS row_count, "
        "(SELECT time FROM stock_prices WHERE ticker = :ticker AND time >= :start AND time < :end "
        " ORDER BY time LIMIT 1) AS first_time, "
        "(SELECT time FROM stock_prices WHERE ticker = :ticker AND time >= :start AND time < :end "
        " ORDER BY time DESC LIMIT 1) AS last_time"
    )
    .bindparams(*RANGE_BINDS)
    .columns(first_time=DateTime(), last_time=DateTime())
)
RAW_ROWS = (
    text(
        "SELECT ticker, time, open, high, low, close, volume FROM stock_prices "
        "WHERE ticker IN :tickers AND time >= :start AND time < :end ORDER BY ticker, time"
    )
    .bindparams(bindparam("tickers", expanding=True), *RANGE_BINDS)
    .columns(time=DateTime())
)
# OHLC per bucket on TimescaleDB and SQLite: max/min/sum in one pass; first open and last close
# by looking up, on the primary key, the row at the bucket's first time with an open and at its
# last time. Those are scalar subqueries rather than joins so that they stay two index probes
# per bucket: the planner cannot know how few buckets the bucket expression makes, and would
# otherwise hash-join the whole table. Missing opens are skipped as pandas' first() does.
AGGREGATED_ROWS = """
WITH bucketed AS (
    SELECT ticker, time, open, high, low, volume, {bucket} AS bucket
    FROM stock_prices
    WHERE ticker IN :tickers AND time >= :start AND time < :end
), buckets AS (
    SELECT ticker, bucket,
           min(CASE WHEN open IS NOT NULL THEN time END) AS open_time,
           max(time) AS close_time,
           max(high) AS high, min(low) AS low, sum(volume) AS volume
    FROM bucketed
    GROUP BY ticker, bucket
)
SELECT b.ticker, b.bucket,
       (SELECT o.open FROM stock_prices o
        WHERE o.ticker = b.ticker AND o.time = b.open_time) AS open,
       b.high, b.low,
       (SELECT c.close FROM stock_prices c
        WHERE c.ticker = b.ticker AND c.time = b.close_time) AS close,
       b.volume
FROM buckets b
ORDER BY b.ticker, b.bucket
"""
# Plain PostgreSQL, one ticker: the buckets come from generate_series between the one holding the
# ticker's first row and its last row, and each is read by range scans of the primary key
# clipped to [start, end): the last row (its close; no row, no bucket: the inner join drops
# empty buckets before anything is aggregated), the first row with an open, and max/min/sum
# over the bucket's rows. Grouping the whole range by date_bin instead costs a hash-table lookup
# of (ticker, bucket) for every row; here rows arrive in time order one bucket at a time, so a
# plain aggregate suffices. Reading as many rows, this takes 0.55-0.76x the time
# of the grouped query on a year of minute bars (docs/benchmarks.md, "Series query on large
# data"); a covering index would not help, the executor's work per row dominates.
BUCKET_ROWS = (
    text(
        """
SELECT b.bucket,
       (SELECT o.open FROM stock_prices o
        WHERE o.ticker = :ticker AND o.time >= b.since AND o.time < b.until
          AND o.open IS NOT NULL
        ORDER BY o.time LIMIT 1) AS open,
       a.high, a.low, c.close, a.volume
FROM (SELECT bucket, greatest(bucket, :start) AS since, least(bucket + :width, :end) AS until
      FROM generate_series(:first_bucket, :last, :width) AS bucket) AS b
CROSS JOIN LATERAL (
    SELECT close FROM stock_prices
    WHERE ticker = :ticker AND time >= b.since AND time < b.until
    ORDER BY time DESC LIMIT 1
) AS c
CROSS JOIN LATERAL (
    SELECT max(high) AS high, min(low) AS low, sum(volume) AS volume FROM stock_prices
    WHERE ticker = :ticker AND time >= b.since AND time < b.until
) AS a
ORDER BY b.bucket
"""
    )
    .bindparams(
        bindparam("width", type_=Interval()),
        bindparam("first_bucket", type_=DateTime()),
        bindparam("last", type_=DateTime()),
        *RANGE_BINDS,
    )
    .columns(bucket=DateTime())
)
# For the aggregation on PostgreSQL, for this transaction only: the planner cannot see how few
# buckets there are (it expects one group per row from time_bucket, a thousand from
# generate_series, each costed as a scan of many rows), so it would JIT-compile the query (over
# a second of compilation to save nothing) and, grouping, sort on disk instead of hashing in
# memory.
PG_AGGREGATION_SETTINGS = text(
    "SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)"
)


def aggregated_statement(dialect: str):
    """AGGREGATED_ROWS with the backend's bucket expression and parameter types."""
    statement = text(AGGREGATED_ROWS.format(bucket=BUCKET_EXPRESSIONS[dialect]))
    if dialect == "sqlite":
        return statement.bindparams(
            bindparam("tickers", expanding=True),
            bindparam("width", type_=Integer()),
            bindparam("origin", type_=Integer()),
            *RANGE_BINDS,
        )
    return statement.bindparams(
        bindparam("tickers", expanding=True),
        bindparam("width", type_=Interval()),
        bindparam("origin", type_=DateTime()),
        *RANGE_BINDS,
    ).columns(bucket=DateTime())


def price_series(
    tickers,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    max_points: int = MAX_POINTS,
    connection: Connection | None = None,
) -> dict[str, PriceSeries]:
    """Bars of each ticker over [start, end), at most `max_points` per ticker.

    A ticker with no more than `max_points` rows in the range gets its stored rows; the others
    get OHLCV buckets (first open, max high, min low, last close, summed volume) of one width
    for all of them, the smallest nice width that fits the range they span. Tickers without
    rows in the range are absent from the result.
    """
    if max_points < 3:
        raise ValueError("max_points must be at least 3")
    names = clean_tickers(tickers)
    low, high = time_range(start, end)
    if not names or low >= high:
        return {}
    connection = connection or current_connection()
    raw_names = []
    extents = {}  # ticker to be aggregated: (first time, last time) in the range
    for name in names:
        extent = connection.execute(
            EXTENT, {"ticker": name, "start": low, "end": high, "limit": max_points + 1}
        ).one()
        if extent.row_count == 0:
            continue
        if extent.row_count <= max_points:
            raw_names.append(name)
        else:
            extents[name] = (extent.first_time, extent.last_time)
    result: dict[str, PriceSeries] = {}
    if raw_names:
        rows = connection.execute(RAW_ROWS, {"tickers": raw_names, "start": low, "end": high})
        for row in rows:
            result.setdefault(row.ticker, PriceSeries(row.ticker)).append(row[1:])
    if extents:
        first = min(first for first, _ in extents.values())
        last = max(last for _, last in extents.values())
        width = bucket_width(last - first, max_points)
        result |= aggregated_series(connection, extents, low, high, width)
    return {name: result[name] for name in names if name in result}


def aggregated_series(
    connection: Connection,
    extents: dict[str, tuple[datetime, datetime]],
    low: datetime,
    high: datetime,
    width: timedelta,
) -> dict[str, PriceSeries]:
    """Buckets of `width` for each ticker of `extents` (its first and last time in [low, high))."""
    dialect = bucket_dialect(connection)
    if dialect != "sqlite":
        connection.execute(PG_AGGREGATION_SETTINGS)
    result = {name: PriceSeries(name, width) for name in extents}
    if dialect == "postgresql":
        for name, (first, last) in extents.items():
            params = {
                "ticker": name,
                "start": low,
                "end": high,
                "width": width,
                "first_bucket": ORIGIN + (first - ORIGIN) // width * width,
                "last": last,
            }
            for row in connection.execute(BUCKET_ROWS, params):
                result[name].append(row)
        return result
    params = {"tickers": list(extents), "start": low, "end": high}
    if dialect == "sqlite":
        params |= {"width": int(width.total_seconds()), "origin": ORIGIN_SECONDS}
    else:
        params |= {"width": width, "origin": ORIGIN}
    for row in connection.execute(aggregated_statement(dialect), params):
        bucket = row.bucket
        if dialect == "sqlite":
            bucket = EPOCH + timedelta(seconds=bucket)
        result[row.ticker].append((bucket, *row[2:]))
    return result


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
