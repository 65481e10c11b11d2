"""The import pipeline: one CSV file read in chunks, parsed, and handed batch by batch to a writer.

Each batch of rows is written in one transaction, so an interrupted import keeps every earlier
batch and nothing of the broken one, and a concurrent reader only ever sees whole batches appear.
A chunk of `batch_size` lines goes through the vectorised parser; one it cannot split (a quoted
field may hold commas and newlines) is read record by record through the csv module and the
row-by-row parser. A writer thread stores one batch while the next is parsed.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.prices.importing.batches import Batch, Parsed
from app.prices.importing.chunks import ChunkParser
from app.prices.importing.fields import ColumnError, RejectedRow, resolve_columns
from app.prices.importing.rows import RowParser
from app.prices.importing.sources import ByteLines, RejectLog, TextLines, open_binary
from app.prices.importing.writers import BackgroundWriter, BatchWriter

DEFAULT_BATCH_SIZE = 50_000


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
        row_parser = RowParser(resolve_columns(header))
        vectorised = ChunkParser(row_parser, len(header), source, rejects)
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
                parsed = read_records(lines, row_parser, rejects, source, batch_size)
            stats.read += parsed.read
            stats.rejected += parsed.rejected
            keep, repeat = parsed.batch.key_masks(replace)
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
    lines: TextLines, row_parser: RowParser, rejects: RejectLog, source: str, batch_size: int
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
                    row, warning = row_parser.parse(fields)
                except RejectedRow as error:
                    rejected += 1
                    rejects.add(source, lines.number, str(error), fields)
                else:
                    parsed.append(row)
                    warnings.append(warning)
        if not lines.pending:
            break
    return Parsed(Batch.from_rows(parsed), np.array(warnings, bool), read, rejected)
