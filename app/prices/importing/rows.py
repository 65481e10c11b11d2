"""The row-by-row parser: the fields of one CSV record turned into a `Row`, or a reject.

It decides every record the vectorised chunk parser does not accept as it is, and every record
the csv module reads (quoted fields), so it is where a reject's reason comes from.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from app.prices.importing.fields import (
    BIGINT_MAX,
    FIELDS,
    RejectedRow,
    Row,
    parse_price,
    parse_ticker_field,
    parse_time,
    parse_volume,
    row_warnings,
)

CACHE_LIMIT = 100_000  # distinct tickers or times remembered; bounds memory on odd files
Value = TypeVar("Value")


def remembered(cache: dict[str, Value], text: str, convert: Callable[[str], Value]) -> Value:
    """`convert(text)`, looked up in `cache` first and kept there (emptied when full)."""
    value = cache.get(text)
    if value is None:
        value = convert(text)
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        cache[text] = value
    return value


def parse_trimmed_time(text: str) -> datetime:
    """`parse_time` of `text` without the blanks around it."""
    return parse_time(text.strip())


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

    def time(self, text: str) -> datetime:
        """The time a field's text holds (`parse_time` of it trimmed); remembered per text."""
        return remembered(self._times, text, parse_trimmed_time)

    def ticker(self, text: str) -> str:
        """The ticker symbol a field's text holds (`parse_ticker_field`); remembered per text."""
        return remembered(self._tickers, text, parse_ticker_field)

    def parse(self, fields: list[str]) -> tuple[Row, int]:
        """The row, and its warning flags (`row_warnings`: 0 for none)."""
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
                        return (ticker, when, o, h, lo, c, v), row_warnings(o, h, lo, c, v)
        return self._parse_general(fields)

    def _parse_general(self, fields: list[str]) -> tuple[Row, int]:
        ticker = self.ticker(self.field(fields, "ticker"))
        time_text = self.field(fields, "time")
        if not time_text:
            raise RejectedRow("missing date")
        when = self.time(time_text)
        close = parse_price(self.field(fields, "close"), "close")
        if close is None:
            raise RejectedRow("missing close")
        open_ = parse_price(self.field(fields, "open"), "open")
        high = parse_price(self.field(fields, "high"), "high")
        low = parse_price(self.field(fields, "low"), "low")
        volume = parse_volume(self.field(fields, "volume"))
        row = (ticker, when, open_, high, low, close, volume)
        return row, row_warnings(open_, high, low, close, volume)
