"""The plans of the home feed and explore on both databases, on enough analyzed data for the
planners to choose as they would in production (bench/notes_bench.py measures them at 1M notes):
explore reads ix_notes_created_at_id in key order and stops, sorting nothing; the home feed reads
each of its sources on its own index from the page's edge, however many or few notes they have."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, insert, text

from app.extensions import db
from app.models import Follow, Note, StockTicker, User, WatchlistEntry
from app.notes.queries import explore_query, feed_query, note_page
from app.passwords import hash_password

USERS, FOLLOWS, TICKERS, WATCHED, NOTES = 1000, 50, 500, 10, 20_000
START = datetime(2025, 1, 1, tzinfo=UTC)
NEWCOMER = USERS + 1  # follows and watches nothing, has written nothing


@pytest.fixture
def crowded(make_app):
    """An app over USERS analysts (and the newcomer), each following FOLLOWS and watching
    WATCHED tickers, and NOTES notes by random authors on random tickers, analyzed."""
    app = make_app()
    rng = random.Random(11)
    tickers = [f"T{n:03d}" for n in range(TICKERS)]
    password_hash = hash_password("not used")
    with app.app_context():
        db.session.execute(insert(StockTicker), [{"ticker": t} for t in tickers])
        db.session.execute(insert(User), [
            {"id": n, "email": f"a{n}@example.com", "first_name": "A", "last_name": str(n),
             "password_hash": password_hash, "session_token": f"{n:032d}"}
            for n in range(1, NEWCOMER + 1)
        ])  # fmt: skip
        db.session.execute(insert(Follow), [
            {"follower_id": n, "followed_id": m}
            for n in range(1, USERS + 1)
            for m in rng.sample([m for m in range(1, USERS + 1) if m != n], FOLLOWS)
        ])  # fmt: skip
        db.session.execute(insert(WatchlistEntry), [
            {"user_id": n, "ticker": t} for n in range(1, USERS + 1)
            for t in rng.sample(tickers, WATCHED)
        ])  # fmt: skip
        db.session.execute(insert(Note), [
            {"user_id": rng.randint(1, USERS), "ticker": rng.choice(tickers),
             "as_of": date(2025, 1, 1), "body": f"note {n}",
             "created_at": START + timedelta(minutes=n)}
            for n in range(NOTES)
        ])  # fmt: skip
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return app


def plans_of_page(app, page_of, **args) -> list[str]:
    """The plan of every statement reading notes that `page_of()` (a Page) runs."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    with app.test_request_context(query_string=args):
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            page = page_of()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        explain = "EXPLAIN " if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        connection = db.session.connection()
        plans = [
            "\n".join(str(row[-1]) for row in connection.exec_driver_sql(explain + sql, params))
            for sql, params in statements
            if "FROM notes" in sql
        ]
    assert page.items
    return plans


def assert_reads_in_key_order(plans: list[str], index: str = "ix_notes_created_at_id") -> None:
    """Every plan reads `index` and sorts nothing (no top-N sort of a whole list)."""
    assert plans
    for plan in plans:
        assert index in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def assert_reads_each_source_on_its_index(plans: list[str]) -> None:
    """Every plan reads the feed's sources on their own indexes and never all notes."""
    assert plans
    for plan in plans:
        assert "ix_notes_user_id_created_at_id" in plan, plan
        assert "ix_notes_ticker_created_at_id" in plan, plan
        assert "ix_notes_created_at_id" not in plan, plan
        assert "Seq Scan on notes" not in plan and "SCAN notes" not in plan, plan


def test_the_feed_reads_each_source_on_its_index(crowded):
    first = plans_of_page(crowded, lambda: note_page(feed_query(1)))
    assert_reads_each_source_on_its_index(first)
    with crowded.test_request_context():
        key = note_page(feed_query(1)).older_than
    deep = plans_of_page(crowded, lambda: note_page(feed_query(1)), before=key)
    assert_reads_each_source_on_its_index(deep)


def test_a_quiet_feed_does_not_read_all_notes(crowded):
    """Following one analyst who wrote one note: a filtered read of all notes newest first
    would read the whole table to fill the page; the per-source reads find the note at once."""
    quiet = NEWCOMER + 1
    with crowded.app_context():
        db.session.add(User(id=quiet, email="quiet@example.com", first_name="Q", last_name="Q",
                            password_hash="x", session_token="q" * 32))  # fmt: skip
        db.session.flush()  # the user before the rows that refer to it
        db.session.add(Follow(follower_id=quiet, followed_id=NEWCOMER))
        db.session.add(Note(user_id=NEWCOMER, ticker="T000", as_of=date(2025, 1, 1),
                            body="rare", created_at=START))  # fmt: skip
        db.session.commit()
    plans = plans_of_page(crowded, lambda: note_page(feed_query(quiet)))
    assert_reads_each_source_on_its_index(plans)
    with crowded.test_request_context():
        assert [row.Note.body for row in note_page(feed_query(quiet)).items] == ["rare"]


def test_explore_reads_the_key_index_and_stops(crowded):
    assert_reads_in_key_order(plans_of_page(crowded, lambda: note_page(explore_query())))


def test_a_newcomers_feed_reads_their_own_notes_index(crowded):
    with crowded.app_context():
        db.session.add(Note(user_id=NEWCOMER, ticker="T000", as_of=date(2025, 1, 1),
                            body="first", created_at=START))  # fmt: skip
        db.session.commit()
    plans = plans_of_page(crowded, lambda: note_page(feed_query(NEWCOMER)))
    # Their range of their index, and not the whole of ix_notes_created_at_id.
    assert_reads_each_source_on_its_index(plans)
    with crowded.test_request_context():
        assert [row.Note.body for row in note_page(feed_query(NEWCOMER)).items] == ["first"]
