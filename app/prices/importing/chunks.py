"""The vectorised parser: a chunk of whole lines read with numpy, no Python code per row.

In a chunk without a quote, NUL or lone carriage return every line is one record whose fields
lie between commas, so numpy splits the whole chunk, converts the numbers and hands each
distinct ticker and date text once to the checks of the row-by-row parser. A row those
vectorised checks do not accept as it is (a missing close, an unusual number, a bad date, a
wrong field count...) goes through the row-by-row parser, which decides and gives the reason for
a reject; a chunk that cannot be split that way is left to the csv module (`parse` returns
None). Either way a row gets the same values, warning or reject, and line number.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.prices.importing.batches import Batch, Parsed
from app.prices.importing.fields import (
    CLOSE_OUTSIDE,
    MISSING_VALUE,
    NOT_POSITIVE,
    PRICE_FIELDS,
    RejectedRow,
    parse_price,
    parse_volume,
)
from app.prices.importing.rows import RowParser
from app.prices.importing.sources import NEWLINE, RejectLog

COMMA, DOT, ZERO = (ord(char) for char in ",.0")
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
    every row it does not accept as it is to `row_parser`."""

    def __init__(self, row_parser: RowParser, header_fields: int, source: str, rejects: RejectLog):
        self.row_parser = row_parser
        self.header_fields = header_fields
        self.source = source
        self.rejects = rejects

    def parse(self, chunk: bytes, first_line: int) -> tuple[Parsed, int] | None:
        """The rows of `chunk`, whose first line is line `first_line` + 1 of the file, and its
        number of lines; None when the chunk needs the csv module: it has a quote, a NUL or a
        lone carriage return (a line end for the csv module)."""
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
        separators = np.flatnonzero((data == COMMA) | (data == NEWLINE))
        line_ends = np.flatnonzero(data[separators] == NEWLINE)  # indexes into `separators`
        field_counts = np.diff(line_ends, prepend=-1)
        regular = np.flatnonzero(field_counts == self.header_fields)
        # Where each field of the regular lines ends: a row per line, a column per field.
        bounds = separators[line_ends[regular, None] + np.arange(1 - self.header_fields, 1)]

        def field(name: str) -> tuple[np.ndarray, np.ndarray] | None:
            column = self.row_parser.columns.get(name)
            if column is None:
                return None
            start = starts[regular] if column == 0 else bounds[:, column - 1] + 1
            return start, bounds[:, column] - start

        names, ticker, bad = self._distinct(data, *field("ticker"), self.row_parser.ticker)
        index: dict[str, int] = {}
        ticker = np.array([index.setdefault(name, len(index)) for name in names], np.intp)[ticker]
        times, when, bad_time = self._distinct(data, *field("time"), self.row_parser.time)
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
        # The flags of `row_warnings`, for every row at once (NaN is a missing price).
        open_, high, low, close = vectorised.prices.T
        missing = np.isnan(open_) | np.isnan(high) | np.isnan(low) | vectorised.volume_missing
        outside = ~(np.isnan(high) | np.isnan(low) | ((low <= close) & (close <= high)))
        warning = (
            np.where(missing, MISSING_VALUE, 0)
            | np.where(outside, CLOSE_OUTSIDE, 0)
            | np.where((vectorised.prices <= 0).any(axis=1), NOT_POSITIVE, 0)
        ).astype(np.uint8)
        # The rows refused above, and the lines without the header's number of fields (a blank
        # line is no record), go row by row.
        irregular = (field_counts != self.header_fields) & (ends > starts)
        others = np.union1d(regular[bad], np.flatnonzero(irregular))
        rows, row_warnings, kept = [], [], []
        for line in others.tolist():
            fields = chunk[starts[line] : ends[line]].decode("utf-8", "surrogateescape")
            fields = fields.split(",")
            try:
                row, row_warning = self.row_parser.parse(fields)
            except RejectedRow as error:
                self.rejects.add(self.source, first_line + 1 + line, str(error), fields)
                continue
            rows.append(row)
            row_warnings.append(row_warning)
            kept.append(line)
        batch, lines = vectorised, regular[~bad]
        if rows:
            lines = np.concatenate([lines, np.array(kept, np.intp)])
            order = np.argsort(lines)
            lines = lines[order]
            batch = Batch.concat(vectorised, Batch.from_rows(rows)).take(order)
            warning = np.concatenate([warning, np.array(row_warnings, np.uint8)])[order]
        parsed = Parsed(
            batch,
            warning,
            first_line + 1 + lines,
            len(regular) + int(irregular.sum()),
            len(others) - len(kept),
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
