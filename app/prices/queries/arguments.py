"""The caller's arguments to a query made safe: ticker symbols by the one ticker rule, time
bounds as a half-open range of naive UTC datetimes, and the connection to run on.

Ranges are half-open, `start <= time < end`. A `date` end includes that whole day; None means
unbounded.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import DateTime, bindparam
from sqlalchemy.engine import Connection

from app.extensions import db
from app.prices.tickers import InvalidTicker, parse_ticker

MIN_TIME = datetime(1, 1, 1)
MAX_TIME = datetime(9999, 12, 31)

# The bounds of time_range(), as every statement binds them.
RANGE_BINDS = (
    bindparam("start", type_=DateTime()),
    bindparam("end", type_=DateTime()),
)


def clean_tickers(tickers) -> list[str]:
    """The distinct ticker symbols among the caller's texts, normalised by the one ticker rule
    (`app.prices.tickers`); a text that is no symbol is dropped: nothing can be stored under it
    (a NUL character, for one, is an error in PostgreSQL rather than a mere mismatch)."""
    cleaned: list[str] = []
    for text in tickers or ():
        try:
            symbol = parse_ticker(text)
        except InvalidTicker:
            continue
        if symbol not in cleaned:
            cleaned.append(symbol)
    return cleaned


def as_naive_utc(value: datetime) -> datetime:
    """The stored form of a time: naive, UTC when it carried a zone."""
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def time_range(start: date | datetime | None, end: date | datetime | None):
    """The half-open datetime range for the caller's bounds (a `date` end includes its day)."""
    if start is None:
        low = MIN_TIME
    elif isinstance(start, datetime):
        low = as_naive_utc(start)
    else:
        low = datetime(start.year, start.month, start.day)
    if end is None:
        high = MAX_TIME
    elif isinstance(end, datetime):
        high = as_naive_utc(end)
    else:
        high = datetime(end.year, end.month, end.day) + timedelta(days=1)
    return low, high


def current_connection() -> Connection:
    """The connection of the request's session (the dashboard runs inside Flask requests)."""
    return db.session.connection()
