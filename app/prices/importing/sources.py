"""Where the import reads and reports: plain or gzipped files, their bytes split into whole lines
of bounded length (for the vectorised parser) and into text lines (for the csv module), and the
logs of rejected rows and of warnings (CSV files beside the input).

A record is one physical line: the price files have no field that spans lines, so a quote left
open cannot swallow the lines after it, and no line is ever held whole beyond MAX_LINE_BYTES,
whatever the input (a gzip file can expand a few hundred kilobytes into one line of gigabytes).
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

NEWLINE = ord("\n")
# A line longer than this is rejected unread: far above any OHLCV row, far below the memory an
# import may take. It also keeps every field within the csv module's field size limit (128 KiB).
MAX_LINE_BYTES = 64 * 1024
# A chunk of lines handed to the parsers holds at most this many bytes (with `--batch-size`
# lines of at most MAX_LINE_BYTES it could otherwise reach gigabytes).
MAX_CHUNK_BYTES = 32 * 1024 * 1024
# What reading a damaged file raises: a cut gzip file (EOFError), a corrupt one (BadGzipFile, an
# OSError, or zlib.error), a failing disk (OSError).
READ_ERRORS = (OSError, EOFError, zlib.error)


def input_stem(source: Path) -> str:
    """`prices.csv.gz` -> `prices`."""
    name = source.name
    for suffix in (".gz", ".csv", ".txt"):
        name = name.removesuffix(suffix)
    return name


def default_rejects_path(source: Path) -> Path:
    """`prices.csv.gz` -> `prices.rejects.csv`, in the same directory."""
    return source.with_name(input_stem(source) + ".rejects.csv")


def default_warnings_path(source: Path) -> Path:
    """`prices.csv.gz` -> `prices.warnings.csv`, in the same directory."""
    return source.with_name(input_stem(source) + ".warnings.csv")


class CsvLog:
    """A CSV report beside the input, opened on first use (an import without rejects or
    warnings leaves no empty file behind); a file that cannot be written is said once through
    `echo` and then only counted."""

    HEADER: tuple[str, ...] = ()

    def __init__(self, path: Path, echo: Callable[[str], None]):
        self.path = path
        self.echo = echo
        self.failed = False
        self._file: IO[str] | None = None
        self._writer = None

    def _write(self, row: list) -> None:
        if self._writer is None and not self.failed:
            try:
                # surrogateescape writes undecodable input bytes back as they were read.
                self._file = open(  # noqa: SIM115  (closed by close())
                    self.path, "w", newline="", encoding="utf-8", errors="surrogateescape"
                )
            except OSError as error:
                self.failed = True
                self.echo(f"{self.path}: cannot write the file: {error.strerror}")
                return
            self._writer = csv.writer(self._file)
            self._writer.writerow(self.HEADER)
        if self._writer is not None:
            self._writer.writerow(row)

    def close(self) -> None:
        """Flush and close the CSV, if one was written."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None


class RejectLog(CsvLog):
    """Reports rejected rows: one line per row through `echo`, and a CSV (file, line, reason,
    the record's fields)."""

    HEADER = ("file", "line", "reason", "record")

    def __init__(self, path: Path, echo: Callable[[str], None]):
        super().__init__(path, echo)
        self.count = 0

    def add(self, source: str, line: int, reason: str, fields: list[str]) -> None:
        """Record one rejected record at `line` of `source`."""
        self.count += 1
        self.echo(f"{source}:{line}: {reason}")
        self._write([source, line, reason, *fields])


class WarningLog(CsvLog):
    """Rows stored with a warning, counted by kind and written to a CSV (file, line, kind,
    value); not echoed one by one, since a file may have a warning on every row."""

    HEADER = ("file", "line", "kind", "value")

    def __init__(self, path: Path, echo: Callable[[str], None]):
        super().__init__(path, echo)
        self.counts: Counter[str] = Counter()

    @property
    def count(self) -> int:
        """Warnings recorded, of every kind."""
        return self.counts.total()

    def add(self, source: str, line: int, kind: str, value: str) -> None:
        """Record one warning of `kind` about `line` of `source`."""
        self.counts[kind] += 1
        self._write([source, line, kind, value])


class DamagedFile(Exception):
    """The file could not be read past `line` (a cut or corrupt gzip file): every whole line
    before it was read, nothing from it on."""

    def __init__(self, line: int, error: BaseException):
        self.line = line
        self.error = error
        super().__init__(
            f"the file is cut or damaged at line {line} ({error or type(error).__name__}): "
            f"the rows before line {line} were read, nothing from line {line} on"
        )


@dataclass(frozen=True)
class OverlongLine:
    """A line longer than MAX_LINE_BYTES, skipped without being held: `size` is its length in
    bytes (as far as the file goes)."""

    size: int


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
    b"\\n" (the last one may have none), in chunks of bounded size; a UTF-8 BOM at the start is
    skipped. Memory stays within a block, a chunk and one line of MAX_LINE_BYTES, whatever the
    file holds. A read error ends the lines (kept in `error`): the whole lines before it are
    handed out, the incomplete one it cut is dropped."""

    BLOCK = 1 << 20

    def __init__(self, binary: IO[bytes]):
        self.binary = binary
        self.error: BaseException | None = None
        self.block = b""
        self.offset = 0
        self.newlines = np.empty(0, np.intp)
        self.next_newline = 0
        try:
            start = binary.read(3)
        except READ_ERRORS as error:
            self.error = error
        else:
            self._load(start.removeprefix(b"\xef\xbb\xbf"))

    def _load(self, block: bytes) -> None:
        self.block = block
        self.offset = 0
        self.newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == NEWLINE)
        self.next_newline = 0

    def _refill(self) -> bool:
        """Append the next block of the file to the bytes not handed out yet (at most one
        incomplete line); False at the end of the file or at a read error."""
        if self.error is not None:
            return False
        try:
            # read1: at most one read of the file, so that a read error loses nothing read
            # before it.
            data = self.binary.read1(self.BLOCK)  # type: ignore[attr-defined]
        except READ_ERRORS as error:
            self.error = error
            return False
        if not data:
            return False
        tail = self.block[self.offset :]
        self._load(tail + data if tail else data)
        return True

    def take(self, count: int) -> bytes | OverlongLine:
        """The next whole lines, at most `count` of them and MAX_CHUNK_BYTES; b"" after the
        last. A line longer than MAX_LINE_BYTES is handed out alone, as an OverlongLine, once
        the lines before it are taken."""
        parts: list[bytes] = []
        size = 0
        while count > 0:
            if self.next_newline < len(self.newlines):
                ends = self.newlines[self.next_newline : self.next_newline + count]
                lengths = np.diff(ends, prepend=self.offset - 1)
                fit = int(np.searchsorted(ends + 1 - self.offset, MAX_CHUNK_BYTES - size, "right"))
                overlong = np.flatnonzero(lengths > MAX_LINE_BYTES)
                whole = min(fit, int(overlong[0]) if len(overlong) else fit)
                if whole == 0:
                    if parts or not len(overlong) or overlong[0] != 0:
                        break  # the chunk is full, or an overlong line comes next
                    self.offset = int(ends[0]) + 1
                    self.next_newline += 1
                    return OverlongLine(int(lengths[0]))
                end = int(ends[whole - 1]) + 1
                parts.append(self.block[self.offset : end])
                size += end - self.offset
                self.offset = end
                self.next_newline += whole
                count -= whole
                continue
            if len(self.block) - self.offset > MAX_LINE_BYTES:  # no end in sight
                if parts:
                    break
                return self._skip_line()
            if not self._refill():
                if self.error is None and self.offset < len(self.block):
                    parts.append(self.block[self.offset :])  # the last line, without a line end
                self.offset = len(self.block)
                break
        return b"".join(parts)

    def _skip_line(self) -> OverlongLine:
        """Read past the overlong line that starts at `offset`, a block at a time, up to and
        including its b"\\n"."""
        size = len(self.block) - self.offset
        self._load(b"")
        while self._refill():
            if len(self.newlines):
                end = int(self.newlines[0]) + 1
                self.offset = end
                self.next_newline = 1
                return OverlongLine(size + end)
            size += len(self.block)
            self.offset = len(self.block)
        return OverlongLine(size)


class TextLines:
    """Lines for the csv module, split as the text reader of the row-by-row path split them
    (universal newlines: a lone carriage return ends a line too), undecodable bytes kept as
    surrogates. `number` counts the lines handed out and taken by the vectorised path: the
    line number of the last line read."""

    def __init__(self) -> None:
        self.pending: deque[str] = deque()
        self.number = 0

    def push(self, data: bytes) -> None:
        """Queue the lines of `data` (whole lines)."""
        text = data.decode("utf-8", "surrogateescape")
        self.pending.extend(io.StringIO(text, newline="").readlines())

    def next(self) -> str | None:
        """The next queued line (counted in `number`), None when none is queued."""
        if not self.pending:
            return None
        self.number += 1
        return self.pending.popleft()


def split_line(line: str) -> list[str] | None:
    """The fields of one line (its line end removed) by the csv module's rules; None when a
    quote opened on the line is not closed on it."""
    if not line.endswith(("\n", "\r")):
        line += "\n"  # the last line of a file without a final newline
    fields = next(csv.reader((line,)))
    # Every line end of the line is its last character: inside a field, a quote swallowed it.
    if any("\n" in field or "\r" in field for field in fields):
        return None
    return fields
