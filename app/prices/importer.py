"""CSV price import: vectorised parsing and validation, batched upserts in the database.

Each batch of rows is written in one transaction, so an interrupted import keeps every earlier
batch and nothing of the broken one, and a concurrent reader only ever sees whole batches appear.
Existing rows are never deleted first (no TRUNCATE-then-load): a re-import upserts on
`(ticker, time)`, leaving rows alone unless `replace` is set.

Parsing works on the decompressed bytes, `batch_size` lines at a time. In a chunk without a
quote, NUL or lone carriage return every line is one record whose fields lie between commas, so
numpy splits the whole chunk, converts the numbers and hands each distinct ticker and date text
once to the checks of the row-by-row parser: no Python code runs per row. A row those vectorised
checks do not accept as it is (a missing close, an unusual number, a bad date, a wrong field
count...) goes through the row-by-row parser, which decides and gives the reason for a reject;
a chunk that cannot be split that way (a quoted field may hold commas and newlines) is read by
the csv module. Either way a row gets the same values, warning or reject, and line number.

On PostgreSQL a batch is streamed with binary COPY (the server parses no text), straight into
`stock_prices` while batches are all new rows, else into a temporary table merged with
`INSERT ... ON CONFLICT`; on SQLite it is an `executemany` of the same upsert. A writer thread
stores one batch while the next is parsed.
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
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

import numpy as np
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


FIELDS = ("ticker", "time", "open", "high", "low", "close", "volume")
PRICE_FIELDS = ("open", "high", "low", "close")
CACHE_LIMIT = 100_000  # distinct tickers or times remembered; bounds memory on odd files


class RowParser:
    """Turns the fields of one CSV record into a `Row`, or raises `RejectedRow`.

    Ticker and time strings repeat (505 tickers, 1,259 dates in the S&P file), so each distinct
    string is validated once and remembered (the vectorised path fills the same caches). A
    record with all seven values, its ticker and time seen before, takes a fast path through
    float()/int(); anything unusual (a missing value, an exponent, a separator, a bad value)
    falls to the general path, which either accepts the record with the same result or rejects
    it with the reason.
    """

    def __init__(self, columns: dict[str, int]):
        self.columns = columns
        self.width = max(columns.values()) + 1
        self._times: dict[str, datetime] = {}
        self._tickers: dict[str, str] = {}
        self._pick = (
            operator.itemgetter(*(columns[name] for name in FIELDS))
            if all(name in columns for name in FIELDS)
            else None
        )

    def field(self, fields: list[str], name: str) -> str:
        """The trimmed text of column `name`, '' when the file has no such column."""
        index = self.columns.get(name)
        return "" if index is None else fields[index].strip()

    def parse_time(self, text: str) -> datetime:
        """`parse_time` of the trimmed text; remembered per distinct string."""
        when = self._times.get(text)
        if when is None:
            when = parse_time(text.strip())
            if len(self._times) > CACHE_LIMIT:
                self._times.clear()
            self._times[text] = when
        return when

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

    def parse(self, fields: list[str]) -> tuple[Row, bool]:
        """The row, and whether it deserves a warning (a missing optional value, or close
        outside low-high)."""
        if len(fields) < self.width:
            raise RejectedRow(f"expected {self.width} fields, found {len(fields)}")
        if self._pick is not None:
            ticker_text, time_text, open_, high, low, close, volume = self._pick(fields)
            ticker = self._tickers.get(ticker_text)
            when = self._times.get(time_text)
            numbers = open_ + high + low + close + volume
            # float() also takes "1_000", non-ASCII digits, "nan" and "inf": the general path
            # refuses those.
            if ticker and when and "_" not in numbers and numbers.isascii():
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
                        return (ticker, when, o, h, lo, c, v), not lo <= c <= h
        return self._parse_general(fields)

    def _parse_general(self, fields: list[str]) -> tuple[Row, bool]:
        ticker = self.ticker(self.field(fields, "ticker"))
        time_text = self.field(fields, "time")
        if not time_text:
            raise RejectedRow("missing date")
        when = self.parse_time(time_text)
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
        return (ticker, when, open_, high, low, close, volume), warning


PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01, PostgreSQL's timestamp epoch, in Unix time
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # then no flags and no header extension
COPY_TRAILER = b"\xff\xff"
# The column order of binary COPY: the ticker, the one field of variable length, last.
COPY_COLUMNS = "time, open, high, low, close, volume, ticker"


def copy_row_dtype(ticker_bytes: int) -> np.dtype:
    """One row of binary COPY: the field count, then each field as its byte length and its
    big-endian value (the ticker padded to `ticker_bytes`)."""
    prices = [item for name in PRICE_FIELDS for item in ((f"{name}_size", ">i4"), (name, ">f8"))]
    return np.dtype(
        [
            ("fields", ">i2"),
            ("time_size", ">i4"),
            ("time", ">i8"),
            *prices,
            ("volume_size", ">i4"),
            ("volume", ">i8"),
            ("ticker_size", ">i4"),
            ("ticker", f"S{ticker_bytes}"),
        ]
    )


@dataclass
class Batch:
    """Rows in columns, as a writer stores them in one transaction.

    `names` are the distinct tickers and `ticker` each row's index into them; `prices` has one
    column per PRICE_FIELDS, NaN for a missing value (a stored price is always finite), and
    `volume_missing` flags a missing volume."""

    names: list[str]
    ticker: np.ndarray  # intp
    time: np.ndarray  # datetime64[us], naive UTC
    prices: np.ndarray  # float64, one row per row
    volume: np.ndarray  # int64
    volume_missing: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.ticker)

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> Batch:
        """The batch of `rows` (from the row-by-row parser, the demo data, tests)."""
        rows = list(rows)
        index: dict[str, int] = {}
        ticker = np.array([index.setdefault(row[0], len(index)) for row in rows], np.intp)
        volumes = [row[6] for row in rows]
        return cls(
            names=list(index),
            ticker=ticker,
            time=np.array([row[1] for row in rows], "datetime64[us]"),
            prices=np.array([row[2:6] for row in rows], np.float64).reshape(-1, 4),
            volume=np.array([volume or 0 for volume in volumes], np.int64),
            volume_missing=np.array([volume is None for volume in volumes], bool),
        )

    @classmethod
    def concat(cls, first: Batch, second: Batch) -> Batch:
        """The rows of `first`, then those of `second`."""
        index = {name: number for number, name in enumerate(first.names)}
        remap = np.array([index.setdefault(name, len(index)) for name in second.names], np.intp)
        return cls(
            names=list(index),
            ticker=np.concatenate([first.ticker, remap[second.ticker]]),
            time=np.concatenate([first.time, second.time]),
            prices=np.concatenate([first.prices, second.prices]),
            volume=np.concatenate([first.volume, second.volume]),
            volume_missing=np.concatenate([first.volume_missing, second.volume_missing]),
        )

    def take(self, rows: np.ndarray) -> Batch:
        """The rows selected by `rows` (indexes or a mask), with only the tickers they use (a
        writer creates each in `stock_tickers`)."""
        ticker = self.ticker[rows]
        used = np.flatnonzero(np.bincount(ticker, minlength=len(self.names)))
        renumber = np.zeros(len(self.names), np.intp)
        renumber[used] = np.arange(len(used))
        return Batch(
            names=[self.names[number] for number in used.tolist()],
            ticker=renumber[ticker],
            time=self.time[rows],
            prices=self.prices[rows],
            volume=self.volume[rows],
            volume_missing=self.volume_missing[rows],
        )

    def keys(self, replace: bool) -> tuple[np.ndarray, np.ndarray]:
        """Which rows to store, and which repeat the key of an earlier row: the first copy of a
        key wins, as it does across batches (or the last with `replace`, as across batches)."""
        ticker, when = self.ticker, self.time
        if (
            (ticker[1:] > ticker[:-1]) | ((ticker[1:] == ticker[:-1]) & (when[1:] > when[:-1]))
        ).all():
            return np.ones(len(self), bool), np.zeros(len(self), bool)  # sorted: no key repeats
        order = np.lexsort((when, ticker))  # stable: file order within a key
        ticker, when = ticker[order], when[order]
        same = (ticker[1:] == ticker[:-1]) & (when[1:] == when[:-1])
        repeat = np.zeros(len(self), bool)
        repeat[order[1:][same]] = True
        if not replace:
            return ~repeat, repeat
        superseded = np.zeros(len(self), bool)
        superseded[order[:-1][same]] = True
        return ~superseded, repeat

    def records(self) -> list[tuple]:
        """The rows as tuples for SQLite: times as text the way SQLAlchemy's DateTime stores
        them there (range queries compare those strings), None for a missing value."""
        times, which = np.unique(self.time, return_inverse=True)
        texts = [text.replace("T", " ") for text in np.datetime_as_string(times, unit="us")]
        prices = self.prices.astype(object)
        prices[np.isnan(self.prices)] = None
        volume = self.volume.astype(object)
        volume[self.volume_missing] = None
        return list(
            zip(
                np.array(self.names, object)[self.ticker].tolist(),
                np.array(texts, object)[which.reshape(-1)].tolist(),
                *prices.T.tolist(),
                volume.tolist(),
                strict=True,
            )
        )

    def copy_binary(self, encoding: str) -> bytes:
        """The rows in PostgreSQL's binary COPY format, columns as in COPY_COLUMNS; tickers are
        in `encoding`, the connection's client encoding (the server converts text from it)."""
        encoded = [name.encode(encoding) for name in self.names]
        width = max(map(len, encoded), default=1)
        sizes = np.array([len(name) for name in encoded], np.int64)[self.ticker]
        rows = np.empty(len(self), copy_row_dtype(width))
        rows["fields"] = len(FIELDS)
        rows["time_size"] = 8
        rows["time"] = self.time.astype(np.int64) - PG_EPOCH_US
        missing = np.isnan(self.prices)
        for column, name in enumerate(PRICE_FIELDS):
            rows[f"{name}_size"] = np.where(missing[:, column], -1, 8)
            rows[name] = self.prices[:, column]
        rows["volume_size"] = np.where(self.volume_missing, -1, 8)
        rows["volume"] = self.volume
        rows["ticker_size"] = sizes
        rows["ticker"] = np.array(encoded, f"S{width}")[self.ticker]
        data = rows.view(np.uint8).reshape(len(rows), rows.itemsize)
        # Leave out what a row does not hold: the value of a NULL, the padding after a ticker.
        keep = np.ones(data.shape, bool)
        keep[:, rows.dtype.fields["ticker"][1] :] = np.arange(width) < sizes[:, None]
        nulls = [*zip(PRICE_FIELDS, missing.T, strict=True), ("volume", self.volume_missing)]
        for name, null in nulls:
            if null.any():
                offset = rows.dtype.fields[name][1]
                keep[null, offset : offset + 8] = False
        return COPY_SIGNATURE + data[keep].tobytes() + COPY_TRAILER


@dataclass
class Parsed:
    """A chunk of the file as read: its good rows in file order, whether each deserves a
    warning (repeated keys not counted yet), and the records read and rejected."""

    batch: Batch
    warning: np.ndarray
    read: int
    rejected: int


NEWLINE, COMMA, DOT, ZERO = (ord(char) for char in "\n,.0")
# A decimal of at most this many digits is an integer below 2**53 over a power of ten up to
# 10**15, both exact doubles, so their quotient is rounded exactly as float() rounds the text.
MAX_DIGITS = 15
POWERS_OF_TEN = 10.0 ** np.arange(MAX_DIGITS + 1)
MAX_VOLUME_DIGITS = 18  # always below BIGINT_MAX
TEXT_FIELD_MAX = 64  # bytes of a ticker or date compared whole; a longer one goes row by row


HASH_FACTOR = np.uint64(0x9E3779B97F4A7C15)


def distinct_texts(
    data: np.ndarray, start: np.ndarray, length: np.ndarray, width: int
) -> tuple[list[bytes], np.ndarray]:
    """The distinct byte strings of one field (cut to `width` bytes), and each row's index into
    them. The bytes are compared as 64-bit words folded into one key; keys that collide are
    caught by the check against each row's representative, and then compared whole."""
    width = -(-width // 8) * 8
    fields = np.zeros((len(start), width), np.uint8)
    for column in range(width):  # one column at a time: much faster than one fancy index
        fields[:, column] = np.where(column < length, data[start + column], 0)
    words = fields.view(np.uint64)
    key = words[:, 0].copy()
    for column in range(1, words.shape[1]):
        key = key * HASH_FACTOR ^ words[:, column]
    _, first, which = np.unique(key, return_index=True, return_inverse=True)
    which = which.reshape(-1)
    if not (words == words[first[which]]).all():
        whole = fields.view(f"V{width}").reshape(-1)
        _, first, which = np.unique(whole, return_index=True, return_inverse=True)
        which = which.reshape(-1)
    return fields[first].view(f"S{width}").reshape(-1).tolist(), which


def read_digits(
    data: np.ndarray, start: np.ndarray, length: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For the first `width` bytes of one field per row: the ASCII digits read as one integer
    (exact up to 18 digits), how many digits and dots there are, and how many digits follow
    the first dot."""
    count = len(start)
    value, digits, dots, decimals = (np.zeros(count, np.int64) for _ in range(4))
    for column in range(width):
        byte = data[start + column]
        inside = column < length
        digit = inside & (byte - ZERO < 10)  # uint8: bytes below "0" wrap round to large
        value = np.where(digit, value * 10 + (byte - ZERO), value)
        decimals += digit & (dots > 0)
        digits += digit
        dots += inside & (byte == DOT)
    return value, digits, dots, decimals


class ChunkParser:
    """The vectorised path over chunks of complete lines (see the module docstring), handing
    every row it does not accept as it is to `rows`, the row-by-row parser."""

    def __init__(self, rows: RowParser, header_fields: int, source: str, rejects: RejectLog):
        self.rows = rows
        self.header_fields = header_fields
        self.source = source
        self.rejects = rejects

    def parse(self, chunk: bytes, first_line: int) -> tuple[Parsed, int] | None:
        """The rows of `chunk`, whose first line is line `first_line` + 1 of the file, and its
        number of lines; None when the chunk needs the csv module: it has a quote, a NUL, a lone
        carriage return (a line end for the csv module) or a line over the csv module's field
        size limit."""
        if b'"' in chunk or b"\0" in chunk:
            return None
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n")
            if b"\r" in chunk:
                return None
        if not chunk.endswith(b"\n"):
            chunk += b"\n"  # the last line of a file without a final newline
        # Zeros after the end: bytes to read past the end of the last field.
        data = np.frombuffer(chunk + bytes(TEXT_FIELD_MAX), np.uint8)
        ends = np.flatnonzero(data == NEWLINE)
        starts = np.concatenate([[0], ends[:-1] + 1])
        if (ends - starts).max() > csv.field_size_limit():
            return None
        separators = np.flatnonzero((data == COMMA) | (data == NEWLINE))
        line_ends = np.flatnonzero(data[separators] == NEWLINE)  # indexes into `separators`
        field_counts = np.diff(line_ends, prepend=-1)
        regular = np.flatnonzero(field_counts == self.header_fields)
        # Where each field of the regular lines ends: a row per line, a column per field.
        bounds = separators[line_ends[regular, None] + np.arange(1 - self.header_fields, 1)]

        def field(name: str) -> tuple[np.ndarray, np.ndarray] | None:
            column = self.rows.columns.get(name)
            if column is None:
                return None
            start = starts[regular] if column == 0 else bounds[:, column - 1] + 1
            return start, bounds[:, column] - start

        names, ticker, bad = self._distinct(data, *field("ticker"), self.rows.ticker)
        index: dict[str, int] = {}
        ticker = np.array([index.setdefault(name, len(index)) for name in names], np.intp)[ticker]
        times, when, bad_time = self._distinct(data, *field("time"), self.rows.parse_time)
        bad |= bad_time
        prices = np.full((len(regular), len(PRICE_FIELDS)), np.nan)
        for column, name in enumerate(PRICE_FIELDS):
            if (found := field(name)) is not None:
                prices[:, column], bad_price = self._prices(chunk, data, *found, name)
                bad |= bad_price
        if (found := field("volume")) is not None:
            volume, volume_missing, bad_volume = self._volumes(chunk, data, *found)
            bad |= bad_volume
        else:
            volume, volume_missing = np.zeros(len(regular), np.int64), np.ones(len(regular), bool)
        bad |= np.isnan(prices[:, 3])  # no close: the row-by-row parser rejects it
        vectorised = Batch(
            names=list(index),
            ticker=ticker,
            time=np.array(times, "datetime64[us]")[when],
            prices=prices,
            volume=volume,
            volume_missing=volume_missing,
        ).take(~bad)
        open_, high, low, close = vectorised.prices.T
        warning = (
            np.isnan(open_)
            | np.isnan(high)
            | np.isnan(low)
            | vectorised.volume_missing
            | ~((low <= close) & (close <= high))
        )
        # The rows refused above, and the lines without the header's number of fields (a blank
        # line is no record), go row by row.
        irregular = (field_counts != self.header_fields) & (ends > starts)
        others = np.union1d(regular[bad], np.flatnonzero(irregular))
        rows, row_warnings, kept = [], [], []
        for line in others.tolist():
            fields = chunk[starts[line] : ends[line]].decode("utf-8", "surrogateescape")
            fields = fields.split(",")
            try:
                row, row_warning = self.rows.parse(fields)
            except RejectedRow as error:
                self.rejects.add(self.source, first_line + 1 + line, str(error), fields)
                continue
            rows.append(row)
            row_warnings.append(row_warning)
            kept.append(line)
        batch = vectorised
        if rows:
            order = np.argsort(np.concatenate([regular[~bad], np.array(kept, np.intp)]))
            batch = Batch.concat(vectorised, Batch.from_rows(rows)).take(order)
            warning = np.concatenate([warning, np.array(row_warnings, bool)])[order]
        parsed = Parsed(
            batch, warning, len(regular) + int(irregular.sum()), len(others) - len(kept)
        )
        return parsed, len(ends)

    @staticmethod
    def _distinct(
        data: np.ndarray, start: np.ndarray, length: np.ndarray, convert: Callable[[str], object]
    ) -> tuple[list, np.ndarray, np.ndarray]:
        """`convert` of each distinct field text (None where it raised RejectedRow), each row's
        index into those values, and the rows to leave to the row-by-row parser."""
        width = max(1, min(int(length.max(initial=0)), TEXT_FIELD_MAX))
        distinct, which = distinct_texts(data, start, length, width)
        values, failed = [], []
        for text in distinct:
            try:
                values.append(convert(text.decode("utf-8", "surrogateescape")))
            except RejectedRow:
                values.append(None)
                failed.append(True)
            else:
                failed.append(False)
        return values, which, np.array(failed, bool)[which] | (length > width)

    @staticmethod
    def _scalar(chunk: bytes, start: int, length: int) -> str:
        """One field's trimmed text, for the rows the vectorised checks leave to Python."""
        return chunk[start : start + length].decode("utf-8", "surrogateescape").strip()

    def _prices(
        self, chunk: bytes, data: np.ndarray, start: np.ndarray, length: np.ndarray, name: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """The column's values (NaN where missing), and the rows with an unusable value. Plain
        decimals are converted here; any other text goes through `parse_price`."""
        width = max(1, min(int(length.max(initial=0)), MAX_DIGITS + 1))
        mantissa, digits, dots, decimals = read_digits(data, start, length, width)
        plain = (digits + dots == length) & (dots <= 1) & (digits >= 1) & (digits <= MAX_DIGITS)
        values = mantissa / POWERS_OF_TEN[np.minimum(decimals, MAX_DIGITS)]
        values[~plain] = np.nan  # a missing value, unless parse_price says otherwise below
        bad = np.zeros(len(values), bool)
        for row in np.flatnonzero(~plain & (length > 0)).tolist():
            try:
                value = parse_price(self._scalar(chunk, start[row], length[row]), name)
            except RejectedRow:
                bad[row] = True
            else:
                values[row] = np.nan if value is None else value
        return values, bad

    def _volumes(
        self, chunk: bytes, data: np.ndarray, start: np.ndarray, length: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The volumes, which are missing, and the rows with an unusable one. Plain whole
        numbers are converted here; any other text goes through `parse_volume`."""
        width = max(1, min(int(length.max(initial=0)), MAX_VOLUME_DIGITS))
        values, digits, _, _ = read_digits(data, start, length, width)
        plain = (digits == length) & (length >= 1)
        missing = length == 0
        bad = np.zeros(len(values), bool)
        for row in np.flatnonzero(~plain & ~missing).tolist():
            try:
                value = parse_volume(self._scalar(chunk, start[row], length[row]))
            except RejectedRow:
                bad[row] = True
            else:
                missing[row] = value is None
                values[row] = value or 0
        return values, missing, bad


class BatchWriter(Protocol):
    """Writes one batch of rows in one transaction; returns (inserted, updated)."""

    def write(self, rows: Batch | list[Row]) -> tuple[int, int]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


# Fixed SQL (no input is ever formatted into it); the stage is a per-session temporary table.
PG_CREATE_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS stockdash_import_stage ("
    "ticker varchar(16), time timestamp, open float8, high float8, low float8, "
    "close float8, volume bigint) ON COMMIT DELETE ROWS"
)
PG_COPY_STAGE = f"COPY stockdash_import_stage ({COPY_COLUMNS}) FROM STDIN (FORMAT binary)"
PG_COPY_DIRECT = f"COPY stock_prices ({COPY_COLUMNS}) FROM STDIN (FORMAT binary)"
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

    @staticmethod
    def _copy(cursor, statement: str, data: bytes) -> None:
        with cursor.copy(statement) as copy:
            copy.write(data)

    def write(self, rows: Batch | list[Row]) -> tuple[int, int]:
        """Store `rows` in one transaction."""
        batch = rows if isinstance(rows, Batch) else Batch.from_rows(rows)
        if not len(batch):
            return 0, 0
        data = batch.copy_binary(self.connection.info.encoding)
        new_tickers = set(batch.names) - self.known_tickers
        with self.connection.transaction(), self.connection.cursor() as cursor:
            if new_tickers:
                cursor.executemany(
                    INSERT_TICKER.format("%s"), [(ticker,) for ticker in sorted(new_tickers)]
                )
            if self.try_direct:
                try:
                    with self.connection.transaction():
                        self._copy(cursor, PG_COPY_DIRECT, data)
                except psycopg.errors.UniqueViolation:
                    self.try_direct = False
                else:
                    self.known_tickers |= new_tickers
                    return len(batch), 0
            self._copy(cursor, PG_COPY_STAGE, data)
            cursor.execute(PG_MERGE_NEW)
            inserted = cursor.rowcount
            updated = 0
            if self.replace:
                cursor.execute(PG_MERGE_CHANGED)
                updated = cursor.rowcount
        self.try_direct = inserted == len(batch)
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

    def write(self, rows: Batch | list[Row]) -> tuple[int, int]:
        """Upsert `rows` in one transaction."""
        connection = self.connection
        batch = rows if isinstance(rows, Batch) else Batch.from_rows(rows)
        new_tickers = set(batch.names) - self.known_tickers
        records = batch.records()
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
    binary, raw = open_binary(path)
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    return text, raw


def open_binary(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """The decompressed bytes of a plain or gzipped file (detected by content), and the raw file
    whose position measures progress (closing the first closes the second)."""
    raw = open(path, "rb")  # noqa: SIM115  (closed by the caller)
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw  # type: ignore[return-value]
    raw.seek(0)
    return raw, raw


class ByteLines:
    """The decompressed bytes of a file handed out as whole lines, each up to and including its
    b"\\n" (the last one may have none); a UTF-8 BOM at the start is skipped."""

    BLOCK = 1 << 20

    def __init__(self, binary: IO[bytes]):
        self.binary = binary
        start = binary.read(3)
        self.block = start.removeprefix(b"\xef\xbb\xbf")
        self.offset = 0
        self.newlines = np.flatnonzero(np.frombuffer(self.block, np.uint8) == NEWLINE)
        self.next_newline = 0

    def take(self, count: int) -> bytes:
        """The next `count` lines, or fewer at the end of the file (b"" after it). A read error
        (a truncated gzip file) is raised only once the lines before it are taken."""
        parts = []
        while True:
            available = len(self.newlines) - self.next_newline
            if available >= count:
                end = int(self.newlines[self.next_newline + count - 1]) + 1
                parts.append(self.block[self.offset : end])
                self.offset = end
                self.next_newline += count
                return b"".join(parts)
            parts.append(self.block[self.offset :])
            count -= available
            # read1: at most one read of the file, so that the data read before an error is
            # not lost with it.
            self.block = self.binary.read1(self.BLOCK)  # type: ignore[attr-defined]
            self.offset = 0
            self.newlines = np.flatnonzero(np.frombuffer(self.block, np.uint8) == NEWLINE)
            self.next_newline = 0
            if not self.block:
                return b"".join(parts)


class TextLines:
    """Lines for the csv module, split as the text reader of the row-by-row path split them
    (universal newlines: a lone carriage return ends a line too), undecodable bytes kept as
    surrogates. `number` counts the lines handed out and taken by the vectorised path: the
    line number of the end of the last record."""

    def __init__(self, source: ByteLines):
        self.source = source
        self.pending: deque[str] = deque()
        self.number = 0

    def push(self, data: bytes) -> None:
        """Queue the lines of `data` (whole lines) before those still unread."""
        text = data.decode("utf-8", "surrogateescape")
        self.pending.extend(io.StringIO(text, newline="").readlines())

    def __iter__(self) -> TextLines:
        return self

    def __next__(self) -> str:
        if not self.pending:
            data = self.source.take(1)
            if not data:
                raise StopIteration
            self.push(data)
        self.number += 1
        return self.pending.popleft()


class BackgroundWriter:
    """Runs `writer.write()` in a thread, so that the database stores one batch while Python
    parses the next (the driver releases the GIL while it waits for the server). At most one
    batch waits in the queue, which bounds memory."""

    def __init__(self, writer: BatchWriter):
        self.writer = writer
        self.inserted = 0
        self.updated = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="price-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                inserted, updated = self.writer.write(batch)
            except BaseException as error:  # handed to the main thread by _check()
                self.error = error
                return
            self.inserted += inserted
            self.updated += updated

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def _put(self, item: Batch | None) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        self._check()

    def submit(self, batch: Batch) -> None:
        """Queue one batch; blocks while the previous one waits. Raises the writer's error."""
        self._check()
        self._put(batch)

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
    counts of the batches already stored when this raises). A batch holds the rows of the next
    `batch_size` lines (records, where the csv module reads). Raises ColumnError for an
    unusable header and OSError/EOFError when the file cannot be read to its end."""
    stats = stats if stats is not None else ImportStats()
    started = time.perf_counter()
    source = str(path)
    binary, raw = open_binary(path)
    background: BackgroundWriter | None = None
    try:
        chunks = ByteLines(binary)
        lines = TextLines(chunks)
        try:
            header = next(csv.reader(lines), None)
        except csv.Error as error:
            raise ColumnError(f"unreadable header: {error}") from None
        if header is None:
            raise ColumnError("the file is empty")
        rows = RowParser(resolve_columns(header))
        vectorised = ChunkParser(rows, len(header), source, rejects)
        background = BackgroundWriter(writer)
        position = 0
        while True:
            parsed = None
            if not lines.pending:
                chunk = chunks.take(batch_size)
                if not chunk:
                    break
                result = vectorised.parse(chunk, lines.number)
                if result is None:
                    lines.push(chunk)
                else:
                    parsed, count = result
                    lines.number += count
            if parsed is None:
                parsed = read_records(lines, rows, rejects, source, batch_size)
            stats.read += parsed.read
            stats.rejected += parsed.rejected
            keep, repeat = parsed.batch.keys(replace)
            # A key repeated in one batch is a warning (each row counted once).
            stats.warnings += int((parsed.warning | repeat).sum())
            if keep.any():
                background.submit(parsed.batch.take(keep))
            if progress is not None:
                now = raw.tell()
                progress(now - position)
                position = now
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
        binary.close()
        raw.close()
    return stats


def read_records(
    lines: TextLines, rows: RowParser, rejects: RejectLog, source: str, batch_size: int
) -> Parsed:
    """Up to `batch_size` records through the csv module and the row-by-row parser, stopping
    early where a record ends at the end of the lines queued in `lines` (so that the vectorised
    path may take over again)."""
    reader = csv.reader(lines)
    parsed, warnings = [], []
    read = rejected = 0
    while read < batch_size:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:  # e.g. a field over the csv module's size limit
            read += 1
            rejected += 1
            rejects.add(source, lines.number, f"malformed CSV: {error}", [])
        else:
            if fields:  # not a blank line
                read += 1
                try:
                    row, warning = rows.parse(fields)
                except RejectedRow as error:
                    rejected += 1
                    rejects.add(source, lines.number, str(error), fields)
                else:
                    parsed.append(row)
                    warnings.append(warning)
        if not lines.pending:
            break
    return Parsed(Batch.from_rows(parsed), np.array(warnings, bool), read, rejected)


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
