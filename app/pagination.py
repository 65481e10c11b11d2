"""Keyset pagination: pages of rows newest first, linked by the keys of the rows at their edges.

A page is asked for as `?before=<key>` (the next, older page: the rows with smaller keys) or
`?after=<key>` (the previous, newer one). Rows written while someone reads never shift what the
next page holds, and a deep page costs what the first does: each is one index range read of
PER_PAGE + 1 rows, plus the one row next to its edge the other way (for that link).

Two keys are used: a row's id (`keyset_page`, where ids grow with time, e.g. sign-in events),
and (time, id) (`time_keyset_page`, for notes and follows: the order users see, with the id
breaking ties between equal times). A time key is written `<microseconds since 1970 UTC>.<id>`.
Any other value of the two parameters (malformed, out of range, both given) is a 404, never a
database error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import abort, current_app, request
from sqlalchemy import ColumnElement, Select, tuple_

from app.extensions import db

ID_MAX = 2**31 - 1  # the largest value an INTEGER id holds
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# The times a key may carry: what a datetime holds (years 1..9999), so decoding never overflows.
MICROS_MIN = (datetime(1, 1, 1, tzinfo=UTC) - EPOCH) // MICROSECOND
MICROS_MAX = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - EPOCH) // MICROSECOND

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Page:
    """The items of one page, and the keys its rel=prev / rel=next links carry (None: no link)."""

    items: list[Any]
    newer_than: str | None  # ?after= of the previous page
    older_than: str | None  # ?before= of the next page


def parse_id(raw: str) -> int | None:
    """An id as a key, None when `raw` is not one."""
    if not raw.isascii() or not raw.isdigit() or int(raw) > ID_MAX:
        return None
    return int(raw)


def parse_time_key(raw: str) -> tuple[datetime, int] | None:
    """`<microseconds>.<id>` as (aware UTC time, id), None when `raw` is not one."""
    micros, dot, row_id = raw.partition(".")
    digits = micros[1:] if micros.startswith("-") else micros
    if not dot or not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        return None
    number, parsed_id = int(micros), parse_id(row_id)
    if parsed_id is None or not MICROS_MIN <= number <= MICROS_MAX:
        return None
    return EPOCH + number * MICROSECOND, parsed_id


def format_time_key(at: datetime, row_id: int) -> str:
    """The key of a row written at `at` (aware, or naive UTC as SQLite returns it)."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return f"{(aware - EPOCH) // MICROSECOND}.{row_id}"


def requested_key(name: str, parse: Callable[[str], Key | int | None]) -> Any:
    """The key in query parameter `name`, None when absent; anything unreadable is a 404."""
    raw = request.args.get(name)
    if raw is None:
        return None
    key = parse(raw)
    if key is None:
        abort(404)
    return key


# A window builds the statement of the rows next to an edge key, in key order, at most `limit`:
# window(edge, older, limit) is, for older=True, the rows whose key is below `edge` (None: from
# the newest), newest first; for older=False the rows above `edge`, oldest first. It gives the
# Select and the values of its bound parameters. A plain query gets one from `query_window`; a
# query whose key condition must reach inside it (the home feed's union of per-source reads,
# app.notes.queries) builds its own with `key_condition` and `key_order`.
Window = Callable[[Key | None, bool, int], tuple[Select, dict]]


def key_condition(columns: Sequence[ColumnElement], edge: Key | None, older: bool):
    """The WHERE term for the rows below (older) or above `edge` by `columns`; None for no edge."""
    if edge is None:
        return None
    key = tuple_(*columns) if len(columns) > 1 else columns[0]
    bound = tuple_(*edge) if len(columns) > 1 else edge[0]
    return key < bound if older else key > bound


def key_order(columns: Sequence[ColumnElement], older: bool) -> list[ColumnElement]:
    """ORDER BY terms reading `columns` away from an edge: descending for older rows."""
    return [column.desc() if older else column.asc() for column in columns]


def query_window(query: Select, columns: Sequence[ColumnElement]) -> Window:
    """The window of `query` (any WHERE) keyed by `columns`."""

    def window(edge: Key | None, older: bool, limit: int) -> tuple[Select, dict]:
        condition = key_condition(columns, edge, older)
        bounded = query if condition is None else query.where(condition)
        return bounded.order_by(*key_order(columns, older)).limit(limit), {}

    return window


def keyset_page(query: Select, id_column: ColumnElement) -> Page:
    """The page of `query` (one entity, any WHERE) that the request asks for, newest id first."""
    return _page(
        query_window(query, (id_column,)),
        parse=lambda raw: None if (found := parse_id(raw)) is None else (found,),
        format_key=lambda key: str(key[0]),
        key_of=lambda item: (getattr(item, id_column.key),),
        fetch=lambda q: db.session.scalars(*q).all(),
    )


def time_keyset_page(
    source: Select | Window,
    time_column: ColumnElement,
    id_column: ColumnElement,
    key_of: Callable[[Any], tuple[datetime, int]],
    *,
    scalars: bool = True,
) -> Page:
    """The page of `source` that the request asks for, newest (time, id) first.

    `source` is a query (any WHERE) or a Window over those two columns. `key_of(item)` gives an
    item's (time, id); `scalars=False` keeps whole result rows (a query that selects several
    entities, e.g. a note with its author) as the items.
    """
    window = source if callable(source) else query_window(source, (time_column, id_column))
    return _page(
        window,
        parse=parse_time_key,
        format_key=lambda key: format_time_key(*key),
        key_of=key_of,
        fetch=(lambda q: db.session.scalars(*q).all()) if scalars else (
            lambda q: db.session.execute(*q).all()
        ),
    )


def _page(
    window: Window,
    *,
    parse: Callable[[str], Key | None],
    format_key: Callable[[Key], str],
    key_of: Callable[[Any], Key],
    fetch: Callable[[tuple[Select, dict]], Sequence[Any]],
) -> Page:
    """The requested page of `window`, newest key first (see the module)."""
    before, after = requested_key("before", parse), requested_key("after", parse)
    if before is not None and after is not None:
        abort(404)
    per_page = current_app.config["PER_PAGE"]
    if after is not None:
        rows = fetch(window(after, False, per_page + 1))
        items = list(reversed(rows[:per_page]))
        more_newer = len(rows) > per_page
    else:
        rows = fetch(window(before, True, per_page + 1))
        items = list(rows[:per_page])
        more_older = len(rows) > per_page
    if not items:  # past either end (a stale link): an empty page, with no links
        return Page([], None, None)
    first, last = key_of(items[0]), key_of(items[-1])
    if after is not None:
        more_older = any_rows(window(last, True, 1))
    else:
        more_newer = before is not None and any_rows(window(first, False, 1))
    return Page(
        items, format_key(first) if more_newer else None, format_key(last) if more_older else None
    )


def any_rows(nearest: tuple[Select, dict]) -> bool:
    """Whether `nearest` (a window of one row next to a page's edge, with its parameters) has
    a row.

    Asked as that row in key order, not as an EXISTS: PostgreSQL drops an ORDER BY inside
    EXISTS and may then scan the whole table from its oldest rows for one newer than a deep page
    (bench/notes_bench.py: 117 ms for the rel=prev link of the home feed's page 500 among 1M
    notes, 0.2 ms from the index).
    """
    return db.session.execute(*nearest).first() is not None
