"""Keyset pagination by (time, id) on both databases: every row once, in order, across equal
times; stable while rows are added; links both ways; unreadable keys are 404s."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, select, text
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.models import Note, StockTicker
from app.pagination import format_time_key, parse_time_key, time_keyset_page
from tests.support.users import create_user

START = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def add_notes(user_id: int, times: list[datetime]) -> None:
    """Notes by `user_id` written at `times` (several may share one time)."""
    db.session.add_all(
        Note(user_id=user_id, ticker="AAA", as_of=date(2020, 1, 2), body=f"n{i}", created_at=at)
        for i, at in enumerate(times)
    )
    db.session.commit()


def page_of(app, **args):
    """The notes page the request with `args` asks for."""
    with app.test_request_context(query_string=args):
        return time_keyset_page(
            select(Note), Note.created_at, Note.id, lambda note: (note.created_at, note.id)
        )


@pytest.fixture
def notes_app(make_app):
    app = make_app(PER_PAGE=3)
    user_id = create_user(app)
    with app.app_context():
        db.session.add(StockTicker(ticker="AAA"))
        db.session.commit()
        # Ten notes, in pairs written at the same microsecond: the id breaks the ties.
        add_notes(user_id, [START + timedelta(seconds=i // 2) for i in range(10)])
    return app, user_id


def walk(app, direction: str, start: str | None) -> list[list[int]]:
    """The ids of every page from the one after `start`, following the links in `direction`."""
    pages, key = [], start
    while True:
        with app.app_context():
            page = page_of(app, **({direction: key} if key else {}))
            pages.append([note.id for note in page.items])
        key = page.older_than if direction == "before" else page.newer_than
        if key is None:
            return pages


def test_pages_hold_every_note_once_newest_first_across_equal_times(notes_app):
    app, _ = notes_app
    with app.app_context():
        newest_first = [
            n.id for n in db.session.scalars(
                select(Note).order_by(Note.created_at.desc(), Note.id.desc())
            )
        ]  # fmt: skip
    pages = walk(app, "before", None)
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert [note_id for page in pages for note_id in page] == newest_first


def test_the_previous_links_lead_back_through_the_same_pages(notes_app):
    app, _ = notes_app
    with app.app_context():
        last = page_of(app)
        for _ in range(3):
            last = page_of(app, before=last.older_than) if last.older_than else last
        assert last.older_than is None and last.newer_than is not None
        back = walk(app, "after", last.newer_than)
    forward = walk(app, "before", None)
    assert list(reversed(back)) == forward[:-1]


def test_a_note_written_while_reading_does_not_shift_the_next_page(notes_app):
    app, user_id = notes_app
    with app.app_context():
        first = page_of(app)
        second_before = [n.id for n in page_of(app, before=first.older_than).items]
        add_notes(user_id, [START + timedelta(days=1)])
        second_after = [n.id for n in page_of(app, before=first.older_than).items]
    assert second_after == second_before


@pytest.mark.parametrize(
    "args",
    [
        {"before": "x"},
        {"before": "1.2.3"},
        {"after": "12"},
        {"before": "99999999999999999999.1"},
        {"before": "1.99999999999"},
        {"before": "1.1", "after": "1.1"},
        {"before": "-.1"},
        {"before": "١٢.٣"},
    ],
)
def test_unreadable_keys_are_404(notes_app, args):
    app, _ = notes_app
    with app.app_context(), pytest.raises(NotFound):
        page_of(app, **args)


def test_a_key_past_either_end_is_an_empty_page_without_links(notes_app):
    app, _ = notes_app
    with app.app_context():
        page = page_of(app, before=format_time_key(datetime(1900, 1, 1, tzinfo=UTC), 1))
    assert page.items == [] and page.newer_than is None and page.older_than is None


@given(st.text(max_size=40))
def test_parse_time_key_never_raises(raw):
    key = parse_time_key(raw)
    if key is not None:  # whatever it read, it writes back as a key that reads the same
        assert parse_time_key(format_time_key(*key)) == key


@given(st.datetimes(timezones=st.just(UTC)), st.integers(min_value=0, max_value=2**31 - 1))
def test_time_keys_round_trip(at, row_id):
    assert parse_time_key(format_time_key(at, row_id)) == (at, row_id)


def test_the_link_back_from_a_deep_page_reads_the_index_not_the_table(make_app):
    """The rel=prev probe of a deep page asks for the nearest newer row in key order. As an
    EXISTS, PostgreSQL dropped the order and scanned the table from its oldest rows (117 ms at
    page 500 of a feed of 1M notes in bench/notes_bench.py); the planner must now read the
    (created_at, id) index from the page's edge, whatever the table's size."""
    app = make_app(PER_PAGE=20)
    user_id = create_user(app)
    with app.app_context():
        db.session.add(StockTicker(ticker="AAA"))
        db.session.commit()
        add_notes(user_id, [START + timedelta(minutes=i // 3) for i in range(3000)])
        db.session.execute(text("ANALYZE notes"))
        db.session.commit()
        deep = format_time_key(START + timedelta(minutes=100), 1)
        statements = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            page = page_of(app, before=deep)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert page.newer_than is not None and len(page.items) == 20
        postgres = db.engine.dialect.name == "postgresql"
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        for statement, parameters in statements:
            plan = " ".join(
                str(row[-1]) for row in db.session.connection().exec_driver_sql(
                    explain + statement, parameters
                )
            )  # fmt: skip
            assert "Seq Scan on notes" not in plan and "SCAN notes" not in plan, plan
