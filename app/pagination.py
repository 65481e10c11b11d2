"""Keyset pagination: pages of rows newest first, linked by the ids at their edges.

A page is asked for as `?before=<id>` (the next, older page: the rows with smaller ids) or
`?after=<id>` (the previous, newer one). Rows written while someone reads never shift what the
next page holds, and a deep page costs what the first does: each is one index range read of
PER_PAGE + 1 rows, plus one EXISTS for the link the other way. Any other value of the two
parameters (not a whole number, out of range, both given) is a 404, never a database error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, request
from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute

from app.extensions import db

ID_MAX = 2**31 - 1  # the largest value an INTEGER id holds


@dataclass(frozen=True)
class Page:
    """The rows of one page, and the ids its rel=prev / rel=next links carry (None: no link)."""

    items: list[Any]
    newer_than: int | None  # ?after= of the previous page
    older_than: int | None  # ?before= of the next page


def page_parameter(name: str) -> int | None:
    """`name` from the query string as an id, None when absent; anything else is a 404."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > ID_MAX:
        abort(404)
    return int(raw)


def keyset_page(query: Select, id_column: InstrumentedAttribute) -> Page:
    """The page of `query` (one entity, any WHERE) that the request asks for, newest id first."""
    before, after = page_parameter("before"), page_parameter("after")
    if before is not None and after is not None:
        abort(404)
    per_page = current_app.config["PER_PAGE"]
    if after is not None:
        rows = db.session.scalars(
            query.where(id_column > after).order_by(id_column.asc()).limit(per_page + 1)
        ).all()
        items = list(reversed(rows[:per_page]))
        more_newer = len(rows) > per_page
    else:
        window = query if before is None else query.where(id_column < before)
        rows = db.session.scalars(window.order_by(id_column.desc()).limit(per_page + 1)).all()
        items = list(rows[:per_page])
        more_older = len(rows) > per_page
    if not items:  # past either end (a stale link): an empty page, with no links
        return Page([], None, None)
    first, last = getattr(items[0], id_column.key), getattr(items[-1], id_column.key)
    if after is not None:
        more_older = any_rows(query.where(id_column < last))
    else:
        more_newer = before is not None and any_rows(query.where(id_column > first))
    return Page(items, first if more_newer else None, last if more_older else None)


def any_rows(query: Select) -> bool:
    """Whether `query` has a row (an EXISTS: the database stops at the first)."""
    return bool(db.session.scalar(select(query.exists())))
