"""CSV price import: parsing and validation in Python, batched upserts in the database.

Each batch of rows is written in one transaction, so an interrupted import keeps every earlier
batch and nothing of the broken one, and a concurrent reader only ever sees whole batches appear.
Existing rows are never deleted first (no TRUNCATE-then-load): a re-import upserts on
`(ticker, time)`, leaving rows alone unless `replace` is set.

On PostgreSQL a batch is streamed with COPY, straight into `stock_prices` while batches are all
new rows, else into a temporary table merged with `INSERT ... ON CONFLICT`; on SQLite it is an
`executemany` of the same upsert. A writer thread stores one batch while the next is parsed.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import math
import operator
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

import psycopg
from sqlalchemy import text as text_clause
from sqlalchemy.engine import Connection, Engine

from app.models import TICKER_MAX

DEFAULT_BATCH_SIZE = 50_000
BIGINT_MAX = 2**63 - 1
# Header names accepted for each field, in order of preference (a file may have both a `ticker`
# and a company `name` column: the ticker wins).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("date", "time", "timestamp", "datetime"),
    "ticker": ("ticker", "symbol", "name"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume",),
}
REQUIRED_COLUMNS = ("time", "ticker", "close")
# A parsed row, in the column order of `stock_prices`.
Row = tuple[str, datetime, float | None, float | None, float | None, float, int | None]


class RejectedRow(ValueError):
    """A row that cannot be stored; the message is the reason shown to the operator."""


class ColumnError(ValueError):
    """The header lacks a required column."""


@dataclass
class ImportStats:
    """Counts for one file (or the sum over several)."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    warnings: int = 0
    seconds: float = 0.0

    @property
    def unchanged(self) -> int:
        """Good rows that were already stored with the same key (or repeated in the file)."""
        return self.read - self.rejected - self.inserted - self.updated

    @property
    def rows_per_second(self) -> float:
        """Rows read per second of wall time."""
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def add(self, other: ImportStats) -> None:
        """Accumulate `other` into this total."""
        for name in ("read", "inserted", "updated", "rejected", "warnings", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self, label: str) -> str:
        """One line for the operator."""
        return (
            f"{label}: {self.read} rows read, {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected, {self.warnings} warnings "
            f"in {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s)"
        )


def resolve_columns(header: list[str]) -> dict[str, int]:
    """Map each field to its column index; header names match case-insensitively, trimmed."""
    names = [name.strip().lower() for name in header]
    columns: dict[str, int] = {}
    for field, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in names:
                columns[field] = names.index(alias)
                break
    missing = [field for field in REQUIRED_COLUMNS if field not in columns]
    if missing:
        wanted = " / ".join("/".join(COLUMN_ALIASES[field]) for field in missing)
        raise ColumnError(f"the header has no {wanted} column (found: {', '.join(names)})")
    return columns


def short(text: str, limit: int = 40) -> str:
    """`text` quoted for a message, cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_time(text: str) -> datetime:
    """An ISO date or date-time; aware values are converted to naive UTC (the column's zone)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise RejectedRow(f"unparsable date {short(text)}") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_price(text: str, name: str) -> float | None:
    """A finite number, or None for an empty field. Python's float() also takes `1_000` and
    non-ASCII digits, which no other CSV reader (PostgreSQL's COPY included) would."""
    if not text:
        return None
    if not text.isascii() or "_" in text:
        raise RejectedRow(f"unparsable {name} {short(text)}")
    try:
        value = float(text)
    except ValueError:
        raise RejectedRow(f"unparsable {name} {short(text)}") from None
    if not math.isfinite(value):
        raise RejectedRow(f"{name} is not a finite number: {short(text)}")
    return value


def parse_volume(text: str) -> int | None:
    """A whole, non-negative number that fits a BIGINT (`1.5e6` is accepted), or None."""
    if not text:
        return None
    if not text.isascii() or "_" in text:
        raise RejectedRow(f"unparsable volume {short(text)}")
    try:
        value = int(text)
    except ValueError:
        number = parse_price(text, "volume")
        if number is None or not number.is_integer():
            raise RejectedRow(f"volume is not a whole number: {short(text)}") from None
        value = int(number)
    if not 0 <= value <= BIGINT_MAX:
        raise RejectedRow(f"volume out of range: {short(text)}")
    return value


COPY_NULL = "\\N"
FIELDS = ("ticker", "time", "open", "high", "low", "close", "volume")
CACHE_LIMIT = 100_000  # distinct tickers or times remembered; bounds memory on odd files


class RowParser:
    """Turns the fields of one CSV record into a `Row`, or raises `RejectedRow`.

    Most records take a fast path: ticker and time strings repeat (505 tickers, 1,259 dates in
    the S&P file), so each distinct string is validated once and remembered, and the numbers of
    a record with all seven values go through float()/int() directly. Anything unusual (a
    missing value, an exponent, a separator, a bad value) falls to the general path, which
    either accepts the record with the same result or rejects it with the reason.
    """

    def __init__(self, columns: dict[str, int]):
        self.columns = columns
        self.width = max(columns.values()) + 1
        self._times: dict[str, tuple[datetime, str]] = {}
        self._tickers: dict[str, str | None] = {}
        self._pick = (
            operator.itemgetter(*(columns[name] for name in FIELDS))
            if all(name in columns for name in FIELDS)
            else None
        )

    def field(self, fields: list[str], name: str) -> str:
        """The trimmed text of column `name`, '' when the file has no such column."""
        index = self.columns.get(name)
        return "" if index is None else fields[index].strip()

    def parse_time(self, text: str) -> tuple[datetime, str]:
        """`parse_time` of the trimmed text, and its COPY text; remembered per distinct string."""
        parsed = self._times.get(text)
        if parsed is None:
            when = parse_time(text.strip())
            parsed = (when, when.isoformat(" "))
            if len(self._times) > CACHE_LIMIT:
                self._times.clear()
            self._times[text] = parsed
        return parsed

    def ticker(self, text: str) -> str:
        """The canonical ticker (trimmed, upper case); remembered per distinct string."""
        ticker = self._tickers.get(text)
        if ticker is None:
            ticker = text.strip().upper()
            if not ticker:
                raise RejectedRow("missing ticker")
            if len(ticker) > TICKER_MAX:
                raise RejectedRow(f"ticker longer than {TICKER_MAX} characters: {short(ticker)}")
            if not ticker.isprintable():
                raise RejectedRow(
                    f"ticker has unprintable or undecodable characters: {short(ticker)}"
                )
            if len(self._tickers) > CACHE_LIMIT:
                self._tickers.clear()
            self._tickers[text] = ticker
        return ticker

    def parse(self, fields: list[str]) -> tuple[Row, str, bool]:
        """The row; the same row as a line of PostgreSQL's COPY text format; and whether it
        deserves a warning (a missing optional value, or close outside low-high)."""
        if len(fields) < self.width:
            raise RejectedRow(f"expected {self.width} fields, found {len(fields)}")
        if self._pick is not None:
            ticker_text, time_text, open_, high, low, close, volume = self._pick(fields)
            # Seen (and validated) before by the general path, which fills both caches.
            ticker = self._tickers.get(ticker_text)
            parsed_time = self._times.get(time_text)
            numbers = open_ + high + low + close + volume
            # float() also takes "1_000", non-ASCII digits, "nan" and "inf": the general path
            # refuses those.
            if ticker and parsed_time and "_" not in numbers and numbers.isascii():
                try:
                    o, h, lo, c, v = (
                        float(open_),
                        float(high),
                        float(low),
                        float(close),
                        int(volume),
                    )
                except ValueError:
                    pass  # a missing value, an exponent in the volume: the general path decides
                else:
                    if math.isfinite(o + h + lo + c) and 0 <= v <= BIGINT_MAX:
                        # A ticker may hold a backslash, COPY's escape character.
                        escaped = ticker.replace("\\", "\\\\") if "\\" in ticker else ticker
                        line = f"{escaped}\t{parsed_time[1]}\t{o!r}\t{h!r}\t{lo!r}\t{c!r}\t{v}"
                        warning = not lo <= c <= h
                        return (ticker, parsed_time[0], o, h, lo, c, v), line, warning
        return self._parse_general(fields)

    def _parse_general(self, fields: list[str]) -> tuple[Row, str, bool]:
        ticker = self.ticker(self.field(fields, "ticker"))
        time_text = self.field(fields, "time")
        if not time_text:
            raise RejectedRow("missing date")
        when = self.parse_time(time_text)[0]
        close = parse_price(self.field(fields, "close"), "close")
        if close is None:
            raise RejectedRow("missing close")
        open_ = parse_price(self.field(fields, "open"), "open")
        high = parse_price(self.field(fields, "high"), "high")
        low = parse_price(self.field(fields, "low"), "low")
        volume = parse_volume(self.field(fields, "volume"))
        warning = open_ is None or high is None or low is None or volume is None
        if high is not None and low is not None and not low <= close <= high:
            warning = True
        row = (ticker, when, open_, high, low, close, volume)
        return row, copy_line(row), warning


def copy_line(row: Row) -> str:
    """`row` in COPY text format; repr() of a finite float is exact and always valid input."""
    ticker = row[0].replace("\\", "\\\\")  # the only special character a ticker may contain
    values = (COPY_NULL if value is None else repr(value) for value in row[2:])
    return "\t".join((ticker, row[1].isoformat(" "), *values))


class BatchWriter(Protocol):
    """Writes one batch of rows in one transaction; returns (inserted, updated). `lines` are the
    same rows in COPY text format when the caller has them (the PostgreSQL writer sends those)."""

    def write(self, rows: list[Row], lines: list[str] | None = None) -> tuple[int, int]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


# Fixed SQL (no input is ever formatted into it); the stage is a per-session temporary table.
PG_CREATE_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS stockdash_import_stage ("
    "ticker varchar(16), time timestamp, open float8, high float8, low float8, "
    "close float8, volume bigint) ON COMMIT DELETE ROWS"
)
PG_COPY_STAGE = (
    "COPY stockdash_import_stage (ticker, time, open, high, low, close, volume) FROM STDIN"
)
PG_COPY_DIRECT = "COPY stock_prices (ticker, time, open, high, low, close, volume) FROM STDIN"
PG_MERGE_NEW = (
    "INSERT INTO stock_prices (ticker, time, open, high, low, close, volume) "
    "SELECT ticker, time, open, high, low, close, volume FROM stockdash_import_stage "
    "ON CONFLICT (ticker, time) DO NOTHING"
)
# The rows just inserted equal their stage rows, so only rows that existed with other values are
# touched and counted.
PG_MERGE_CHANGED = (
    "UPDATE stock_prices AS p SET open = s.open, high = s.high, low = s.low, close = s.close, "
    "volume = s.volume FROM stockdash_import_stage AS s "
    "WHERE p.ticker = s.ticker AND p.time = s.time AND "
    "(p.open, p.high, p.low, p.close, p.volume) IS DISTINCT FROM "
    "(s.open, s.high, s.low, s.close, s.volume)"
)
PG_DROP_STAGE = "DROP TABLE IF EXISTS stockdash_import_stage"
INSERT_TICKER = "INSERT INTO stock_tickers (ticker) VALUES ({}) ON CONFLICT DO NOTHING"
SQLITE_INSERT_NEW = (
    "INSERT INTO stock_prices (ticker, time, open, high, low, close, volume) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticker, time) DO NOTHING"
)
SQLITE_UPDATE_CHANGED = (
    "UPDATE stock_prices SET open = ?3, high = ?4, low = ?5, close = ?6, volume = ?7 "
    "WHERE ticker = ?1 AND time = ?2 AND (open IS NOT ?3 OR high IS NOT ?4 OR low IS NOT ?5 "
    "OR close IS NOT ?6 OR volume IS NOT ?7)"
)


class PostgresWriter:
    """COPY straight into `stock_prices` while batches are all new rows; otherwise COPY into a
    session-private temporary table and merge from it.

    The direct COPY runs under a savepoint: a key that already exists makes it fail and roll back
    to the savepoint, and the batch is merged instead. Merging costs about twice as much as COPY
    (row-at-a-time speculative inserts), so a first load takes the direct path, and a re-import
    returns to it as soon as a merged batch turns out to be all new rows.
    """

    def __init__(self, engine: Engine, replace: bool):
        self.replace = replace
        self._pool_connection = engine.raw_connection()
        self.connection = self._pool_connection.driver_connection
        self.connection.autocommit = True  # transactions are explicit, one per batch
        self.connection.execute(PG_CREATE_STAGE)
        self.known_tickers = {
            row[0] for row in self.connection.execute("SELECT ticker FROM stock_tickers")
        }
        self.try_direct = True

    def _copy(self, cursor, statement: str, rows: list[Row], lines: list[str] | None) -> None:
        with cursor.copy(statement) as copy:
            if lines is None:
                for row in rows:
                    copy.write_row(row)
            else:
                copy.write("\n".join(lines) + "\n")

    def write(self, rows: list[Row], lines: list[str] | None = None) -> tuple[int, int]:
        """Store `rows` in one transaction."""
        new_tickers = {row[0] for row in rows} - self.known_tickers
        with self.connection.transaction(), self.connection.cursor() as cursor:
            if new_tickers:
                cursor.executemany(
                    INSERT_TICKER.format("%s"), [(ticker,) for ticker in sorted(new_tickers)]
                )
            if self.try_direct:
                try:
                    with self.connection.transaction():
                        self._copy(cursor, PG_COPY_DIRECT, rows, lines)
                except psycopg.errors.UniqueViolation:
                    self.try_direct = False
                else:
                    self.known_tickers |= new_tickers
                    return len(rows), 0
            self._copy(cursor, PG_COPY_STAGE, rows, lines)
            cursor.execute(PG_MERGE_NEW)
            inserted = cursor.rowcount
            updated = 0
            if self.replace:
                cursor.execute(PG_MERGE_CHANGED)
                updated = cursor.rowcount
        self.try_direct = inserted == len(rows)
        self.known_tickers |= new_tickers
        return inserted, updated

    def cancel(self) -> None:
        """Cancel the statement in progress (called from another thread on Ctrl-C)."""
        self.connection.cancel_safe()

    def close(self) -> None:
        """Drop the stage table and hand the connection back to the pool as it was."""
        try:
            if not self.connection.closed:
                self.connection.execute(PG_DROP_STAGE)
                self.connection.autocommit = False
        finally:
            self._pool_connection.close()


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's DateTime stores on SQLite; range queries compare these strings."""
    return value.isoformat(" ", "microseconds")


class SqliteWriter:
    """`executemany` upserts inside BEGIN IMMEDIATE ... COMMIT."""

    def __init__(self, engine: Engine, replace: bool):
        self.replace = replace
        self._pool_connection = engine.raw_connection()
        self.connection = self._pool_connection.driver_connection
        self._isolation_level = self.connection.isolation_level
        self.connection.isolation_level = None  # no implicit BEGIN: each batch is explicit
        self.known_tickers = {
            row[0] for row in self.connection.execute("SELECT ticker FROM stock_tickers")
        }

    def write(self, rows: list[Row], lines: list[str] | None = None) -> tuple[int, int]:
        """Upsert `rows` in one transaction (`lines` are for PostgreSQL only)."""
        connection = self.connection
        new_tickers = {row[0] for row in rows} - self.known_tickers
        records = [(r[0], sqlite_time(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                INSERT_TICKER.format("?"),
                [(ticker,) for ticker in sorted(new_tickers)],
            )
            before = connection.total_changes
            connection.executemany(SQLITE_INSERT_NEW, records)
            inserted = connection.total_changes - before
            updated = 0
            if self.replace:
                before = connection.total_changes
                connection.executemany(SQLITE_UPDATE_CHANGED, records)
                updated = connection.total_changes - before
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        self.known_tickers |= new_tickers
        return inserted, updated

    def cancel(self) -> None:
        """Abort the statement in progress (called from another thread on Ctrl-C)."""
        self.connection.interrupt()

    def close(self) -> None:
        """Hand the connection back to the pool as it was."""
        self.connection.isolation_level = self._isolation_level
        self._pool_connection.close()


def open_writer(engine: Engine, replace: bool = False) -> BatchWriter:
    """The batch writer for `engine`'s database."""
    if engine.dialect.name == "postgresql":
        return PostgresWriter(engine, replace)
    if engine.dialect.name == "sqlite":
        return SqliteWriter(engine, replace)
    raise NotImplementedError(f"price import does not support {engine.dialect.name}")


def default_rejects_path(source: Path) -> Path:
    """`prices.csv.gz` -> `prices.rejects.csv`, in the same directory."""
    name = source.name
    for suffix in (".gz", ".csv", ".txt"):
        name = name.removesuffix(suffix)
    return source.with_name(name + ".rejects.csv")


class RejectLog:
    """Reports rejected rows: one line per row through `echo`, and a CSV opened on first use."""

    def __init__(self, path: Path, echo: Callable[[str], None]):
        self.path = path
        self.echo = echo
        self.count = 0
        self.failed = False
        self._file: IO[str] | None = None
        self._writer = None

    def add(self, source: str, line: int, reason: str, fields: list[str]) -> None:
        """Record one rejected record (`line` is its last physical line in `source`)."""
        self.count += 1
        self.echo(f"{source}:{line}: {reason}")
        if self._writer is None and not self.failed:
            try:
                # surrogateescape writes undecodable input bytes back as they were read.
                self._file = open(  # noqa: SIM115  (closed by close())
                    self.path, "w", newline="", encoding="utf-8", errors="surrogateescape"
                )
            except OSError as error:
                self.failed = True
                self.echo(f"{self.path}: cannot write the rejects file: {error.strerror}")
                return
            self._writer = csv.writer(self._file)
            self._writer.writerow(["file", "line", "reason", "record"])
        if self._writer is not None:
            self._writer.writerow([source, line, reason, *fields])

    def close(self) -> None:
        """Flush and close the CSV, if one was written."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None


def open_text(path: Path) -> tuple[IO[str], IO[bytes]]:
    """A text stream over a plain or gzipped file (detected by content), and the raw file whose
    position measures progress. A UTF-8 BOM is skipped; undecodable bytes are kept as surrogates
    so that one bad byte rejects one row rather than the whole file."""
    raw = open(path, "rb")  # noqa: SIM115  (closed by the caller)
    binary: IO[bytes] = raw
    if raw.read(2) == b"\x1f\x8b":
        binary = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    raw.seek(0)
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    return text, raw


class BackgroundWriter:
    """Runs `writer.write()` in a thread, so that the database stores one batch while Python
    parses the next (the driver releases the GIL while it waits for the server). At most one
    batch waits in the queue, which bounds memory."""

    def __init__(self, writer: BatchWriter):
        self.writer = writer
        self.inserted = 0
        self.updated = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[list[Row], list[str]] | None] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="price-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                inserted, updated = self.writer.write(*item)
            except BaseException as error:  # handed to the main thread by _check()
                self.error = error
                return
            self.inserted += inserted
            self.updated += updated

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def _put(self, item: tuple[list[Row], list[str]] | None) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        self._check()

    def submit(self, rows: list[Row], lines: list[str]) -> None:
        """Queue one batch; blocks while the previous one waits. Raises the writer's error."""
        self._check()
        self._put((rows, lines))

    def finish(self) -> None:
        """Wait until every queued batch is stored; raises the writer's error, if any."""
        self._put(None)
        self._thread.join()
        self._check()

    def abort(self) -> None:
        """Cancel the batch in progress (its transaction rolls back) and stop the thread."""
        if self._thread.is_alive():
            self.writer.cancel()
            with contextlib.suppress(queue.Empty):
                self._queue.get_nowait()  # a batch not started yet is simply dropped
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            self._thread.join()


def import_file(
    path: Path,
    writer: BatchWriter,
    rejects: RejectLog,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
    stats: ImportStats | None = None,
) -> ImportStats:
    """Import one CSV file through `writer`, counting into `stats` (so that the caller keeps the
    counts of the batches already stored when this raises). Raises ColumnError for an unusable
    header and OSError/EOFError when the file cannot be read to its end."""
    stats = stats if stats is not None else ImportStats()
    started = time.perf_counter()
    source = str(path)
    text, raw = open_text(path)
    background: BackgroundWriter | None = None
    try:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            raise ColumnError("the file is empty")
        parser = RowParser(resolve_columns(header))
        background = BackgroundWriter(writer)
        batch: dict[tuple[str, datetime], tuple[Row, str]] = {}
        position = 0

        def flush() -> None:
            nonlocal position
            if batch:
                parsed = list(batch.values())
                background.submit([row for row, _ in parsed], [line for _, line in parsed])
                batch.clear()
            if progress is not None:
                now = raw.tell()
                progress(now - position)
                position = now

        for fields in iterate_records(reader, rejects, source, stats):
            stats.read += 1
            try:
                row, line, warning = parser.parse(fields)
            except RejectedRow as error:
                stats.rejected += 1
                rejects.add(source, reader.line_num, str(error), fields)
                continue
            key = (row[0], row[1])
            if key in batch:
                # A key repeated in one batch: the first copy wins, as it does across batches
                # (or the last with `replace`, as across batches).
                warning = True
                if replace:
                    batch[key] = (row, line)
            else:
                batch[key] = (row, line)
            stats.warnings += warning
            if len(batch) >= batch_size:
                flush()
        flush()
        background.finish()
    except BaseException:
        if background is not None:
            background.abort()
        raise
    finally:
        if background is not None:
            stats.inserted += background.inserted
            stats.updated += background.updated
        stats.seconds = time.perf_counter() - started
        text.close()
        raw.close()
    return stats


def iterate_records(
    reader: Iterable[list[str]], rejects: RejectLog, source: str, stats: ImportStats
):
    """The non-blank records of `reader`; a record the csv module cannot split (e.g. a field
    over its size limit) is counted and rejected instead of ending the file."""
    records = iter(reader)
    while True:
        try:
            fields = next(records)
        except StopIteration:
            return
        except csv.Error as error:
            stats.read += 1
            stats.rejected += 1
            rejects.add(source, getattr(reader, "line_num", 0), f"malformed CSV: {error}", [])
            continue
        if fields:
            yield fields


TICKER_NAME_ALIASES: dict[str, tuple[str, ...]] = {
    "ticker": ("ticker", "symbol"),
    "name": ("name", "company", "security"),
    "industry": ("industry", "sector", "gics sector"),
}
NAME_MAX = 255


def import_ticker_names(path: Path, connection: Connection, rejects: RejectLog) -> tuple[int, int]:
    """Upsert names and industries from a CSV with ticker, name and industry columns; an empty
    name or industry keeps the stored one. Returns (rows read, rows stored); the caller commits."""
    text, raw = open_text(path)
    with raw, text:
        reader = csv.reader(text)
        header = [name.strip().lower() for name in next(reader, None) or []]
        columns = {}
        for field, aliases in TICKER_NAME_ALIASES.items():
            found = [header.index(alias) for alias in aliases if alias in header]
            if found:
                columns[field] = found[0]
        if "ticker" not in columns:
            found = ", ".join(header)
            raise ColumnError(f"the header has no ticker/symbol column (found: {found})")
        width = max(columns.values()) + 1
        records = []
        read = 0
        for fields in iterate_records(reader, rejects, str(path), ImportStats()):
            read += 1
            values = {
                field: fields[index].strip() if index < len(fields) else ""
                for field, index in columns.items()
            }
            ticker = values["ticker"].upper()
            if len(fields) < width:
                reason = f"expected {width} fields, found {len(fields)}"
            elif not ticker:
                reason = "missing ticker"
            elif len(ticker) > TICKER_MAX or not ticker.isprintable():
                reason = f"ticker longer than {TICKER_MAX} characters or unprintable"
            elif any(len(value) > NAME_MAX for value in values.values()):
                reason = f"name or industry longer than {NAME_MAX} characters"
            else:
                records.append(
                    {
                        "ticker": ticker,
                        "name": values.get("name") or None,
                        "industry": values.get("industry") or None,
                    }
                )
                continue
            rejects.add(str(path), reader.line_num, reason, fields)
    if records:
        connection.execute(
            text_clause(
                "INSERT INTO stock_tickers (ticker, name, industry) "
                "VALUES (:ticker, :name, :industry) ON CONFLICT (ticker) DO UPDATE SET "
                "name = COALESCE(excluded.name, stock_tickers.name), "
                "industry = COALESCE(excluded.industry, stock_tickers.industry)"
            ),
            records,
        )
    return read, len(records)
