"""The notes a dashboard chart draws as markers: one bounded query per chart.

A chart shows the notes on its tickers whose `as_of` date lies in the range drawn, newest first,
at most a few hundred of them (MAX_NOTE_MARKERS), so that a chart costs the same whether a
ticker has ten notes or a million. Whether there were more is found by reading one row past the
limit, never by counting them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Note, User

# Enough to annotate a chart densely; a few hundred markers cost the figure little.
MAX_NOTE_MARKERS = 300


@dataclass(frozen=True)
class NoteMarker:
    """One note as the chart shows it: where it goes (ticker, as_of), and what hovering shows."""

    id: int
    ticker: str
    as_of: date
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class ChartNotes:
    """The notes of a chart, newest first, and whether the range holds more than were read."""

    notes: tuple[NoteMarker, ...] = ()
    more: bool = False


def chart_notes(
    tickers: Sequence[str],
    start: date | datetime | None,
    end: date | datetime | None,
    limit: int = MAX_NOTE_MARKERS,
) -> ChartNotes:
    """The newest `limit` notes on `tickers` with `as_of` from `start` to `end` (inclusive, by
    date; None leaves that side open), each with its author's name, newest first (created_at,
    then id, both descending), and whether there were more.

    A datetime bound (a zoomed range) counts by its date: a note is about a whole day, and its
    marker sits on that day's bar.
    """
    if not tickers or limit < 1:
        return ChartNotes()
    query = (
        select(Note.id, Note.ticker, Note.as_of, User.first_name, User.last_name, Note.body,
               Note.created_at)
        .join(User, User.id == Note.user_id)
        .where(Note.ticker.in_(list(tickers)))
        .order_by(Note.created_at.desc(), Note.id.desc())
        .limit(limit + 1)
    )
    if start is not None:
        query = query.where(Note.as_of >= as_day(start))
    if end is not None:
        query = query.where(Note.as_of <= as_day(end))
    rows = db.session.execute(query).all()
    notes = tuple(
        NoteMarker(id=row.id, ticker=row.ticker, as_of=row.as_of,
                   author=f"{row.first_name} {row.last_name}", body=row.body,
                   created_at=row.created_at)
        for row in rows[:limit]
    )
    return ChartNotes(notes=notes, more=len(rows) > limit)


def as_day(bound: date | datetime) -> date:
    """The date of a range bound, which may be a date or a datetime."""
    return bound.date() if isinstance(bound, datetime) else bound
