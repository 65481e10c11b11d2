"""Series query on a large table: `queries.price_series` vs the naive `SELECT *` of the range.

    .venv/bin/python bench/series_bench.py [--tickers 20] [--days 365] [--runs 7]
        [--admin-url URL] [--quick]

Creates a scratch PostgreSQL database (dropped at the end), applies the migrations and fills
stock_prices in SQL with `generate_series`: --tickers tickers x --days days of minute bars
(20 x 365 x 1440 = 10.5M rows by default), one ticker after the other, as `prices import` of
per-ticker files stores them. Then, for one ticker:

- naive: `SELECT * ... WHERE ticker = :t AND time >= :start AND time < :end ORDER BY time`,
  every row fetched into Python, as a dashboard without aggregation would;
- raw: `price_series(..., use_rollups=False)`, the aggregation of the raw rows (before rollups);
- series: `price_series([ticker], start, end)` (at most 2,000 bars), from the hourly and daily
  rollups where they fit (built after the load, as `prices import` keeps them);

over the whole year (the issue's target), and over shorter ranges to show that the rows
returned stay bounded. Each is run once to warm the cache, then naive, raw and series alternate
--runs times, so that load from other processes weighs on both alike; the medians count.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

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


def main() -> None:
    """Generate the table, time both queries over each range, print the table."""
    parser = option_parser(__doc__, runs=7)
    parser.add_argument("--tickers", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--admin-url", default=POSTGRES_ADMIN_URL)
    options = parse_options(parser, tickers=2, days=7, runs=1)

    with scratch_database("stockdash_bench_series", options.admin_url) as url:
        # No statement timeout: generating the data takes minutes.
        app = create_app(bench_config(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True}))
        migrate(app)
        with app.app_context():
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
                raw.autocommit = False
            # The rows came in behind the importer's back: build the levels it would have kept.
            with db.engine.begin() as connection:
                rebuild(Runner.for_sqlalchemy(connection))
            with db.engine.connect() as connection:
                raw = connection.connection.driver_connection
                raw.autocommit = True
                raw.execute("VACUUM ANALYZE")
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
            rows = []
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

                def series(begin=begin, use_rollups=True):
                    with db.engine.connect() as connection:
                        return queries.price_series(
                            [ticker], begin, end, connection=connection, use_rollups=use_rollups
                        )

                variants = {"naive": naive, "raw": lambda s=series: s(use_rollups=False)}
                timings = alternate({**variants, "series": series}, options.runs)
                assert timings["raw"].result == timings["series"].result, "answers differ"
                naive_s, series_s = timings["naive"].median, timings["series"].median
                bars = len(timings["series"].result[ticker])
                assert bars <= queries.MAX_POINTS
                rows.append(
                    [label, f"{len(timings['naive'].result):,}", f"{naive_s * 1000:.0f}",
                     f"{bars:,}", f"{timings['raw'].median * 1000:.0f}",
                     f"{series_s * 1000:.0f}", f"{series_s / naive_s:.3f}"]
                )  # fmt: skip
            header = ["range", "naive rows", "naive ms", "series rows", "raw ms", "series ms"]
            print("\n".join(markdown_table([*header, "series/naive"], "lrrrrrr", rows)))
            five = [f"T{i:02d}" for i in range(1, min(6, options.tickers + 1))]

            def several():
                with db.engine.connect() as connection:
                    return queries.price_series(five, START, end, connection=connection)

            timing = alternate({"several": several}, options.runs)["several"]
            bars = max(len(s) for s in timing.result.values())
            print(
                f"\n{len(five)} tickers over the whole range: {timing.median * 1000:.0f} ms, "
                f"at most {bars} bars per ticker"
            )
            db.engine.dispose()


if __name__ == "__main__":
    main()
