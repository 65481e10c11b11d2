"""Price files for tests and benchmarks: the real S&P 500 file, and CSVs made from it or generated.

The real file is never copied into the repository. Its place is `STOCKDASH_TEST_DATA`, by default
`../shared/data/sp500_daily_2013_2018.csv.gz` beside the project; a relative path is taken from
the project root, so the answer does not depend on the directory pytest or a benchmark runs in.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import DateTime, bindparam, text

from app.extensions import db

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA_VARIABLE = "STOCKDASH_TEST_DATA"
DEFAULT_TEST_DATA = "../shared/data/sp500_daily_2013_2018.csv.gz"
MINUTE_TICKER = "MINUTE"


def real_price_file() -> Path:
    """Where the real price file should be (it may be missing: callers decide what that means)."""
    configured = os.environ.get(TEST_DATA_VARIABLE) or DEFAULT_TEST_DATA
    return (PROJECT_ROOT / Path(configured).expanduser()).resolve()


def write_subset(source: Path, target: Path, tickers: Iterable[str]) -> int:
    """Copy the rows of `tickers` from the gzipped CSV `source` to a plain CSV `target`, header
    included; return how many rows were written."""
    wanted = set(tickers)
    written = 0
    with gzip.open(source, "rt", newline="") as infile, target.open("w", newline="") as outfile:
        reader = csv.reader(infile)
        writer = csv.writer(outfile)
        header = next(reader)
        writer.writerow(header)
        name = header.index("Name")
        for row in reader:
            if row[name] in wanted:
                writer.writerow(row)
                written += 1
    return written


def write_minute_bars(path: Path, ticker: str = MINUTE_TICKER, days: int = 252) -> int:
    """`days` trading days of one-minute bars (390 a weekday from 2021-01-04 09:30; the default
    year is 98,280 rows) for one ticker; return the row count."""
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


def store_prices(ticker: str, times: Iterable[datetime]) -> None:
    """Insert `ticker` and a row at each of `times` straight into the tables, past every check
    of the importer (as imports from before those checks could leave them); closes count up
    from 1. Inside an app context; the caller commits."""
    db.session.execute(text("INSERT INTO stock_tickers (ticker) VALUES (:ticker)"),
                       {"ticker": ticker})
    # Bound as a DateTime, so that SQLite stores the text the importer writes.
    insert = text(
        "INSERT INTO stock_prices (ticker, time, open, high, low, close, volume) "
        "VALUES (:ticker, :time, 1.0, 2.0, 0.5, :close, 10)"
    ).bindparams(bindparam("time", type_=DateTime()))
    db.session.execute(
        insert, [{"ticker": ticker, "time": when, "close": 1.0 + i} for i, when in enumerate(times)]
    )
