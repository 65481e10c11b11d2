"""Where the import reads and reports: plain or gzipped files, their bytes split into whole lines
(for the vectorised parser) or into text lines (for the csv module), and the log of rejected rows
(one message per row for the operator and a CSV of them).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np

NEWLINE = ord("\n")


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
