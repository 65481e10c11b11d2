"""The text of one CSV field turned into a stored value, and the header turned into columns.

Every parser of the import (row by row, vectorised, ticker names) decides through these
functions, so a value gets the same result, or the same reason for a reject, whichever path
reads it.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from app.prices.tickers import normalise_ticker, ticker_problem

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
FIELDS = ("ticker", "time", "open", "high", "low", "close", "volume")
PRICE_FIELDS = ("open", "high", "low", "close")
# The days a price may have: nothing traded before 1900 is in any price file, and a day after
# tomorrow (UTC) is a typo or a wrong clock; outside them the dashboard's queries see nothing.
FIRST_DAY = date(1900, 1, 1)
LATEST_DAYS_AHEAD = 1
# Why a stored row deserves a look, as bit flags per row (several may apply), and their names in
# the warnings file and the summary.
MISSING_VALUE, CLOSE_OUTSIDE, NOT_POSITIVE, REPEATED_KEY = 1, 2, 4, 8
WARNING_KINDS = {
    MISSING_VALUE: "missing value",
    CLOSE_OUTSIDE: "close outside low-high",
    NOT_POSITIVE: "price not positive",
    REPEATED_KEY: "key repeated in the file",
}
# A parsed row, in the column order of `stock_prices`.
Row = tuple[str, datetime, float | None, float | None, float | None, float, int | None]


class RejectedRow(ValueError):
    """A row that cannot be stored; the message is the reason shown to the operator."""


class ColumnError(ValueError):
    """The header lacks a required column."""


def resolve_columns(
    header: list[str],
    aliases: dict[str, tuple[str, ...]] = COLUMN_ALIASES,
    required: tuple[str, ...] = REQUIRED_COLUMNS,
) -> dict[str, int]:
    """Map each field of `aliases` to its column index; header names match case-insensitively,
    trimmed. Raises ColumnError when a `required` field has no column."""
    names = [name.strip().lower() for name in header]
    columns: dict[str, int] = {}
    for field, accepted in aliases.items():
        for alias in accepted:
            if alias in names:
                columns[field] = names.index(alias)
                break
    missing = [field for field in required if field not in columns]
    if missing:
        wanted = " / ".join("/".join(aliases[field]) for field in missing)
        raise ColumnError(f"the header has no {wanted} column (found: {', '.join(names)})")
    return columns


def short(text: str, limit: int = 40) -> str:
    """`text` quoted for a message, cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_ticker_field(text: str) -> str:
    """The ticker symbol a field holds, by the one rule of `app.prices.tickers`; otherwise
    RejectedRow with the rule's reason and the text read."""
    symbol = normalise_ticker(text)
    problem = ticker_problem(symbol)
    if problem is None:
        return symbol
    raise RejectedRow(f"{problem}: {short(symbol)}" if symbol else problem)


def last_day() -> date:
    """The latest day a price may have: tomorrow, in UTC."""
    return datetime.now(UTC).date() + timedelta(days=LATEST_DAYS_AHEAD)


def parse_time(text: str) -> datetime:
    """An ISO date or date-time from FIRST_DAY to `last_day()`; aware values are converted to
    naive UTC (the column's zone)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise RejectedRow(f"unparsable date {short(text)}") from None
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00, before the first datetime
            value = None
    latest = last_day()
    if value is None or not FIRST_DAY <= value.date() <= latest:
        raise RejectedRow(f"date out of range {FIRST_DAY} to {latest}: {short(text)}")
    return value


def row_warnings(
    open_: float | None, high: float | None, low: float | None, close: float, volume: int | None
) -> int:
    """The warning flags of one row: a missing open, high, low or volume, a close outside
    low-high (when both are there), a price at or below zero."""
    flags = 0
    if open_ is None or high is None or low is None or volume is None:
        flags |= MISSING_VALUE
    if high is not None and low is not None and not low <= close <= high:
        flags |= CLOSE_OUTSIDE
    if close <= 0 or any(value is not None and value <= 0 for value in (open_, high, low)):
        flags |= NOT_POSITIVE
    return flags


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
    """A whole, non-negative number that fits a BIGINT (`1.5e6` is accepted), or None. What is
    no number at all is refused by `parse_price`, with the same reasons as a price."""
    number = parse_price(text, "volume")
    if number is None:
        return None
    try:
        value = int(text)  # exact, where the float may not be (beyond 2**53)
    except ValueError:
        if not number.is_integer():
            raise RejectedRow(f"volume is not a whole number: {short(text)}") from None
        value = int(number)
    if not 0 <= value <= BIGINT_MAX:
        raise RejectedRow(f"volume out of range: {short(text)}")
    return value
