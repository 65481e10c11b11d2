"""The notes a dashboard chart draws as markers: one bounded query per chart.

A chart shows the notes on its tickers whose `as_of` date lies in the range drawn, newest first,
at most a few hundred of them (MAX_NOTE_MARKERS), so that a chart costs the same whether a
ticker has ten notes or a million. Whether there were more is found by reading one row past the
limit, never by counting them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

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

    Datetime bounds (a zoomed range) are half-open, as the price queries read them: a note is
    about a whole day, so it is in when its day overlaps [start, end).
    """
    if not tickers or limit < 1:
        return ChartNotes()
    # Core columns on the session's connection: the ORM's statement and row handling cost more
    # than the query itself (milliseconds, against well under one in the database).
    notes, users = Note.__table__.c, User.__table__.c
    query = (
        select(notes.id, notes.ticker, notes.as_of, users.first_name, users.last_name,
               notes.body, notes.created_at)
        .join_from(Note.__table__, User.__table__, users.id == notes.user_id)
        .where(notes.ticker.in_(list(tickers)))
        .order_by(notes.created_at.desc(), notes.id.desc())
        .limit(limit + 1)
    )
    if start is not None:
        query = query.where(notes.as_of >= first_day(start))
    if end is not None:
        query = query.where(notes.as_of <= last_day(end))
    rows = db.session.connection().execute(query).all()
    markers = tuple(
        NoteMarker(note_id, ticker, as_of, f"{first_name} {last_name}", body, created_at)
        for note_id, ticker, as_of, first_name, last_name, body, created_at in rows[:limit]
    )
    return ChartNotes(notes=markers, more=len(rows) > limit)


def first_day(start: date | datetime) -> date:
    """The first day a range from `start` (a date, or an instant) touches."""
    return start.date() if isinstance(start, datetime) else start


def last_day(end: date | datetime) -> date:
    """The last day a range up to `end` touches: a date end includes its day; an instant end
    is excluded, so a midnight ends the range with the day before."""
    if not isinstance(end, datetime):
        return end
    if end.time() == datetime.min.time() and end.date() > date.min:
        return end.date() - timedelta(days=1)
    return end.date()
