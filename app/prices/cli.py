"""`flask prices import|demo|tickers|stats|delete|rollups`: price data from the command line."""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import psycopg
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.prices.deleting import UnknownTickers, delete_tickers, demo_tickers, known_tickers
from app.prices.demo import DatabaseNotEmpty, load_demo
from app.prices.importing import (
    DEFAULT_BATCH_SIZE,
    ColumnError,
    DamagedFile,
    ImportStats,
    RejectLog,
    WarningLog,
    default_rejects_path,
    default_warnings_path,
    import_file,
    import_ticker_names,
    open_writer,
)
from app.prices.rollups import Runner, check, rebuild
from app.prices.tickers import InvalidTicker, parse_ticker

prices_cli = AppGroup("prices", help="Load, delete and check price data.")
# Driver errors come through unwrapped: the importer talks to the DBAPI connection directly.
DATABASE_ERRORS = (SQLAlchemyError, psycopg.Error, sqlite3.Error)
# Exit codes of `prices import` (README, "Price data"); with several files the worst one counts.
EXIT_REJECTED = 1  # rows rejected, or a file without a usable header: the good rows are stored
EXIT_DAMAGED = 3  # a file cut or corrupt: the rows before the damage are stored, none after
EXIT_DATABASE = 4  # the database failed: the batch in progress was rolled back
EXIT_INTERRUPTED = 130


def echo_error(message: str) -> None:
    """A message for the operator on standard error."""
    click.echo(message, err=True)


@contextlib.contextmanager
def progress_bar(path: Path) -> Iterator[Callable[[int], None] | None]:
    """A progress bar over the file's bytes on a terminal; nothing otherwise (logs, pipes)."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(
        length=path.stat().st_size, label=path.name, file=sys.stderr, show_eta=True
    ) as bar:
        yield bar.update


@prices_cli.command("import")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--replace", is_flag=True, help="Update stored rows whose values differ.")
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write rejected rows here (default: NAME.rejects.csv beside each input).",
)
@click.option(
    "--warnings",
    "warnings_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the warnings here (default: NAME.warnings.csv beside each input).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Rows per transaction.",
)
def import_command(
    paths: tuple[Path, ...],
    replace: bool,
    rejects_path: Path | None,
    warnings_path: Path | None,
    batch_size: int,
) -> None:
    """Import OHLCV rows from CSV files (plain or .gz), upserting on (ticker, time).

    Exits 0 when every row was stored, 1 when rows were rejected (the good ones are kept), 3
    when a file is cut or damaged (the rows before the damage are kept), 4 on a database error,
    130 when interrupted.
    """
    total = ImportStats()
    status = 0
    shared_rejects = RejectLog(rejects_path, echo_error) if rejects_path else None
    shared_warnings = WarningLog(warnings_path, echo_error) if warnings_path else None
    writer = None
    try:
        writer = open_writer(db.engine, replace)
        for path in paths:
            rejects = shared_rejects or RejectLog(default_rejects_path(path), echo_error)
            warnings = shared_warnings or WarningLog(default_warnings_path(path), echo_error)
            stats = ImportStats()
            try:
                with progress_bar(path) as progress:
                    import_file(
                        path,
                        writer,
                        rejects,
                        warnings=warnings,
                        batch_size=batch_size,
                        replace=replace,
                        progress=progress,
                        stats=stats,
                    )
            except ColumnError as error:
                echo_error(f"{path}: {error}")
                status = max(status, EXIT_REJECTED)
            except DamagedFile as error:
                echo_error(f"{path}: {error}")
                status = max(status, EXIT_DAMAGED)
            except OSError as error:  # cannot be opened (a read error later is DamagedFile)
                echo_error(f"{path}: cannot read the file: {error.strerror or error}")
                status = max(status, EXIT_REJECTED)
            except DATABASE_ERRORS as error:  # the files after this one are not read
                echo_error(f"Database error, the batch in progress was rolled back: {error}")
                status = EXIT_DATABASE
            finally:
                if rejects is not shared_rejects:
                    rejects.close()
                if warnings is not shared_warnings:
                    warnings.close()
            click.echo(stats.summary(str(path)))
            report_logs(path, stats, rejects, warnings)
            if stats.rejected:
                status = max(status, EXIT_REJECTED)
            total.add(stats)
            if status == EXIT_DATABASE:
                break
    except KeyboardInterrupt:
        echo_error(
            "Interrupted: every batch stored before the interruption is kept; "
            "the one in progress was rolled back. Run the same command again to finish."
        )
        raise SystemExit(EXIT_INTERRUPTED) from None
    except DATABASE_ERRORS as error:
        echo_error(f"Database error, the batch in progress was rolled back: {error}")
        raise SystemExit(EXIT_DATABASE) from None
    finally:
        if writer is not None:
            writer.close()
        for log in (shared_rejects, shared_warnings):
            if log is not None:
                log.close()
    if len(paths) > 1:
        click.echo(total.summary("total"))
    if status:
        raise SystemExit(status)


def report_logs(path: Path, stats: ImportStats, rejects: RejectLog, warnings: WarningLog) -> None:
    """Where this file's rejects and warnings were written, with the warnings by kind."""
    if stats.rejected and not rejects.failed:
        click.echo(f"{path}: {stats.rejected} rejected rows written to {rejects.path}")
    if stats.warnings:
        where = "" if warnings.failed else f", written to {warnings.path}"
        click.echo(f"{path}: {stats.warnings} warnings ({stats.warning_counts()}){where}")


@prices_cli.command("demo")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing (and exit 0) when stock_prices already has rows; `make run` uses this.",
)
def demo_command(if_empty: bool) -> None:
    """Fill an empty database with generated, clearly labelled demo prices."""
    try:
        count = load_demo(db.engine)
    except DatabaseNotEmpty:
        if if_empty:
            click.echo("Price data already present: demo data not loaded.")
            return
        echo_error(
            "stock_prices already has rows; the demo data only fills an empty database "
            "(use --if-empty to make this a no-op)."
        )
        raise SystemExit(1) from None
    except DATABASE_ERRORS as error:
        echo_error(f"Database error, nothing was loaded: {error}")
        raise SystemExit(1) from None
    click.echo(f"Loaded {count} demo price rows (tickers named '... (demo)').")


@prices_cli.command("tickers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write rejected rows here (default: NAME.rejects.csv beside the input).",
)
def tickers_command(path: Path, rejects_path: Path | None) -> None:
    """Load ticker names and industries from a CSV (ticker, name, industry)."""
    log = RejectLog(rejects_path or default_rejects_path(path), echo_error)
    try:
        with db.engine.begin() as connection:
            read, stored = import_ticker_names(path, connection, log)
    except ColumnError as error:
        echo_error(f"{path}: {error}")
        raise SystemExit(1) from None
    except (OSError, EOFError) as error:
        echo_error(f"{path}: cannot read the file to its end: {error}")
        raise SystemExit(1) from None
    except DATABASE_ERRORS as error:
        echo_error(f"Database error, nothing was stored: {error}")
        raise SystemExit(1) from None
    finally:
        log.close()
    click.echo(f"{path}: {read} rows read, {stored} tickers stored, {log.count} rejected")
    if log.count:
        raise SystemExit(1)


@prices_cli.command("stats")
@click.option("--rebuild", is_flag=True, required=True, help="Recompute every ticker's summary.")
def stats_command(rebuild: bool) -> None:
    """Recompute the per-ticker price summary (last close, change, first and last date) that the
    tickers directory shows; needed only after rows were written behind the importer's back."""
    from app.prices.ticker_stats import rebuild_ticker_stats

    try:
        with db.engine.begin() as connection:
            count = rebuild_ticker_stats(connection)
    except DATABASE_ERRORS as error:
        echo_error(f"Database error, nothing was changed: {error}")
        raise SystemExit(1) from None
    click.echo(f"Rebuilt the price summary of {count} ticker(s).")


# What `prices delete` reports, per table, in this order.
DELETED_LABELS = (
    ("notes", "notes"),
    ("watchlist", "watchlist entries"),
    ("ticker_stats", "ticker summaries"),
    ("stock_prices", "price rows"),
    ("stock_prices_hourly", "hourly rollup rows"),
    ("stock_prices_daily", "daily rollup rows"),
    ("stock_rollup_tickers", "rollup settings"),
    ("stock_tickers", "ticker names"),
)


def unknown_message(tickers: list[str]) -> str:
    """What `prices delete` says about tickers it does not know."""
    return f"Unknown tickers (no prices, no name): {', '.join(tickers)}; nothing deleted."


@prices_cli.command("delete")
@click.argument("tickers", nargs=-1)
@click.option("--demo", is_flag=True, help="Delete the demo tickers (`prices demo`).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_command(tickers: tuple[str, ...], demo: bool, yes: bool) -> None:
    """Delete tickers with their prices, rollups, names, watchlist entries and notes (one
    transaction).

    Exits 1, deleting nothing, when a ticker is unknown or not a ticker symbol.
    """
    if demo == bool(tickers):
        raise click.UsageError("name the tickers to delete, or give --demo (not both)")
    if demo:
        names = demo_tickers(db.engine)
        if not names:
            click.echo("No demo tickers are stored: nothing deleted.")
            return
    else:
        names = []
        for text in tickers:
            try:
                names.append(parse_ticker(text))
            except InvalidTicker as error:
                echo_error(f"{text!r}: {error}")
                raise SystemExit(1) from None
        unknown = sorted(set(names) - known_tickers(db.engine, names))
        if unknown:
            echo_error(unknown_message(unknown))
            raise SystemExit(1)
    names = sorted(set(names))
    if not yes:
        listed = ", ".join(names)
        question = (
            f"Delete {listed} with their prices, rollups, names, watchlist entries and notes?"
        )
        click.confirm(question, abort=True)
    try:
        deleted = delete_tickers(db.engine, names)
    except UnknownTickers as error:  # deleted by someone else since the check above
        echo_error(unknown_message(error.tickers))
        raise SystemExit(1) from None
    except DATABASE_ERRORS as error:
        echo_error(f"Database error, nothing was deleted: {error}")
        raise SystemExit(1) from None
    counts = ", ".join(
        f"{deleted.rows[table]} {label}" for table, label in DELETED_LABELS if table in deleted.rows
    )
    click.echo(f"Deleted {len(deleted.tickers)} tickers ({', '.join(deleted.tickers)}): {counts}.")


@prices_cli.command("rollups")
@click.option("--check", "check_only", is_flag=True, help="Compare the levels with the prices.")
@click.option("--rebuild", "rebuild_all", is_flag=True, help="Recompute every level.")
def rollups_command(check_only: bool, rebuild_all: bool) -> None:
    """Check (exit 1 on any mismatch) or rebuild the hourly and daily rollups, e.g. after rows
    were loaded behind the app's back."""
    if check_only == rebuild_all:
        raise click.UsageError("give --check or --rebuild")
    try:
        if check_only:
            with db.engine.connect() as connection:
                mismatches = check(Runner.for_sqlalchemy(connection))
            for table, count in mismatches.items():
                click.echo(f"{table}: {count} mismatched rows")
            if any(mismatches.values()):
                echo_error("The rollups disagree with the prices: run `prices rollups --rebuild`.")
                raise SystemExit(1)
            return
        with db.engine.connect() as connection:
            timescale = Runner.for_sqlalchemy(connection).timescale
        # TimescaleDB refreshes its aggregates outside transactions; the tables are rebuilt in one.
        engine = db.engine
        if timescale:
            engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        with engine.begin() as connection:
            counts = rebuild(Runner.for_sqlalchemy(connection))
    except DATABASE_ERRORS as error:
        echo_error(f"Database error, nothing was changed: {error}")
        raise SystemExit(1) from None
    click.echo("Rebuilt: " + ", ".join(f"{table} {count} rows" for table, count in counts.items()))
