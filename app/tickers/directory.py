"""The data layer of the tickers directory: listing, searching, sorting and paging tickers with
the figures of `ticker_stats` (never `stock_prices`), one ticker's facts, and the freshness date.

A page is asked for as `?after=<ticker>` (the next page: what sorts after that row) or
`?before=<ticker>` (the previous one). The edge ticker's sort key is read by its primary key,
so a link stays right however the list changes meanwhile, and a deep page costs what the first
does. Every value from the request is a bound parameter; LIKE wildcards in `q` match literally.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, exists, false, func, literal, or_, select, tuple_
from sqlalchemy.orm import aliased
from sqlalchemy.types import Double

from app.extensions import db
from app.models import TICKER_NAME_MAX, StockTicker, TickerStats, WatchlistEntry
from app.prices.tickers import InvalidTicker, parse_ticker

# The `sort` values, each with its heading; unknown values sort by ticker.
SORTS = {"ticker": "Ticker", "name": "Name", "change": "Change", "last": "Last close"}
DEFAULT_SORT = "ticker"
# Sorts past every stored value: tickers without prices come last in `change` and `last`.
_LAST = literal(1e308, Double)
LIKE_ESCAPE = "\\"


class NoSuchPage(LookupError):
    """A paging parameter that names no page (malformed, or not a stored ticker)."""


@dataclass(frozen=True)
class TickerRow:
    """A ticker as the directory lists it; the figures are None for a ticker without prices."""

    ticker: str
    name: str | None
    industry: str | None
    first_time: datetime | None
    last_time: datetime | None
    last_close: float | None
    change_pct: float | None
    watched: bool


@dataclass(frozen=True)
class TickerPage:
    """The rows of one page, the tickers its prev/next links start from (None: no link), and
    how many tickers match in all."""

    rows: list[TickerRow]
    before: str | None
    after: str | None
    total: int


def sort_key(sort: str) -> tuple[ColumnElement, ...]:
    """The ascending key of `sort`, ending with the ticker so that every row has its own place.
    Change and last close list the largest first."""
    if sort == "name":
        return (func.lower(func.coalesce(StockTicker.name, StockTicker.ticker)), StockTicker.ticker)
    if sort == "change":
        return (func.coalesce(-TickerStats.change_pct, _LAST), StockTicker.ticker)
    if sort == "last":
        return (func.coalesce(-TickerStats.last_close, _LAST), StockTicker.ticker)
    return (StockTicker.ticker,)


def like_pattern(q: str) -> str:
    """`q` as a case-insensitive substring pattern whose %, _ and \\ match themselves."""
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_condition(q: str) -> ColumnElement[bool] | None:
    """Rows whose symbol, name or industry contains `q` (None: every row). A `q` no stored text
    can contain (longer than the columns, or with a NUL, which PostgreSQL refuses to bind)
    matches nothing without asking the database to compare."""
    q = q.strip()
    if not q:
        return None
    if len(q) > TICKER_NAME_MAX or "\x00" in q:
        return false()
    pattern = like_pattern(q)
    return or_(
        *(
            func.lower(column).like(pattern, escape=LIKE_ESCAPE)
            for column in (StockTicker.ticker, StockTicker.name, StockTicker.industry)
        )
    )


def watched_by(user_id: int | None) -> ColumnElement[bool]:
    """Whether the row's ticker is on `user_id`'s watchlist (one primary-key probe per row)."""
    if user_id is None:
        return literal(False)
    # An alias of its own, so that a query that also joins the watchlist (the home page's)
    # does not correlate this probe away.
    entry = aliased(WatchlistEntry)
    return exists().where(entry.user_id == user_id, entry.ticker == StockTicker.ticker)


def rows_query(user_id: int | None) -> Select:
    """Every ticker with its figures and whether `user_id` watches it."""
    return select(
        StockTicker.ticker,
        StockTicker.name,
        StockTicker.industry,
        TickerStats.first_time,
        TickerStats.last_time,
        TickerStats.last_close,
        TickerStats.change_pct,
        watched_by(user_id).label("watched"),
    ).outerjoin(TickerStats, TickerStats.ticker == StockTicker.ticker)


def cursor_ticker(raw: str | None) -> str | None:
    """A paging parameter as a ticker symbol; NoSuchPage when it is not one."""
    if raw is None:
        return None
    try:
        return parse_ticker(raw)
    except InvalidTicker:
        raise NoSuchPage(raw) from None


def ticker_page(
    q: str,
    sort: str,
    user_id: int | None,
    per_page: int,
    before: str | None = None,
    after: str | None = None,
) -> TickerPage:
    """The page of matching tickers in `sort` order after `after` or before `before` (the raw
    parameters; neither: the first page). Raises NoSuchPage for a parameter that names no page."""
    after_ticker, before_ticker = cursor_ticker(after), cursor_ticker(before)
    if after_ticker is not None and before_ticker is not None:
        raise NoSuchPage("both before and after")
    key = sort_key(sort)
    query = rows_query(user_id)
    condition = search_condition(q)
    if condition is not None:
        query = query.where(condition)
    edge = after_ticker or before_ticker
    if edge is None:
        rows = db.session.execute(query.order_by(*key).limit(per_page + 1)).all()
        more_after, more_before = len(rows) > per_page, False
        rows = rows[:per_page]
    else:
        edge_key = db.session.execute(
            select(*key).outerjoin(TickerStats, TickerStats.ticker == StockTicker.ticker)
            .where(StockTicker.ticker == edge)
        ).first()  # fmt: skip
        if edge_key is None:
            raise NoSuchPage(edge)
        position = tuple_(*key)
        if after_ticker is not None:
            window = query.where(position > tuple_(*edge_key)).order_by(*key)
            rows = db.session.execute(window.limit(per_page + 1)).all()
            more_after, more_before = len(rows) > per_page, True
            rows = rows[:per_page]
        else:
            window = query.where(position < tuple_(*edge_key))
            window = window.order_by(*(part.desc() for part in key))
            rows = db.session.execute(window.limit(per_page + 1)).all()
            more_after, more_before = True, len(rows) > per_page
            rows = list(reversed(rows[:per_page]))
    total_query = select(func.count()).select_from(StockTicker)
    if condition is not None:
        total_query = total_query.where(condition)
    total = db.session.scalar(total_query) or 0
    items = [TickerRow(**row._mapping) for row in rows]
    if not items:  # past either end (a stale link): an empty page, with no links
        return TickerPage([], None, None, total)
    return TickerPage(
        items,
        items[0].ticker if more_before else None,
        items[-1].ticker if more_after else None,
        total,
    )


def ticker_row(ticker: str, user_id: int | None) -> TickerRow | None:
    """One ticker's facts, or None when it is not stored."""
    row = db.session.execute(rows_query(user_id).where(StockTicker.ticker == ticker)).first()
    return None if row is None else TickerRow(**row._mapping)


def watchlist_rows(user_id: int) -> list[TickerRow]:
    """`user_id`'s watchlist with each ticker's figures, by symbol."""
    query = rows_query(user_id).join(
        WatchlistEntry,
        (WatchlistEntry.ticker == StockTicker.ticker) & (WatchlistEntry.user_id == user_id),
    )
    rows = db.session.execute(query.order_by(StockTicker.ticker))
    return [TickerRow(**row._mapping) for row in rows]


def prices_up_to(tickers: Sequence[str] | None = None) -> datetime | None:
    """The time of the newest stored bar of `tickers` (all tickers when None), or None.

    All tickers: one read of ix_ticker_stats_last_time; some: one primary-key read each.
    """
    query = select(func.max(TickerStats.last_time))
    if tickers is not None:
        query = query.where(TickerStats.ticker.in_(list(tickers)))
    return db.session.scalar(query)
