"""What the two dashboard benchmarks share: a scratch PostgreSQL database with real prices, a
user to log in as, and the year of minute bars the large-data case needs.

The real file is read from ../shared/data (never copied into the repository); only the rows of
the benchmarked tickers are written to a temporary CSV and imported with `flask prices import`.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import secrets
import sys
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REAL_FILE = PROJECT_ROOT.parent / "shared" / "data" / "sp500_daily_2013_2018.csv.gz"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = secrets.token_urlsafe(12)
MINUTE_TICKER = "MINUTE"

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))  # `app` and `dashapp` live at the project root


def create_scratch_database(prefix: str) -> str:
    """Create an empty database with a unique name and return its URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_scratch_database(url: str) -> None:
    """Drop the scratch database, disconnecting whatever is still attached to it."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_config(database_url: str) -> dict:
    """App configuration for a benchmark: production settings, no rate limit (the bench sends
    many requests from one address), quiet logs."""
    from app.config import engine_options, normalise_database_url

    url = normalise_database_url(database_url)
    return {
        "SECRET_KEY": secrets.token_hex(16),
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(url, {}),
        "RATELIMIT_ENABLED": False,
        "LOG_LEVEL": "WARNING",
    }


def write_real_subset(path: Path, tickers: tuple[str, ...]) -> int:
    """Copy the real file's rows of `tickers` to `path` (plain CSV); return the row count."""
    written = 0
    with gzip.open(REAL_FILE, "rt", newline="") as source, path.open("w", newline="") as target:
        reader = csv.reader(source)
        writer = csv.writer(target)
        header = next(reader)
        writer.writerow(header)
        name = header.index("Name")
        for row in reader:
            if row[name] in tickers:
                writer.writerow(row)
                written += 1
    return written


def write_minute_bars(path: Path, ticker: str = MINUTE_TICKER, days: int = 252) -> int:
    """A year of trading-hours one-minute bars (390 a weekday, 98,280 rows), the same shape as
    the large-data test's; return the row count."""
    day, written = datetime(2021, 1, 4, 9, 30), 0
    with path.open("w") as file:
        file.write("time,ticker,open,high,low,close,volume\n")
        while written < days * 390:
            if day.weekday() < 5:
                for minute in range(390):
                    stamp = day + timedelta(minutes=minute)
                    price = 100 + math.sin(written / 500) * 10 + (minute % 7) / 10
                    file.write(
                        f"{stamp:%Y-%m-%d %H:%M:%S},{ticker},{price:.2f},"
                        f"{price + 0.05:.2f},{price - 0.05:.2f},{price:.2f},{minute + 100}\n"
                    )
                    written += 1
            day += timedelta(days=1)
    return written


def prepare_database(app, csv_paths: list[Path]) -> None:
    """Migrate, import `csv_paths` with the real import command, and create the bench user."""
    import flask_migrate

    from app.extensions import db

    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    runner = app.test_cli_runner()
    for path in csv_paths:
        result = runner.invoke(args=["prices", "import", str(path)])
        if result.exit_code != 0:
            raise RuntimeError(f"import of {path} failed:\n{result.output}")
    result = runner.invoke(
        args=["users", "create", "--email", BENCH_EMAIL, "--first-name", "Bench",
              "--last-name", "Mark", "--password-stdin"],
        input=BENCH_PASSWORD + "\n",
    )  # fmt: skip
    if result.exit_code != 0:
        raise RuntimeError(f"creating the bench user failed:\n{result.output}")
    with app.app_context():
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE stock_prices")
        db.engine.dispose()
