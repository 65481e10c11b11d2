"""Price import speed: `flask prices import`'s code path vs `psql \\copy` of the same file.

    .venv/bin/python bench/import_bench.py [--runs 3] [--admin-url URL] [--quick]

Creates a scratch PostgreSQL database (dropped at the end) and a SQLite file in a temporary
directory, and imports the real file (`STOCKDASH_TEST_DATA`, by default
../shared/data/sp500_daily_2013_2018.csv.gz, 619,040 rows; or any file of its layout):

- `\\copy bare`: psql's client-side COPY of the decompressed file into a table with the same
  columns and no index at all: the floor the issue compares against;
- `\\copy keyed`: the same into a table with stock_prices' primary key (the index every stored
  row must enter, whatever the loader);
- `import (new rows)`: app.prices.importing into an empty stock_prices (parse, validate, binary
  COPY);
- `import (re-import)`: the same file again (every row already stored: the merge path);
- SQLite: the same two imports;
- `parse only`: the whole file through the importer into a writer that discards the batches
  (no database: the parser's own cost).

Each variant runs `--runs` times, alternating, on an emptied table; the ratios to the bare
`\\copy` are given best to best (the least disturbed runs of a shared machine) and median to
median. Figures go to stdout as Markdown.
"""

from __future__ import annotations

import gzip
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from harness import (
    POSTGRES_ADMIN_URL,
    bench_config,
    markdown_table,
    migrate,
    option_parser,
    parse_options,
    require_real_file,
    rounds,
    scratch_database,
)

from app import create_app
from app.extensions import db
from app.prices.importing import ImportStats, RejectLog, import_file, open_writer
from tests.support.apps import TABLES

COLUMNS = "date, open, high, low, close, volume, name"
BARE, KEYED = "psql \\copy into bare table", "psql \\copy into keyed table"


def count_rows(data: Path) -> int:
    """The data rows of the gzipped CSV `data` (its lines after the header)."""
    with gzip.open(data, "rb") as file:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b"")) - 1


def psql_copy(url: str, table: str, data: Path) -> float:
    """Seconds for psql to \\copy the decompressed file `data` into `table` (emptied first)."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {table}")
    command = f"\\copy {table} ({COLUMNS}) FROM PROGRAM 'gzip -dc {data}' WITH (FORMAT csv, HEADER)"
    started = time.perf_counter()
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", command], check=True)
    return time.perf_counter() - started


def run_import(app, data: Path) -> ImportStats:
    """One import of `data` through the importer, timed by the importer itself."""
    with app.app_context():
        writer = open_writer(db.engine)
        rejects = RejectLog(Path(tempfile.gettempdir()) / "bench.rejects.csv", print)
        try:
            stats = import_file(data, writer, rejects)
        finally:
            writer.close()
            rejects.close()
        assert stats.read and stats.rejected == 0, stats
        return stats


class DiscardWriter:
    """A writer that stores nothing: what is left of an import is the parse."""

    def write(self, rows) -> tuple[int, int]:
        """Count the batch as inserted, store nothing."""
        return len(rows), 0

    def cancel(self) -> None:
        """Nothing is ever in progress."""

    def close(self) -> None:
        """Nothing to release."""


def parse_only(data: Path) -> float:
    """Seconds for the importer to read and parse `data`, the batches discarded."""
    rejects = RejectLog(Path(tempfile.gettempdir()) / "bench.rejects.csv", print)
    try:
        stats = import_file(data, DiscardWriter(), rejects)
    finally:
        rejects.close()
    assert stats.read and stats.rejected == 0, stats
    return stats.seconds


def empty(app) -> None:
    """Empty every table the tests fill (TRUNCATE on PostgreSQL, DELETE where that is all there
    is): prices, tickers and what refers to them (rollups, summaries, watchlists)."""
    statements = [f"DELETE FROM {table}" for table in TABLES]  # noqa: S608 (constant names)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        statements = [f"TRUNCATE {', '.join(TABLES)}"]
    with app.app_context(), db.engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def new_rows_then_again(app, data: Path) -> tuple[float, float]:
    """An import into an emptied table, then the same file again (every row already stored);
    the seconds of each."""
    empty(app)
    first = run_import(app, data)
    again = run_import(app, data)
    assert again.inserted == 0
    return first.seconds, again.seconds


def main() -> None:
    """Load the real file every way in turn, --runs rounds, and print the table."""
    parser = option_parser(__doc__, runs=3, what="rounds of every variant")
    parser.add_argument("--admin-url", default=POSTGRES_ADMIN_URL)
    options = parse_options(parser, runs=1)
    data = require_real_file()

    with scratch_database("stockdash_bench_import", options.admin_url) as url:
        app = create_app(bench_config(url))
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
        postgres = rounds(
            options.runs,
            {
                BARE: lambda: psql_copy(url, "bare", data),
                KEYED: lambda: psql_copy(url, "keyed", data),
                "PostgreSQL": lambda: new_rows_then_again(app, data),
            },
        )
        with app.app_context():
            db.engine.dispose()

    with tempfile.TemporaryDirectory() as directory:
        sqlite_app = create_app(bench_config(f"sqlite:///{directory}/bench.db"))
        migrate(sqlite_app)
        sqlite = rounds(
            options.runs,
            {
                "SQLite": lambda: new_rows_then_again(sqlite_app, data),
                "parse": lambda: parse_only(data),
            },
        )
        with sqlite_app.app_context():
            db.engine.dispose()

    results = {BARE: postgres[BARE], KEYED: postgres[KEYED]}
    for backend, imports in (("PostgreSQL", postgres["PostgreSQL"]), ("SQLite", sqlite["SQLite"])):
        results[f"{backend} import, new rows"] = [first for first, _ in imports]
        results[f"{backend} re-import, all rows stored"] = [again for _, again in imports]
    results["parse only (batches discarded)"] = sqlite["parse"]
    print(table(results, count_rows(data)))


def table(results: dict[str, list[float]], rows_in_file: int) -> str:
    """Best and median seconds of every variant, and their ratios to the bare \\copy."""
    floor = min(results[BARE])
    floor_median = statistics.median(results[BARE])
    header = [f"variant ({rows_in_file:,} rows)", "best s", "median s", "rows/s (best)"]
    header += ["vs \\copy bare, best", "vs \\copy bare, median"]
    rows = []
    for variant, seconds in results.items():
        best, median = min(seconds), statistics.median(seconds)
        rows.append(
            [variant, f"{best:.2f}", f"{median:.2f}", f"{rows_in_file / best:,.0f}",
             f"{floor / best:.2f}x", f"{floor_median / median:.2f}x"]
        )  # fmt: skip
    return "\n".join(markdown_table(header, "lrrrrr", rows))


if __name__ == "__main__":
    main()
