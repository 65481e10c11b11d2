"""The text of one CSV field turned into a stored value, and the header turned into columns.

Every parser of the import (row by row, vectorised, ticker names) decides through these
functions, so a value gets the same result, or the same reason for a reject, whichever path
reads it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

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
