"""The tickers directory and the home watchlist: page time at 500 and 5,000 tickers, 1M and 10M
stored rows, and the exactness of the per-ticker summary they read.

    .venv/bin/python bench/tickers_bench.py [--tickers 500,5000] [--rows 1000000,10000000]
        [--runs 15] [--admin-url URL] [--quick]

For each ticker count, two scratch PostgreSQL databases (dropped at the end) are migrated and
filled in SQL with `generate_series`: every ticker with a name and an industry and the same
number of daily bars, 1M and 10M rows in all (loaded behind the importer's back, so the summary
is made by `flask prices stats --rebuild`, the operator's command for that case). Then 50
tickers get new bars through `flask prices import`, and again with changed closes through
`--replace`, and the summary is compared with an aggregate over every stored row (the exactness
check). A bench user watches 20 tickers.

Pages, through the Flask test client of a production-configured app (logged in, real CSRF):
`/tickers/` (first page), a deep page (`after=`), `sort=change`, a search `q`, and `/` (home with
the watchlist). Each page is fetched once per database to warm up, then the two databases take
turns `--runs` times, so that load from elsewhere weighs on both alike; the medians count.
Targets: at most 50 ms warm, and the 10M/1M ratio at most 1.3.
"""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

from harness import (
    BENCH_EMAIL,
    BENCH_PASSWORD,
    POSTGRES_ADMIN_URL,
    alternate,
    bench_config,
    markdown_table,
    migrate,
    option_parser,
    parse_options,
    scratch_database,
    verdict,
)
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.support.users import AuthActions

TARGET_MS = 50
TARGET_RATIO = 1.3
INDUSTRIES = ("Energy", "Materials", "Industrials", "Consumer Discretionary", "Consumer Staples",
              "Health Care", "Financials", "Information Technology", "Communication Services",
              "Utilities", "Real Estate")  # fmt: skip
FILL = [
    "INSERT INTO stock_tickers (ticker, name, industry) "
    "SELECT 'T' || lpad(t::text, 4, '0'), 'Company ' || t || ' Holdings', "
    "(%(industries)s::text[])[1 + t %% 11] FROM generate_series(1, %(tickers)s) AS t",
    "ALTER TABLE stock_prices DROP CONSTRAINT pk_stock_prices",
    # Bars end on the same day for every ticker; more rows reach further back.
    "INSERT INTO stock_prices (ticker, time, open, high, low, close, volume) "
    "SELECT 'T' || lpad(t::text, 4, '0'), "
    "timestamp '2018-02-07' - (%(days)s - 1 - d) * interval '1 day', p, p + 1, p - 1, "
    "p + sin(d + t) / 2, 1000 + (d * 7919 + t) %% 5000 "
    "FROM generate_series(1, %(tickers)s) AS t CROSS JOIN generate_series(0, %(days)s - 1) AS d "
    "CROSS JOIN LATERAL (SELECT 100 + 20 * sin(d / 50.0 + t) AS p) AS x",
    "ALTER TABLE stock_prices ADD CONSTRAINT pk_stock_prices PRIMARY KEY (ticker, time)",
    "VACUUM ANALYZE stock_prices",
    "ANALYZE stock_tickers",
]
# The summary the slow way: an aggregate over every stored row.
EXPECTED = text(
    "SELECT ticker, min(time) AS first_time, max(time) AS last_time, "
    "(array_agg(close ORDER BY time DESC))[1] AS last_close, "
    "(array_agg(close ORDER BY time DESC))[2] AS previous_close "
    "FROM stock_prices GROUP BY ticker ORDER BY ticker"
)
STORED = text(
    "SELECT ticker, first_time, last_time, last_close, previous_close FROM ticker_stats "
    "ORDER BY ticker"
)


def fill(app, tickers: int, rows: int) -> None:
    """Generate the names and prices, summarise them, create and log in the bench user."""
    migrate(app)
    started = time.perf_counter()
    with app.app_context(), db.engine.connect() as connection:
        raw = connection.connection.driver_connection
        raw.autocommit = True
        params = {"tickers": tickers, "days": rows // tickers, "industries": list(INDUSTRIES)}
        for statement in FILL:
            raw.execute(statement, params)
        raw.autocommit = False
    runner = app.test_cli_runner()
    for args in (["prices", "stats", "--rebuild"],
                 ["users", "create", "--email", BENCH_EMAIL, "--first-name", "Bench",
                  "--last-name", "Mark", "--password-stdin"]):  # fmt: skip
        result = runner.invoke(args=args, input=BENCH_PASSWORD + "\n")
        if result.exit_code != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.output}")
    print(f"{tickers:,} tickers x {rows // tickers:,} bars generated in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip


def import_and_check(app, tickers: int) -> bool:
    """New bars for 50 tickers through `prices import`, then changed closes through --replace;
    True when the summary equals the aggregate over every row afterwards."""
    runner = app.test_cli_runner()
    chosen = [f"T{t:04d}" for t in range(1, tickers + 1, max(1, tickers // 50))][:50]
    with TemporaryDirectory() as folder:
        path = Path(folder, "new.csv")
        for close in (1.25, 2.5):
            path.write_text("date,close,ticker\n" + "".join(
                f"2018-02-{day:02d},{close + day},{t}\n" for t in chosen for day in (8, 9)
            ))  # fmt: skip
            args = ["prices", "import", str(path)] + (["--replace"] if close == 2.5 else [])
            result = runner.invoke(args=args)
            if result.exit_code != 0:
                raise RuntimeError(f"import failed:\n{result.output}")
    with app.app_context():
        stored = [tuple(r) for r in db.session.execute(STORED)]
        expected = [tuple(r) for r in db.session.execute(EXPECTED)]
        changed = db.session.execute(
            text("SELECT last_close FROM ticker_stats WHERE ticker = :t"), {"t": chosen[0]}
        ).scalar_one()
        db.session.remove()
    return stored == expected and changed == 2.5 + 9


def logged_in_client(app):
    """A test client logged in as the bench user, who watches 20 tickers."""
    client = app.test_client()
    response = AuthActions(client).login(BENCH_EMAIL, BENCH_PASSWORD)
    if response.status_code != 302:
        raise RuntimeError(f"login failed: {response.status_code}")
    with app.app_context():
        db.session.execute(text(
            "INSERT INTO watchlist (user_id, ticker, added_at) "
            "SELECT u.id, t.ticker, now() FROM users u CROSS JOIN "
            "(SELECT ticker FROM stock_tickers ORDER BY ticker DESC LIMIT 20) t"
        ))  # fmt: skip
        db.session.commit()
    return client


def pages(tickers: int) -> dict[str, str]:
    """The pages timed, by label."""
    middle = f"T{tickers // 2:04d}"
    return {
        "/tickers/": "/tickers/",
        "/tickers/ deep page": f"/tickers/?after={middle}",
        "/tickers/?sort=change": "/tickers/?sort=change",
        "/tickers/?q=… (search)": "/tickers/?q=holdings&sort=name",
        "/ (home, 20 watched)": "/",
    }


def get(client, path: str):
    """One page; anything but a 200 is an error of the benchmark."""
    def fetch():
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
        return len(response.data)

    return fetch


def main() -> None:
    """Build the databases, check exactness, time every page, print the tables."""
    parser = option_parser(__doc__, runs=15)
    parser.add_argument("--tickers", default="500,5000", help="ticker counts (500,5000)")
    parser.add_argument("--rows", default="1000000,10000000", help="two row counts (1M,10M)")
    parser.add_argument("--admin-url", default=POSTGRES_ADMIN_URL)
    options = parse_options(parser, tickers="50", rows="5000,20000", runs=1)
    ticker_counts = [int(n) for n in options.tickers.split(",")]
    small, large = (int(n) for n in options.rows.split(","))

    table, exact_all, fast_all = [], True, True
    for tickers in ticker_counts:
        with ExitStack() as stack:
            apps = {}
            for rows in (small, large):
                url = stack.enter_context(scratch_database("stockdash_bench_tickers",
                                                           options.admin_url))  # fmt: skip
                app = create_app(bench_config(url))
                fill(app, tickers, rows)
                exact = import_and_check(app, tickers)
                exact_all &= exact
                print(f"{tickers:,} tickers, {rows:,} rows: summary exact: {exact}",
                      file=sys.stderr)  # fmt: skip
                apps[rows] = app
            clients = {rows: logged_in_client(app) for rows, app in apps.items()}
            for label, path in pages(tickers).items():
                timings = alternate(
                    {rows: get(client, path) for rows, client in clients.items()}, options.runs
                )
                small_ms = timings[small].median * 1000
                large_ms = timings[large].median * 1000
                ratio = large_ms / small_ms
                fast = max(small_ms, large_ms) <= TARGET_MS and ratio <= TARGET_RATIO
                fast_all &= fast
                table.append([f"{tickers:,}", label, f"{small_ms:.1f}", f"{large_ms:.1f}",
                              f"{ratio:.2f}", verdict(fast)])  # fmt: skip
            for app in apps.values():
                with app.app_context():
                    db.engine.dispose()
    header = ["tickers", "page", f"{small:,} rows ms", f"{large:,} rows ms", "ratio", "target"]
    print("\n".join(markdown_table(header, "llrrrl", table)))
    print(f"\nsummary exact after generate + rebuild, import and --replace: {verdict(exact_all)}"
          f"\npage time <= {TARGET_MS} ms and ratio <= {TARGET_RATIO}: {verdict(fast_all)}"
          f" (medians of {options.runs} alternating runs)")  # fmt: skip


if __name__ == "__main__":
    main()
