"""Series query on a large table: `queries.price_series` vs the naive `SELECT *` of the range.

    .venv/bin/python bench/series_bench.py [--tickers 20] [--days 365] [--runs 7]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch PostgreSQL database (dropped at the end), applies the migrations and fills
stock_prices in SQL with `generate_series`: --tickers tickers x --days days of minute bars
(20 x 365 x 1440 = 10.5M rows by default), one ticker after the other, as `prices import` of
per-ticker files stores them. Then, for one ticker:

- naive: `SELECT * ... WHERE ticker = :t AND time >= :start AND time < :end ORDER BY time`,
  every row fetched into Python, as a dashboard without aggregation would;
- series: `price_series([ticker], start, end)` (at most 2,000 bars);

over the whole year (the issue's target), and over shorter ranges to show that the rows
returned stay bounded. Each is run once to warm the cache, then naive and series alternate
--runs times, so that load from other processes weighs on both alike; the medians count.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import flask_migrate
import psycopg
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.config import normalise_database_url  # noqa: E402
from app.extensions import db  # noqa: E402
from app.prices import queries  # noqa: E402

START = datetime(2023, 1, 1)
NAIVE = text(
    "SELECT ticker, time, open, high, low, close, volume FROM stock_prices "
    "WHERE ticker = :ticker AND time >= :start AND time < :end ORDER BY time"
)
# Prices wander smoothly per ticker; volumes vary. Rows come out ticker by ticker.
GENERATE = """
INSERT INTO stock_prices (ticker, time, open, high, low, close, volume)
SELECT 'T' || lpad(t::text, 2, '0'), ts,
       p, p + 0.4, p - 0.4, p + 0.1, abs(hashint4(t * 7919 + m)::bigint) %% 5000
FROM generate_series(1, %(tickers)s) AS t
CROSS JOIN generate_series(0, %(minutes)s - 1) AS m
CROSS JOIN LATERAL (SELECT %(start)s::timestamp + m * interval '1 minute' AS ts,
                           100 + 20 * sin(m / 5000.0 + t) + (m %% 97) / 100.0 AS p) AS x
"""


def timed(functions, runs: int) -> list[tuple[float, object]]:
    """For each function, the median seconds of `runs` calls after one warm-up call, and its
    last result; the functions take turns, so that a busy moment slows them alike."""
    results = [function() for function in functions]
    seconds = [[] for _ in functions]
    for _ in range(runs):
        for index, function in enumerate(functions):
            started = time.perf_counter()
            results[index] = function()
            seconds[index].append(time.perf_counter() - started)
    return [(statistics.median(s), r) for s, r in zip(seconds, results, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    options = parser.parse_args()

    name = f"stockdash_bench_series_{uuid.uuid4().hex[:8]}"
    url = normalise_database_url(options.admin_url.rsplit("/", 1)[0] + "/" + name)
    with psycopg.connect(options.admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                # no statement timeout: generating the data takes minutes
                "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
                "SECRET_KEY": "bench",
                "LOG_LEVEL": "WARNING",
            }
        )
        with app.app_context():
            flask_migrate.upgrade()
            minutes = options.days * 24 * 60
            started = time.perf_counter()
            with db.engine.connect() as connection:
                raw = connection.connection.driver_connection
                raw.autocommit = True
                # Loading without the primary key and building it afterwards is much faster.
                raw.execute("ALTER TABLE stock_prices DROP CONSTRAINT pk_stock_prices")
                raw.execute(
                    GENERATE, {"minutes": minutes, "tickers": options.tickers, "start": START}
                )
                raw.execute(
                    "ALTER TABLE stock_prices ADD CONSTRAINT pk_stock_prices "
                    "PRIMARY KEY (ticker, time)"
                )
                raw.execute(
                    "INSERT INTO stock_tickers (ticker) SELECT DISTINCT ticker FROM stock_prices"
                )
                raw.execute("VACUUM ANALYZE stock_prices")
                total = raw.execute("SELECT count(*) FROM stock_prices").fetchone()[0]
                size = raw.execute(
                    "SELECT pg_size_pretty(pg_total_relation_size('stock_prices'))"
                ).fetchone()[0]
                raw.autocommit = False
            print(
                f"generated {total:,} rows ({size}) in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )

            ticker = "T01"
            end = START + timedelta(days=options.days)
            print(f"{total:,} rows, {options.tickers} tickers; query for {ticker}:")
            print("| range | naive rows | naive ms | series rows | series ms | series/naive |")
            print("|---|---:|---:|---:|---:|---:|")
            for label, span in (
                (f"whole range ({options.days} days)", end - START),
                ("1 month", timedelta(days=30)),
                ("1 week", timedelta(days=7)),
                ("1 day", timedelta(days=1)),
            ):
                begin = end - span
                params = {"ticker": ticker, "start": begin, "end": end}

                def naive(params=params):
                    with db.engine.connect() as connection:
                        return connection.execute(NAIVE, params).all()

                def series(begin=begin):
                    with db.engine.connect() as connection:
                        return queries.price_series([ticker], begin, end, connection=connection)

                (naive_s, naive_rows), (series_s, result) = timed((naive, series), options.runs)
                bars = len(result[ticker])
                assert bars <= queries.MAX_POINTS
                print(
                    f"| {label} | {len(naive_rows):,} | {naive_s * 1000:.0f} | {bars:,} | "
                    f"{series_s * 1000:.0f} | {series_s / naive_s:.3f} |"
                )
            five = [f"T{i:02d}" for i in range(1, min(6, options.tickers + 1))]

            def several():
                with db.engine.connect() as connection:
                    return queries.price_series(five, START, end, connection=connection)

            [(several_s, result)] = timed((several,), options.runs)
            bars = max(len(s) for s in result.values())
            print(
                f"\n{len(five)} tickers over the whole range: {several_s * 1000:.0f} ms, "
                f"at most {bars} bars per ticker"
            )
            db.engine.dispose()
    finally:
        with psycopg.connect(options.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
