"""Price import speed: `flask prices import`'s code path vs `psql \\copy` of the same file.

    .venv/bin/python bench/import_bench.py [--runs 3] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch PostgreSQL database (dropped at the end) and a SQLite file in a temporary
directory, and imports ../shared/data/sp500_daily_2013_2018.csv.gz (619,040 rows):

- `\\copy bare`: psql's client-side COPY of the decompressed file into a table with the same
  columns and no index at all: the floor the issue compares against;
- `\\copy keyed`: the same into a table with stock_prices' primary key (the index every stored
  row must enter, whatever the loader);
- `import (new rows)`: app.prices.importer into an empty stock_prices (parse, validate, binary
  COPY);
- `import (re-import)`: the same file again (every row already stored: the merge path);
- SQLite: the same two imports.

Each variant runs `--runs` times, alternating, on an emptied table; the ratios to the bare
`\\copy` are given best to best (the least disturbed runs of a shared machine) and median to
median. Figures go to stdout as Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import flask_migrate
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.config import engine_options, normalise_database_url  # noqa: E402
from app.extensions import db  # noqa: E402
from app.prices.importing import ImportStats, RejectLog, import_file, open_writer  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "sp500_daily_2013_2018.csv.gz"
ROWS = 619_040


def psql_copy(url: str, table: str, columns: str) -> float:
    """Seconds for psql to \\copy the decompressed file into `table`."""
    command = f"\\copy {table} ({columns}) FROM PROGRAM 'gzip -dc {DATA}' WITH (FORMAT csv, HEADER)"
    started = time.perf_counter()
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", command], check=True)
    return time.perf_counter() - started


def app_for(url: str):
    url = normalise_database_url(url)
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(url, {}),
            "SECRET_KEY": "bench",
            "LOG_LEVEL": "WARNING",
        }
    )


def run_import(app) -> ImportStats:
    """One import of DATA through the importer, timed by the importer itself."""
    with app.app_context():
        writer = open_writer(db.engine)
        rejects = RejectLog(Path(tempfile.gettempdir()) / "bench.rejects.csv", print)
        try:
            stats = import_file(DATA, writer, rejects)
        finally:
            writer.close()
            rejects.close()
        assert stats.read == ROWS and stats.rejected == 0, stats
        return stats


def empty(app) -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM stock_prices")
        connection.exec_driver_sql("DELETE FROM stock_tickers")


def migrate(app) -> None:
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    options = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is missing")

    name = f"stockdash_bench_import_{uuid.uuid4().hex[:8]}"
    url = options.admin_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(options.admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    results: dict[str, list[float]] = {}
    try:
        app = app_for(url)
        migrate(app)
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(
                "CREATE TABLE bare (date timestamp, open float8, high float8, low float8, "
                "close float8, volume bigint, name varchar(16))"
            )
            connection.execute(
                "CREATE TABLE keyed (date timestamp, open float8, high float8, low float8, "
                "close float8, volume bigint, name varchar(16), PRIMARY KEY (name, date))"
            )
        columns = "date, open, high, low, close, volume, name"
        for run in range(options.runs):
            for table in ("bare", "keyed"):
                with psycopg.connect(url, autocommit=True) as connection:
                    connection.execute(f"TRUNCATE {table}")
                seconds = psql_copy(url, table, columns)
                results.setdefault(f"psql \\copy into {table} table", []).append(seconds)
            with app.app_context(), db.engine.begin() as connection:
                connection.exec_driver_sql("TRUNCATE stock_prices, stock_tickers")
            first = run_import(app)
            results.setdefault("PostgreSQL import, new rows", []).append(first.seconds)
            again = run_import(app)
            assert again.inserted == 0
            results.setdefault("PostgreSQL re-import, all rows stored", []).append(again.seconds)
            print(f"run {run + 1}: done", file=sys.stderr)
        with app.app_context():
            db.engine.dispose()

        with tempfile.TemporaryDirectory() as directory:
            sqlite_app = app_for(f"sqlite:///{directory}/bench.db")
            migrate(sqlite_app)
            for _ in range(options.runs):
                empty(sqlite_app)
                results.setdefault("SQLite import, new rows", []).append(
                    run_import(sqlite_app).seconds
                )
                results.setdefault("SQLite re-import, all rows stored", []).append(
                    run_import(sqlite_app).seconds
                )
            with sqlite_app.app_context():
                db.engine.dispose()
    finally:
        with psycopg.connect(options.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    floor = min(results["psql \\copy into bare table"])
    floor_median = statistics.median(results["psql \\copy into bare table"])
    print(
        f"| variant ({ROWS:,} rows) | best s | median s | rows/s (best) | vs \\copy bare, best "
        "| vs \\copy bare, median |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for variant, seconds in results.items():
        best, median = min(seconds), statistics.median(seconds)
        print(
            f"| {variant} | {best:.2f} | {median:.2f} | {ROWS / best:,.0f} | "
            f"{floor / best:.2f}x | {floor_median / median:.2f}x |"
        )


if __name__ == "__main__":
    main()
