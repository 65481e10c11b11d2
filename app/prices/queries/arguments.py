"""The caller's arguments to a query made safe: ticker symbols by the one ticker rule, time
bounds as a half-open range of naive UTC datetimes, and the connection to run on.

Ranges are half-open, `start <= time < end`. A `date` end includes that whole day; None means
unbounded. Every range is clipped to the window the queries serve, FIRST_DAY to LAST_DAY: any
date or datetime at all (year 1 or 9999, naive or with a zone) gives a range inside it, so the
lookbacks and bucket arithmetic done on a range's bounds can never leave what Python and the
databases can represent. Rows stored outside the window (by imports from before the importer
checked dates) are not served.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import DateTime, bindparam
from sqlalchemy.engine import Connection

from app.extensions import db
from app.prices.tickers import InvalidTicker, parse_ticker

# The days the queries serve (the dashboard's URL accepts the same): centuries of margin either
# side of any real price, and far enough from year 1 and 9999 that a bound, minus a moving
# average's lookback or rounded down to a bucket aligned on series.ORIGIN, stays a valid time.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
MIN_TIME = datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day)
MAX_TIME = datetime(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day) + timedelta(days=1)

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
    """The stored form of a time: naive, UTC when it carried a zone. A time whose UTC instant
    falls outside what datetime can hold (year 1 east of Greenwich, 9999 west of it) becomes
    datetime.min or datetime.max, which the window clips anyway."""
    offset = value.utcoffset()
    naive = value.replace(tzinfo=None)
    if not offset:
        return naive
    try:
        return naive - offset
    except OverflowError:
        return datetime.min if offset > timedelta(0) else datetime.max


def clip(value: datetime) -> datetime:
    """`value` moved into the window [MIN_TIME, MAX_TIME]."""
    return min(max(value, MIN_TIME), MAX_TIME)


def time_range(start: date | datetime | None, end: date | datetime | None):
    """The half-open datetime range for the caller's bounds (a `date` end includes its day),
    clipped to the window; never raises, whatever the dates (an empty range has low >= high)."""
    if start is None:
        low = MIN_TIME
    elif isinstance(start, datetime):
        low = clip(as_naive_utc(start))
    else:
        low = clip(datetime(start.year, start.month, start.day))
    if end is None:
        high = MAX_TIME
    elif isinstance(end, datetime):
        high = clip(as_naive_utc(end))
    else:
        day = datetime(end.year, end.month, end.day)
        # Compared before the day is added: 9999-12-31 plus a day is no datetime.
        high = MAX_TIME if day >= MAX_TIME else clip(day + timedelta(days=1))
    return low, high


def current_connection() -> Connection:
    """The connection of the request's session (the dashboard runs inside Flask requests)."""
    return db.session.connection()
