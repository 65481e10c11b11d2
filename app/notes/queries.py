"""The lists of notes: explore (everyone's), the home feed, an analyst's notes, a ticker's notes.

Each list is a Select of (Note, User) rows, newest (created_at, id) first, and is paged by
app.pagination.time_keyset_page: one index range read of PER_PAGE + 1 rows per page, the author
joined in the same query (no query per note). Every list has an index ending in
(created_at, id) (migration 0006_notes), so a deep page costs what the first does.

The home feed reads each of its sources (own notes, each followed analyst's, each watched
ticker's) on its own index from the page's edge and keeps the newest PER_PAGE + 1 of their union
(`feed_query`): a note that two sources find is one row, so it appears once.
"""

from __future__ import annotations

import functools
from datetime import date

from sqlalchemy import Select, bindparam, func, lateral, select, true, union

from app.extensions import db
from app.models import Follow, Note, TickerStats, User, WatchlistEntry, utcnow
from app.pagination import Page, Window, key_condition, key_order, time_keyset_page


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


def feed_query(user_id: int) -> Window:
    """`user_id`'s home feed: their own notes, notes by the analysts they follow and notes on
    the tickers they watch, each note once, as a Window (app.pagination) for `note_page`.

    Each source is read on its own index from the page's edge, at most `limit` rows: the own
    notes on ix_notes_user_id_created_at_id, every followed analyst's on the same index and every
    watched ticker's on ix_notes_ticker_created_at_id; the union of those (a note on a watched
    ticker by a followed analyst is one row) is cut to `limit` in key order. A page thus reads
    at most (1 + followed + watched) x limit index entries wherever it starts and however few
    notes the sources have (a filtered read of all notes newest first would read the whole index
    to find the last few notes of a quiet feed: 665 ms among 1M notes on PostgreSQL).
    """

    def window(edge, older: bool, limit: int) -> tuple[Select, dict]:
        dialect = db.session.get_bind().dialect.name
        params = {"feed_user": user_id, "feed_limit": limit}
        if edge is not None:
            params.update(edge_time=edge[0], edge_id=edge[1])
        return feed_statement(dialect, older, edge is not None), params

    return window


@functools.cache
def feed_statement(dialect: str, older: bool, from_edge: bool) -> Select:
    """The feed's statement for `dialect`, reading older (or newer) notes from an edge key (or
    from the newest), with bound parameters feed_user, feed_limit, edge_time and edge_id.

    Built once per shape: it is the same for every analyst and page, and building it costs more
    than the database's answer (1.7 ms against 1.1 ms on SQLite).
    """
    columns = (Note.created_at, Note.id)
    edge = (
        bindparam("edge_time", type_=Note.created_at.type),
        bindparam("edge_id", type_=Note.id.type),
    )
    condition = key_condition(columns, edge if from_edge else None, older)
    order = key_order(columns, older)
    user_id, limit = bindparam("feed_user", type_=Note.user_id.type), bindparam("feed_limit")

    def newest(*where) -> Select:
        """The first `limit` notes of a source from the edge, on the index `where` fits."""
        terms = [*where] if condition is None else [*where, condition]
        return select(Note.id, Note.created_at).where(*terms).order_by(*order).limit(limit)

    followed = select(Follow.followed_id).where(Follow.follower_id == user_id)
    watched = select(WatchlistEntry.ticker).where(WatchlistEntry.user_id == user_id)
    if dialect == "postgresql":
        # One index read per followed analyst and per watched ticker (LATERAL): PostgreSQL
        # cannot merge the ranges of an IN list in order, and would sort all their notes.
        by_followed = lateral(newest(Note.user_id == Follow.followed_id))
        on_watched = lateral(newest(Note.ticker == WatchlistEntry.ticker))
        sources = [
            select(by_followed.c.id, by_followed.c.created_at)
            .select_from(Follow)
            .join(by_followed, true())
            .where(Follow.follower_id == user_id),
            select(on_watched.c.id, on_watched.c.created_at)
            .select_from(WatchlistEntry)
            .join(on_watched, true())
            .where(WatchlistEntry.user_id == user_id),
        ]
    else:
        # SQLite has no LATERAL: it reads the ranges of the IN list's values on the same
        # indexes and sorts them (at most the feed's notes older than the edge).
        sources = [newest(Note.user_id.in_(followed)), newest(Note.ticker.in_(watched))]
    own = newest(Note.user_id == user_id)
    # Each source as a subquery: SQLite allows no ORDER BY / LIMIT on a UNION's own members.
    found = union(*(select(s.c.id, s.c.created_at) for s in
                    (q.subquery() for q in (own, *sources)))).subquery()
    # The page's ids first, then their notes and authors by primary key: joined before the
    # LIMIT, PostgreSQL may hash-join all notes to the sources' few hundred rows.
    found_order = key_order((found.c.created_at, found.c.id), older)
    page_ids = select(found.c.id).order_by(*found_order).limit(limit).subquery()
    return (
        select(Note, User)
        .select_from(page_ids)
        .join(Note, Note.id == page_ids.c.id)
        .join(User, User.id == Note.user_id)
        .order_by(*order)
    )


def user_notes_query(user_id: int) -> Select:
    """The notes `user_id` wrote (ix_notes_user_id_created_at_id)."""
    return notes_with_authors().where(Note.user_id == user_id)


def ticker_notes_query(ticker: str) -> Select:
    """The notes on `ticker`, a stored symbol (ix_notes_ticker_created_at_id)."""
    return notes_with_authors().where(Note.ticker == ticker)


def note_page(query: Select | Window) -> Page:
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
