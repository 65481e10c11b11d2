"""The lists of notes: explore (everyone's), the home feed, an analyst's notes, a ticker's notes.

Each list is a Select of (Note, User) rows, newest (created_at, id) first, and is paged by
app.pagination.time_keyset_page: one index range read of PER_PAGE + 1 rows per page, the author
joined in the same query (no query per note). Every list has an index ending in
(created_at, id) (migration 0006_notes), so a deep page costs what the first does.

The home feed is one range read of ix_notes_created_at_id backwards with the three sources as
a filter (own notes, notes by followed analysts, notes on watched tickers): a note that matches
two sources is one row of `notes`, so it appears once, and the read stops after PER_PAGE + 1
matches wherever the page starts.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, or_, select

from app.extensions import db
from app.models import Follow, Note, TickerStats, User, WatchlistEntry, utcnow
from app.pagination import Page, time_keyset_page


def notes_with_authors() -> Select:
    """Every note with its author, as each list selects them.

    An outer join, though every note has its author (a NOT NULL foreign key): it fixes the
    join order, notes first, read in key order, each author found by its primary key. With an
    inner join SQLite chose to scan users first and sort every matching note (the home feed's
    page 1: 450 ms among 100,000 notes in bench/notes_bench.py).
    """
    return select(Note, User).outerjoin(User, User.id == Note.user_id)


def explore_query() -> Select:
    """Every analyst's notes."""
    return notes_with_authors()


def feed_query(user_id: int) -> Select:
    """`user_id`'s home feed: their own notes, notes by the analysts they follow and notes on
    the tickers they watch, each note once."""
    followed = select(Follow.followed_id).where(Follow.follower_id == user_id)
    watched = select(WatchlistEntry.ticker).where(WatchlistEntry.user_id == user_id)
    # Following and watching nothing (every new analyst), the feed is their own notes: read from
    # their index. The filtered read below would find no note to stop at and read all of
    # ix_notes_created_at_id (665 ms among 1M notes on PostgreSQL, in bench/notes_bench.py).
    if not db.session.scalar(select(or_(followed.exists(), watched.exists()))):
        return user_notes_query(user_id)
    # `ticker || ''` keeps that term off the ticker indexes. When every term of the OR can use
    # an index, SQLite reads each source's whole range and sorts all the feed's notes (page 1
    # cost what the whole feed does) instead of reading ix_notes_created_at_id backwards and
    # stopping after PER_PAGE + 1 matches; PostgreSQL filters by the two hashed sets either way.
    return notes_with_authors().where(
        or_(
            Note.user_id == user_id,
            Note.user_id.in_(followed),
            Note.ticker.concat("").in_(watched),
        )
    )


def user_notes_query(user_id: int) -> Select:
    """The notes `user_id` wrote (ix_notes_user_id_created_at_id)."""
    return notes_with_authors().where(Note.user_id == user_id)


def ticker_notes_query(ticker: str) -> Select:
    """The notes on `ticker`, a stored symbol (ix_notes_ticker_created_at_id)."""
    return notes_with_authors().where(Note.ticker == ticker)


def note_page(query: Select) -> Page:
    """The page of `query` (one of the above) that the request's ?before= / ?after= asks for;
    its items are (Note, User) rows. A malformed key is a 404 (app.pagination)."""
    return time_keyset_page(
        query,
        Note.created_at,
        Note.id,
        key_of=lambda row: (row.Note.created_at, row.Note.id),
        scalars=False,
    )


def count_user_notes(user_id: int) -> int:
    """How many notes `user_id` has written (an index-only count of their range)."""
    count = select(func.count()).select_from(Note).where(Note.user_id == user_id)
    return db.session.scalar(count) or 0


def default_as_of(ticker: str) -> date:
    """The date a note on `ticker` is about unless its author says otherwise: the ticker's last
    bar, or today (UTC) for a ticker without prices."""
    last_time = db.session.scalar(
        select(TickerStats.last_time).where(TickerStats.ticker == ticker)
    )
    return last_time.date() if last_time is not None else utcnow().date()
