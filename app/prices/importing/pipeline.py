"""The import pipeline: one CSV file read in chunks, parsed, and handed batch by batch to a writer.

Each batch of rows is written in one transaction, so an interrupted import keeps every earlier
batch and nothing of the broken one, and a concurrent reader only ever sees whole batches appear.
A chunk of `batch_size` lines goes through the vectorised parser; one it cannot split (a quoted
field may hold commas) is read line by line through the csv module and the row-by-row parser.
A writer thread stores one batch while the next is parsed. A file that cannot be read to its end
(a cut gzip file) keeps every whole row before the damage: the batches parsed are all stored
before `DamagedFile` says where the reading stopped.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.prices.importing.batches import Batch, Parsed
from app.prices.importing.chunks import ChunkParser
from app.prices.importing.fields import (
    CLOSE_OUTSIDE,
    MISSING_VALUE,
    NOT_POSITIVE,
    PRICE_FIELDS,
    REPEATED_KEY,
    WARNING_KINDS,
    ColumnError,
    RejectedRow,
    resolve_columns,
)
from app.prices.importing.rows import RowParser
from app.prices.importing.sources import (
    MAX_LINE_BYTES,
    ByteLines,
    DamagedFile,
    OverlongLine,
    RejectLog,
    TextLines,
    WarningLog,
    open_binary,
    split_line,
)
from app.prices.importing.writers import BackgroundWriter, BatchWriter

DEFAULT_BATCH_SIZE = 50_000
UNTERMINATED_QUOTE = "unterminated quote: a quoted field must end on its own line"


@dataclass
class ImportStats:
    """Counts for one file (or the sum over several). `not_stored` counts good rows of batches
    that an interruption or a database error rolled back; `warning_kinds` the warnings by kind
    (a row may have several)."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    not_stored: int = 0
    warning_kinds: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def warnings(self) -> int:
        """Warnings of every kind."""
        return self.warning_kinds.total()

    @property
    def unchanged(self) -> int:
        """Good rows that were already stored with the same key (or repeated in the file)."""
        return self.read - self.rejected - self.not_stored - self.inserted - self.updated

    @property
    def rows_per_second(self) -> float:
        """Rows read per second of wall time."""
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def add(self, other: ImportStats) -> None:
        """Accumulate `other` into this total."""
        for name in ("read", "inserted", "updated", "rejected", "not_stored", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.warning_kinds.update(other.warning_kinds)

    def summary(self, label: str) -> str:
        """One line for the operator."""
        lost = f"{self.not_stored} not stored (rolled back), " if self.not_stored else ""
        return (
            f"{label}: {self.read} rows read, {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected, {lost}{self.warnings} "
            f"warnings in {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s)"
        )

    def warning_counts(self) -> str:
        """The warnings by kind, most frequent first: `11 missing value, 9 close ...`."""
        return ", ".join(f"{count} {kind}" for kind, count in self.warning_kinds.most_common())


def import_file(
    path: Path,
    writer: BatchWriter,
    rejects: RejectLog,
    *,
    warnings: WarningLog | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
    stats: ImportStats | None = None,
) -> ImportStats:
    """Import one CSV file through `writer`, counting into `stats` (so that the caller keeps the
    counts of the batches already stored when this raises), each warning listed in `warnings`
    (counted only without it). A batch holds the rows of the next `batch_size` lines. Raises
    ColumnError for an unusable header, and DamagedFile once every row before the damage is
    stored when the file cannot be read to its end."""
    stats = stats if stats is not None else ImportStats()
    started = time.perf_counter()
    source = str(path)
    binary, raw = open_binary(path)
    background: BackgroundWriter | None = None
    to_store = 0  # good rows handed to the writer: what it did not commit was rolled back
    try:
        chunks = ByteLines(binary)
        lines = TextLines()
        header = read_header(chunks, lines)
        row_parser = RowParser(resolve_columns(header))
        vectorised = ChunkParser(row_parser, len(header), source, rejects)
        background = BackgroundWriter(writer)
        position = 0
        while True:
            parsed = None
            if not lines.pending:
                chunk = chunks.take(batch_size)
                if isinstance(chunk, OverlongLine):
                    lines.number += 1
                    stats.read += 1
                    stats.rejected += 1
                    reason = f"line longer than {MAX_LINE_BYTES} bytes ({chunk.size} bytes)"
                    rejects.add(source, lines.number, reason, [])
                    continue
                if not chunk:
                    break
                result = vectorised.parse(chunk, lines.number)
                if result is None:
                    lines.push(chunk)
                else:
                    parsed, count = result
                    lines.number += count
            if parsed is None:
                parsed = read_records(lines, row_parser, rejects, source, batch_size)
            keep, repeat = parsed.batch.key_masks(replace)
            stats.read += parsed.read
            stats.rejected += parsed.rejected
            to_store += int(keep.sum())
            flags = parsed.warning | np.where(repeat, REPEATED_KEY, 0).astype(np.uint8)
            record_warnings(parsed, flags, source, stats, warnings)
            if keep.any():
                background.submit(parsed.batch.take(keep))
            if progress is not None:
                now = raw.tell()
                progress(now - position)
                position = now
        background.finish()
        if chunks.error is not None:
            raise DamagedFile(lines.number + 1, chunks.error)
    except BaseException:
        if background is not None:
            background.abort()
        raise
    finally:
        if background is not None:
            stats.inserted += background.inserted
            stats.updated += background.updated
            stats.not_stored += to_store - background.stored
        stats.seconds = time.perf_counter() - started
        binary.close()
        raw.close()
    return stats


def read_header(chunks: ByteLines, lines: TextLines) -> list[str]:
    """The fields of the first line; ColumnError when there is none to use, DamagedFile when
    the file cannot be read that far."""
    first = chunks.take(1)
    if isinstance(first, OverlongLine):
        raise ColumnError(f"the header is longer than {MAX_LINE_BYTES} bytes")
    if not first:
        if chunks.error is not None:
            raise DamagedFile(1, chunks.error)
        raise ColumnError("the file is empty")
    lines.push(first)
    header = split_line(lines.next() or "")
    if header is None:
        raise ColumnError(f"unreadable header: {UNTERMINATED_QUOTE}")
    return header


def record_warnings(
    parsed: Parsed, flags: np.ndarray, source: str, stats: ImportStats, log: WarningLog | None
) -> None:
    """Count the warnings of a chunk's rows by kind, and list each in `log` with its line and
    the values concerned (only rows with a warning cost any Python)."""
    batch = parsed.batch
    for row in np.flatnonzero(flags).tolist():
        for flag, kind in WARNING_KINDS.items():
            if flags[row] & flag:
                stats.warning_kinds[kind] += 1
                if log is not None:
                    log.add(source, int(parsed.lines[row]), kind, warning_value(batch, row, flag))


def warning_value(batch: Batch, row: int, flag: int) -> str:
    """What a warning is about, for the warnings file: the missing fields, the prices out of
    line, or the repeated key."""
    prices = dict(zip(PRICE_FIELDS, batch.prices[row].tolist(), strict=True))
    if flag == MISSING_VALUE:
        missing = [name for name, value in prices.items() if np.isnan(value)]
        return " ".join(missing + ["volume"] * bool(batch.volume_missing[row]))
    if flag == CLOSE_OUTSIDE:
        return " ".join(f"{name}={prices[name]!r}" for name in ("low", "close", "high"))
    if flag == NOT_POSITIVE:
        return " ".join(f"{name}={value!r}" for name, value in prices.items() if value <= 0)
    return f"{batch.names[batch.ticker[row]]} {np.datetime_as_string(batch.time[row])}"


def read_records(
    lines: TextLines, row_parser: RowParser, rejects: RejectLog, source: str, batch_size: int
) -> Parsed:
    """Up to `batch_size` lines queued in `lines`, each one record, through the csv module and
    the row-by-row parser. A line whose quote is not closed on it is rejected alone."""
    parsed, warnings, numbers = [], [], []
    read = rejected = 0
    while read < batch_size and (line := lines.next()) is not None:
        # No line is longer than the csv module's field size limit (MAX_LINE_BYTES): splitting
        # one cannot fail.
        fields = split_line(line)
        reason = UNTERMINATED_QUOTE if fields is None else None
        fields = [line.rstrip("\r\n")] if fields is None else fields
        if not fields:
            continue  # a blank line is no record
        read += 1
        try:
            if reason is not None:
                raise RejectedRow(reason)
            row, warning = row_parser.parse(fields)
        except RejectedRow as error:
            rejected += 1
            rejects.add(source, lines.number, str(error), fields)
        else:
            parsed.append(row)
            warnings.append(warning)
            numbers.append(lines.number)
    return Parsed(
        Batch.from_rows(parsed),
        np.array(warnings, np.uint8),
        np.array(numbers, np.int64),
        read,
        rejected,
    )
