"""Chart query with rollups: `price_series` from the levels vs from raw rows vs the naive query.

    .venv/bin/python bench/rollups_bench.py [--years 5] [--others 4] [--runs 5]
        [--admin-url URL | --sqlite] [--quick]

Creates a scratch PostgreSQL database (dropped at the end), or with --sqlite a scratch SQLite
file (deleted at the end), applies the migrations and fills stock_prices in SQL (PostgreSQL's
`generate_series`, SQLite's recursive CTE): ticker BIG with --years years of one-minute bars
(5 x 365 x 1440 = 2.6M rows) among --others tickers of 90 days of minute bars, then builds the
rollups with `prices rollups --rebuild`'s function (the same rows the importer keeps). Then,
for BIG, over the whole range and over its last month, side by side (`harness.alternate`):

- naive: every row of the range fetched into Python;
- raw: `price_series(..., use_rollups=False)`, today's aggregation of the raw rows;
- rollups: `price_series(...)`, buckets from the coarsest fitting level.

The answers of raw and rollups are compared (they must be equal). Also printed: the sizes of
stock_prices and of the levels.
"""

from __future__ import annotations

import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from harness import (
    POSTGRES_ADMIN_URL,
    alternate,
    bench_config,
    markdown_table,
    migrate,
    option_parser,
    parse_options,
    scratch_database,
)
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.prices import queries
from app.prices.rollups import Runner, rebuild

START = datetime(2019, 1, 1)
NAIVE = text(
    "SELECT ticker, time, open, high, low, close, volume FROM stock_prices "
    "WHERE ticker = :ticker AND time >= :start AND time < :end ORDER BY time"
)
GENERATE = """
INSERT INTO stock_prices (ticker, time, open, high, low, close, volume)
SELECT %(ticker)s, ts, p, p + 0.4, p - 0.4, p + 0.1, abs(hashint4(m)::bigint) %% 5000
FROM generate_series(0, %(minutes)s - 1) AS m
CROSS JOIN LATERAL (SELECT %(start)s::timestamp + m * interval '1 minute' AS ts,
                           100 + 20 * sin(m / 5000.0) + (m %% 97) / 100.0 AS p) AS x
"""
# The same rows for SQLite (no hashint4; times as SQLAlchemy's DateTime stores them there).
GENERATE_SQLITE = """
WITH RECURSIVE m(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM m WHERE x < :minutes - 1)
INSERT INTO stock_prices (ticker, time, open, high, low, close, volume)
SELECT :ticker, strftime('%Y-%m-%d %H:%M:%S.000000', :start, '+' || x || ' minutes'),
       p, p + 0.4, p - 0.4, p + 0.1, (x * 2654435761) % 5000
FROM (SELECT x, 100 + 20 * sin(x / 5000.0) + (x % 97) / 100.0 AS p FROM m)
"""
SIZE = "SELECT pg_size_pretty(pg_total_relation_size(%s))"
SIZE_SQLITE = (
    "SELECT sum(pgsize) FROM dbstat "
    "WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = ?)"
)
TABLES = ("stock_prices", "stock_prices_hourly", "stock_prices_daily")


@contextmanager
def scratch_sqlite():
    """The URL of an empty SQLite file, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="stockdash_bench_rollups_") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


def generate_postgres(minutes: int, others: int) -> None:
    """Fill stock_prices (BIG and the others) on PostgreSQL."""
    with db.engine.connect() as connection:
        raw = connection.connection.driver_connection
        raw.autocommit = True
        raw.execute(GENERATE, {"ticker": "BIG", "minutes": minutes, "start": START})
        for number in range(others):
            raw.execute(GENERATE, {"ticker": f"O{number}", "minutes": 90 * 1440, "start": START})
        raw.autocommit = False


def generate_sqlite(minutes: int, others: int) -> None:
    """Fill stock_prices (BIG and the others) on SQLite, in one transaction."""
    start = START.strftime("%Y-%m-%d %H:%M:%S")
    with db.engine.begin() as connection:
        connection.execute(
            text(GENERATE_SQLITE), {"ticker": "BIG", "minutes": minutes, "start": start}
        )
        for number in range(others):
            connection.execute(
                text(GENERATE_SQLITE),
                {"ticker": f"O{number}", "minutes": 90 * 1440, "start": start},
            )


def table_sizes(sqlite: bool) -> dict[str, str]:
    """Each table's size with its indexes, after VACUUM (ANALYZE)."""
    with db.engine.connect() as connection:
        raw = connection.connection.driver_connection
        if sqlite:
            raw.execute("VACUUM")
            raw.execute("ANALYZE")
            sizes = {
                table: raw.execute(SIZE_SQLITE, (table,)).fetchone()[0] for table in TABLES
            }
            return {table: f"{size / 1024:,.0f} kB" for table, size in sizes.items()}
        raw.autocommit = True
        raw.execute("VACUUM ANALYZE")
        sizes = {table: raw.execute(SIZE, (table,)).fetchone()[0] for table in TABLES}
        raw.autocommit = False
        return sizes


def main() -> None:
    """Generate the data, build the rollups, time the three queries, print the table."""
    parser = option_parser(__doc__, runs=5)
    parser.add_argument("--years", type=float, default=5)
    parser.add_argument("--others", type=int, default=4)
    parser.add_argument("--admin-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--sqlite", action="store_true", help="a scratch SQLite file instead")
    options = parse_options(parser, years=0.2, others=1, runs=1)

    scratch = (
        scratch_sqlite()
        if options.sqlite
        else scratch_database("stockdash_bench_rollups", options.admin_url)
    )
    with scratch as url:
        app = create_app(bench_config(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True}))
        migrate(app)
        with app.app_context():
            minutes = int(options.years * 365 * 24 * 60)
            end = START + timedelta(minutes=minutes)
            started = time.perf_counter()
            (generate_sqlite if options.sqlite else generate_postgres)(minutes, options.others)
            with db.engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO stock_tickers (ticker) SELECT DISTINCT ticker FROM stock_prices"
                ))  # fmt: skip
            generated = time.perf_counter() - started
            started = time.perf_counter()
            with db.engine.begin() as connection:
                levels = rebuild(Runner.for_sqlalchemy(connection))
            built = time.perf_counter() - started
            sizes = table_sizes(options.sqlite)
            with db.engine.connect() as connection:
                total = connection.execute(text("SELECT count(*) FROM stock_prices")).scalar_one()
            print(
                f"generated {total:,} rows in {generated:.0f} s; rollups rebuilt in {built:.0f} s "
                f"({levels}); sizes {sizes}",
                file=sys.stderr,
            )
            rows, medians = [], {}
            for label, begin in (("whole range", START), ("last month", end - timedelta(30))):
                with db.engine.connect() as connection:
                    params = {"ticker": "BIG", "start": begin, "end": end}

                    def naive(params=params, connection=connection):
                        return len(connection.execute(NAIVE, params).all())

                    def series(begin=begin, connection=connection, use_rollups=True):
                        return queries.price_series(
                            ["BIG"], begin, end, connection=connection, use_rollups=use_rollups
                        )

                    timings = alternate(
                        {
                            "naive": naive,
                            "raw": lambda series=series: series(use_rollups=False),
                            "rollups": series,
                        },
                        options.runs,
                    )
                assert timings["raw"].result == timings["rollups"].result, "answers differ"
                medians[label] = {name: t.median for name, t in timings.items()}
                m = medians[label]
                rows.append([
                    label,
                    f"{timings['naive'].result:,}",
                    f"{m['naive'] * 1000:.1f}",
                    f"{m['raw'] * 1000:.1f}",
                    f"{m['rollups'] * 1000:.1f}",
                    f"{m['rollups'] / m['naive']:.4f}",
                    f"{len(timings['rollups'].result['BIG']):,}",
                ])  # fmt: skip
            header = ["range", "rows", "naive ms", "raw ms", "rollups ms", "rollups/naive", "bars"]
            print("\n".join(markdown_table(header, "lrrrrrr", rows)))
            flat = medians["whole range"]["rollups"] / medians["last month"]["rollups"]
            print(f"\nwhole range / last month (rollups): {flat:.2f}x")
            print(f"sizes: {sizes}")
            db.engine.dispose()


if __name__ == "__main__":
    main()
