"""Price series: each ticker's bars over a range, never more than `max_points` of them.

A ticker with few rows in the range gets them as stored; the others get OHLCV buckets of one
nice width, aggregated by the database. On plain PostgreSQL each bucket is read by its own range
scans of the primary key (`BUCKET_ROWS`); TimescaleDB (`time_bucket`) and SQLite (integer
arithmetic on epoch seconds) group the range's rows by a bucket expression (`AGGREGATED_ROWS`).
Where a ticker has pre-aggregated levels (`app.prices.rollups`: hourly, daily) whose width
divides the bucket width, its buckets are built from the coarsest such level instead
(`ROLLUP_ROWS`), and from raw rows only where the range's edges cut a level's bucket: the same
buckets with the same values, read from a few thousand rows whatever the range.
Every value from the caller is a bound parameter; the only SQL chosen here is a fixed statement
per backend (and level).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import DateTime, Integer, Interval, bindparam, text
from sqlalchemy.engine import Connection

from app.prices.queries.arguments import (
    RANGE_BINDS,
    clean_tickers,
    current_connection,
    time_range,
)
from app.prices.rollups import LEVELS, Level, floor_time

MAX_POINTS = 2000
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
BUCKET_EXPRESSIONS = {
    "timescaledb": "time_bucket(:width, time, :origin)",
    # Only for the few rows of ROLLUP_ROWS: grouping raw rows is BUCKET_ROWS' job on PostgreSQL.
    "postgresql": "date_bin(:width, time, :origin)",
    # floor((epoch - origin) / width) * width + origin, with SQLite's truncating `/` and `%`.
    "sqlite": (
        "(CAST(strftime('%s', time) AS INTEGER)"
        " - ((CAST(strftime('%s', time) AS INTEGER) - :origin) % :width + :width) % :width)"
    ),
}
_bucket_dialects: dict[str, str] = {}


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


# One ticker's buckets from a level's rows over [level_start, level_end), the range's aligned
# middle, and from the raw rows of the cut level buckets at its edges, [start, level_start) and
# [level_end, end). Each piece is a row or a level's bucket, disjoint in time, so the first open
# and last close of a bucket are those of its first piece with an open and its last piece,
# looked up by time among the pieces.
ROLLUP_ROWS = """
WITH pieces AS (
    SELECT time, open, high, low, close, volume FROM stock_prices
    WHERE ticker = :ticker AND time >= :start AND time < :level_start
    UNION ALL
    SELECT time, open, high, low, close, volume FROM {level}
    WHERE ticker = :ticker AND time >= :level_start AND time < :level_end
    UNION ALL
    SELECT time, open, high, low, close, volume FROM stock_prices
    WHERE ticker = :ticker AND time >= :level_end AND time < :end
), buckets AS (
    SELECT {bucket} AS bucket,
           min(CASE WHEN open IS NOT NULL THEN time END) AS open_time,
           max(time) AS close_time,
           max(high) AS high, min(low) AS low, sum(volume) AS volume
    FROM pieces
    GROUP BY bucket
)
SELECT b.bucket, o.open, b.high, b.low, c.close, b.volume
FROM buckets b
LEFT JOIN pieces o ON o.time = b.open_time
JOIN pieces c ON c.time = b.close_time
ORDER BY b.bucket
"""
LEVEL_TICKERS = text(
    "SELECT ticker, hourly, daily FROM stock_rollup_tickers WHERE ticker IN :tickers"
).bindparams(bindparam("tickers", expanding=True))


def rollup_statement(dialect: str, level: Level):
    """ROLLUP_ROWS on `level` with the backend's bucket expression and parameter types."""
    statement = text(
        ROLLUP_ROWS.format(level=level.table, bucket=BUCKET_EXPRESSIONS[dialect])
    ).bindparams(
        bindparam("level_start", type_=DateTime()),
        bindparam("level_end", type_=DateTime()),
        *RANGE_BINDS,
    )
    if dialect == "sqlite":
        return statement.bindparams(
            bindparam("width", type_=Integer()), bindparam("origin", type_=Integer())
        )
    return statement.bindparams(
        bindparam("width", type_=Interval()), bindparam("origin", type_=DateTime())
    ).columns(bucket=DateTime())


def level_for(
    connection: Connection, dialect: str, names: list[str], width: timedelta
) -> dict[str, Level]:
    """The coarsest level each ticker of `names` has whose width divides `width` (buckets are
    aligned on ORIGIN, a midnight, so such a level's buckets never straddle two of `width`).
    On TimescaleDB every ticker has every level (continuous aggregates)."""
    fitting = [level for level in LEVELS if width % level.width == timedelta(0)]
    if not fitting:
        return {}
    if dialect == "timescaledb":
        return dict.fromkeys(names, fitting[-1])
    chosen = {}
    for ticker, *flags in connection.execute(LEVEL_TICKERS, {"tickers": names}):
        has = {level.name for level, flag in zip(LEVELS, flags, strict=True) if flag}
        for level in reversed(fitting):
            if level.name in has:
                chosen[ticker] = level
                break
    return chosen


def rollup_series(
    connection: Connection,
    dialect: str,
    name: str,
    level: Level,
    low: datetime,
    high: datetime,
    width: timedelta,
) -> PriceSeries:
    """Buckets of `width` for ticker `name` over [low, high), read from `level`. The level's
    whole buckets inside the range are [level_start, level_end); a range inside one level bucket
    (few points asked of a short range) has none, and is all raw rows."""
    level_start = floor_time(low, level.width)
    if level_start < low:
        level_start += level.width
    level_start = min(level_start, high)
    params = {
        "ticker": name,
        "start": low,
        "end": high,
        "level_start": level_start,
        "level_end": max(floor_time(high, level.width), level_start),
    }
    if dialect == "sqlite":
        params |= {"width": int(width.total_seconds()), "origin": ORIGIN_SECONDS}
    else:
        params |= {"width": width, "origin": ORIGIN}
    series = PriceSeries(name, width)
    for row in connection.execute(rollup_statement(dialect, level), params):
        bucket = EPOCH + timedelta(seconds=row.bucket) if dialect == "sqlite" else row.bucket
        series.append((bucket, *row[1:]))
    return series


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
    use_rollups: bool = True,
) -> dict[str, PriceSeries]:
    """Bars of each ticker over [start, end), at most `max_points` per ticker.

    A ticker with no more than `max_points` rows in the range gets its stored rows; the others
    get OHLCV buckets (first open, max high, min low, last close, summed volume) of one width
    for all of them, the smallest nice width that fits the range they span. Tickers without
    rows in the range are absent from the result. `use_rollups=False` aggregates the raw rows
    even where a level would serve: the reference the tests and benchmarks compare with.
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
        result |= aggregated_series(connection, extents, low, high, width, use_rollups)
    return {name: result[name] for name in names if name in result}


def aggregated_series(
    connection: Connection,
    extents: dict[str, tuple[datetime, datetime]],
    low: datetime,
    high: datetime,
    width: timedelta,
    use_rollups: bool = True,
) -> dict[str, PriceSeries]:
    """Buckets of `width` for each ticker of `extents` (its first and last time in [low, high)),
    from a rollup level where the ticker has one that fits."""
    dialect = bucket_dialect(connection)
    if dialect != "sqlite":
        connection.execute(PG_AGGREGATION_SETTINGS)
    result = {}
    if use_rollups:
        for name, level in level_for(connection, dialect, list(extents), width).items():
            result[name] = rollup_series(connection, dialect, name, level, low, high, width)
        extents = {name: extent for name, extent in extents.items() if name not in result}
        if not extents:
            return result
    result |= {name: PriceSeries(name, width) for name in extents}
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
