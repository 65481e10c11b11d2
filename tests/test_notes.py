"""Research notes on both databases: the lists (feed, explore, profile, ticker page) as the
microblog tests its posts, and the real forms with their CSRF tokens: writing, the errors beside
the fields, deleting, the rate limit, paging by rel links, and hostile text shown as text."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from markupsafe import escape
from sqlalchemy import delete, select

from app.extensions import db
from app.models import Follow, Note, StockTicker, User, WatchlistEntry
from app.notes.links import chart_url
from app.notes.queries import (
    explore_query,
    feed_query,
    note_page,
    ticker_notes_query,
    user_notes_query,
)
from dashapp.urlstate import parse_query
from tests.support.users import DEFAULT_PASSWORD, AuthActions, create_user, csrf_token_from, submit

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
NOTE_RE = re.compile(r'<article class="note card mb-2" id="note-(\d+)">')
HOSTILE = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
)


@pytest.fixture
def desk(app, runner, tmp_path):
    """Tickers AAA (prices to 2020-01-03), BBB and CCC (no prices); analysts Ada, Bob, Cy."""
    prices = tmp_path / "prices.csv"
    prices.write_text("date,open,high,low,close,volume,ticker\n"
                      "2020-01-02,1,2,0.5,10,10,AAA\n2020-01-03,1,2,0.5,11,10,AAA\n")  # fmt: skip
    assert runner.invoke(args=["prices", "import", str(prices)]).exit_code == 0
    with app.app_context():
        db.session.add_all([StockTicker(ticker="BBB"), StockTicker(ticker="CCC")])
        db.session.commit()
    ada = create_user(app)
    bob = create_user(app, "bob@example.com", first_name="Bob", last_name="Babbage")
    cy = create_user(app, "cy@example.com", first_name="Cy", last_name="Clerk")
    return {"ada": ada, "bob": bob, "cy": cy}


@pytest.fixture
def ada(desk, client, auth):
    auth.login()
    return client


def add_note(app, user_id, ticker, minutes, body="a note") -> int:
    """A note written `minutes` after T0 (stored directly: the lists' tests need their times)."""
    with app.app_context():
        note = Note(user_id=user_id, ticker=ticker, as_of=date(2020, 1, 3), body=body,
                    created_at=T0 + timedelta(minutes=minutes))  # fmt: skip
        db.session.add(note)
        db.session.commit()
        return note.id


def follow(app, follower, followed):
    with app.app_context():
        db.session.add(Follow(follower_id=follower, followed_id=followed))
        db.session.commit()


def watch(app, user_id, ticker):
    with app.app_context():
        db.session.add(WatchlistEntry(user_id=user_id, ticker=ticker))
        db.session.commit()


def ids_of(app, make_query, *args) -> list[int]:
    """The note ids of the first page of the list `make_query(*args)` builds."""
    with app.test_request_context("/"):
        return [row.Note.id for row in note_page(make_query(*args)).items]


def stored_notes(app) -> list[Note]:
    with app.app_context():
        notes = db.session.scalars(select(Note).order_by(Note.id)).all()
        db.session.expunge_all()
        return list(notes)


def listed(response) -> list[int]:
    assert response.status_code == 200
    return [int(found) for found in NOTE_RE.findall(response.get_data(as_text=True))]


def write(client, ticker="AAA", body="Breakout above resistance", as_of="", next_="/"):
    """Submit the home page's note form as a browser would."""
    data = {"ticker": ticker, "body": body, "as_of": as_of, "next": next_}
    return submit(client, "/notes/", data, form_page="/")


# --- the lists ------------------------------------------------------------------------------


def test_feed_is_own_followed_and_watched_notes_once_each_newest_first(app, desk):
    ada, bob, cy = desk["ada"], desk["bob"], desk["cy"]
    follow(app, ada, bob)
    watch(app, ada, "BBB")
    own = add_note(app, ada, "AAA", 1)
    by_followed = add_note(app, bob, "CCC", 2)
    on_watched = add_note(app, cy, "BBB", 3)
    both = add_note(app, bob, "BBB", 4)  # followed author and watched ticker: listed once
    elsewhere = add_note(app, cy, "AAA", 5)
    assert ids_of(app, feed_query, ada) == [both, on_watched, by_followed, own]
    assert ids_of(app, explore_query) == [elsewhere, both, on_watched, by_followed, own]
    assert ids_of(app, user_notes_query, bob) == [both, by_followed]
    assert ids_of(app, ticker_notes_query, "BBB") == [both, on_watched]
    assert ids_of(app, feed_query, cy) == [elsewhere, on_watched]  # follows and watches nobody
    # Following is one way: Bob's feed has none of Ada's notes.
    assert ids_of(app, feed_query, bob) == [both, by_followed]


def test_unfollowing_and_unwatching_take_notes_out_of_the_feed(app, desk):
    ada, bob = desk["ada"], desk["bob"]
    follow(app, ada, bob)
    watch(app, ada, "CCC")
    on_ccc, on_bbb = add_note(app, bob, "CCC", 1), add_note(app, bob, "BBB", 2)
    assert ids_of(app, feed_query, ada) == [on_bbb, on_ccc]
    with app.app_context():
        db.session.execute(delete(Follow))
        db.session.commit()
    assert ids_of(app, feed_query, ada) == [on_ccc]  # still on a watched ticker
    with app.app_context():
        db.session.execute(delete(WatchlistEntry))
        db.session.commit()
    assert ids_of(app, feed_query, ada) == []


def test_a_deleted_analysts_notes_are_gone_everywhere(app, desk):
    ada, bob = desk["ada"], desk["bob"]
    follow(app, ada, bob)
    kept = add_note(app, ada, "AAA", 1)
    add_note(app, bob, "AAA", 2)
    with app.app_context():
        db.session.execute(delete(User).where(User.id == bob))
        db.session.commit()
    assert ids_of(app, feed_query, ada) == [kept]
    assert ids_of(app, explore_query) == [kept]
    assert ids_of(app, ticker_notes_query, "AAA") == [kept]


def test_each_list_page_is_one_query_with_the_authors(app, desk):
    """No query per note: the page's rows carry their authors (and the pager at most one
    EXISTS more)."""
    from sqlalchemy import event

    for minutes in range(5):
        add_note(app, desk["bob" if minutes % 2 else "cy"], "AAA", minutes)
    statements = []
    with app.test_request_context("/"):
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            rows = note_page(explore_query()).items
            names = [row.User.full_name for row in rows]
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    assert len(rows) == 5 and "Bob Babbage" in names and "Cy Clerk" in names
    assert len(statements) == 1


# --- writing ----------------------------------------------------------------------------------


def test_write_a_note_through_the_form(app, desk, ada):
    home = ada.get("/").get_data(as_text=True)
    assert 'action="/notes/"' in home and 'data-counter="body-count"' in home
    assert 'list="note-tickers"' in home and 'maxlength="280"' in home
    response = write(ada, ticker=" aaa ", body="  Breakout\r\nabove resistance  ")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = ada.get("/").get_data(as_text=True)
    assert "Your note on AAA has been posted." in page
    [note] = stored_notes(app)
    assert (note.user_id, note.ticker) == (desk["ada"], "AAA")
    assert note.body == "Breakout\nabove resistance"
    assert note.as_of == date(2020, 1, 3)  # the ticker's last bar
    assert listed(ada.get("/")) == [note.id]
    assert "Breakout\nabove resistance" in page


def test_the_date_defaults_to_today_without_prices_and_can_be_chosen(app, desk, ada):
    assert write(ada, ticker="BBB").status_code == 302
    assert write(ada, ticker="AAA", as_of="2016-02-29").status_code == 302
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    assert write(ada, ticker="AAA", as_of=tomorrow).status_code == 302
    assert [n.as_of.isoformat() for n in stored_notes(app)] == [
        datetime.now(UTC).date().isoformat(), "2016-02-29", tomorrow
    ]


def test_watchlist_tickers_are_offered_in_the_datalist(app, desk, ada):
    watch(app, desk["ada"], "CCC")
    home = ada.get("/").get_data(as_text=True)
    datalist = home[home.index('<datalist id="note-tickers">'):]
    assert datalist[: datalist.index("</datalist>")].count("<option") == 1
    assert '<option value="CCC">' in datalist


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"body": ""}, "Please write something."),
        ({"body": " \r\n\t "}, "Please write something."),
        ({"body": "x" * 281}, "At most 280 characters"),
        ({"body": "bell\x07"}, "control characters"),
        ({"body": "nul\x00"}, "control characters"),
        ({"body": "tab\there"}, "control characters"),
        ({"ticker": ""}, "Please enter a ticker."),
        ({"ticker": "ZZZ"}, "There is no ticker ZZZ."),
        ({"ticker": "BRK/B"}, "a slash is not allowed"),
        ({"ticker": "<script>"}, "Please enter a ticker symbol"),
        ({"ticker": "x" * 5000}, "longer than 16"),
        ({"as_of": "2020-13-01"}, "Not a valid date"),
        ({"as_of": "yesterday"}, "Not a valid date"),
        ({"as_of": "0001-01-01"}, "Please choose a date from 1900-01-01"),
        ({"as_of": "1899-12-31"}, "Please choose a date from 1900-01-01"),
        ({"as_of": "9999-12-31"}, "Please choose a date from 1900-01-01"),
        ({"as_of": "99999-01-01"}, "Not a valid date"),
    ],
)
def test_errors_are_shown_beside_the_fields_on_the_home_page(app, desk, ada, fields, message):
    data = {"ticker": "AAA", "body": "fine", "as_of": "", **fields}
    response = write(ada, **data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page and "invalid-feedback" in page
    assert "Your feed" in page and 'id="watchlist-heading"' in page  # the whole home page
    assert stored_notes(app) == []


def test_280_characters_with_line_breaks_fit(app, desk, ada):
    body = ("x" * 69 + "\r\n") * 4  # 280 characters once CRLF is one character (and stripped)
    assert write(ada, body=body).status_code == 302
    assert len(stored_notes(app)[0].body) == 69 * 4 + 3


def test_the_form_shown_again_keeps_its_values_and_its_pager_points_home(make_app, desk):
    app = make_app(PER_PAGE=2)
    client = app.test_client()
    AuthActions(client).login()
    for minutes in range(3):
        add_note(app, desk["ada"], "AAA", minutes)
    response = write(client, ticker="ccc", body="x" * 281)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'value="CCC"' in page and "x" * 281 in page
    next_link = re.search(r'rel="next" href="([^"]+)"', page).group(1)
    assert next_link.startswith("/?before=")
    assert client.get(next_link.replace("&amp;", "&")).status_code == 200


@pytest.mark.parametrize(
    ("next_", "location"),
    [
        ("/tickers/AAA/", "/tickers/AAA/"),
        ("/explore/?before=1.1", "/explore/?before=1.1"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
    ],
)
def test_after_writing_back_to_a_safe_next(app, desk, ada, next_, location):
    response = write(ada, next_=next_)
    assert response.status_code == 302 and response.headers["Location"] == location


def test_the_ticker_page_has_a_form_with_its_ticker_preset(app, desk, ada):
    page = ada.get("/tickers/AAA/").get_data(as_text=True)
    assert "Write a note on AAA" in page and 'value="AAA"' in page
    assert 'name="next" type="hidden" value="/tickers/AAA/"' in page
    assert "No notes on AAA yet." in page
    token = csrf_token_from(ada.get("/tickers/AAA/"))
    data = {"csrf_token": token, "ticker": "AAA", "body": "From the ticker page",
            "next": "/tickers/AAA/"}  # fmt: skip
    response = ada.post("/notes/", data=data)
    assert response.headers["Location"] == "/tickers/AAA/"
    assert "From the ticker page" in ada.get("/tickers/AAA/").get_data(as_text=True)


def test_a_ticker_deleted_after_the_check_is_an_error_not_a_500(app, desk, ada, monkeypatch):
    import app.notes.forms as forms

    monkeypatch.setattr(forms, "ticker_exists", lambda ticker: True)  # the check passed...
    response = write(ada, ticker="GONE")  # ...but the foreign key has the last word
    assert response.status_code == 400 and "There is no ticker GONE." in response.get_data(True)
    assert stored_notes(app) == []


# --- rate limit -------------------------------------------------------------------------------


def test_note_creation_is_rate_limited_per_account(make_app, desk):
    app = make_app(NOTE_RATE_LIMIT="2 per hour")
    ada, bob = app.test_client(), app.test_client()
    AuthActions(ada).login()
    AuthActions(bob).login("bob@example.com", DEFAULT_PASSWORD)
    assert write(ada, body="").status_code == 400  # a refused form does not count
    assert [write(ada, body=f"n{i}").status_code for i in range(2)] == [302, 302]
    refused = write(ada, body="third")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "You have written as many notes as allowed (2 per hour)" in page
    assert "please try again in" in page and "third</textarea>" in page  # nothing is lost
    assert write(bob, body="Bob has his own allowance").status_code == 302
    assert sorted(n.body for n in stored_notes(app)) == ["Bob has his own allowance", "n0", "n1"]


def test_a_bad_rate_limit_setting_stops_the_start(make_app):
    with pytest.raises(ValueError, match="NOTE_RATE_LIMIT"):
        make_app(NOTE_RATE_LIMIT="lots")


# --- deleting ---------------------------------------------------------------------------------


def test_delete_own_note_and_come_back(app, desk, ada):
    note = add_note(app, desk["ada"], "AAA", 1)
    kept = add_note(app, desk["ada"], "BBB", 2)
    page = ada.get("/explore/").get_data(as_text=True)
    assert f'action="/notes/{note}/delete"' in page
    token = csrf_token_from(ada.get("/explore/"))
    response = ada.post(f"/notes/{note}/delete", data={"csrf_token": token, "next": "/explore/"})
    assert response.status_code == 302 and response.headers["Location"] == "/explore/"
    assert "Your note has been deleted." in ada.get("/explore/").get_data(as_text=True)
    assert [n.id for n in stored_notes(app)] == [kept]


def test_only_the_author_sees_delete_and_others_get_403(app, desk, ada):
    theirs = add_note(app, desk["bob"], "AAA", 1)
    page = ada.get("/explore/").get_data(as_text=True)
    assert f"/notes/{theirs}/delete" not in page and "Open chart" in page
    token = csrf_token_from(ada.get("/"))
    assert ada.post(f"/notes/{theirs}/delete", data={"csrf_token": token}).status_code == 403
    assert [n.id for n in stored_notes(app)] == [theirs]


@pytest.mark.parametrize("note_id", ["999999", str(2**31), "9" * 30, "0"])
def test_deleting_an_unknown_note_is_404(app, desk, ada, note_id):
    token = csrf_token_from(ada.get("/"))
    assert ada.post(f"/notes/{note_id}/delete", data={"csrf_token": token}).status_code == 404


def test_posts_need_csrf_and_pages_need_a_login(app, desk, client, auth):
    note = add_note(app, desk["ada"], "AAA", 1)
    for path in ("/explore/",):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login/")
    for path in ("/notes/", f"/notes/{note}/delete"):
        response = client.post(path, data={"ticker": "AAA", "body": "x"})
        assert response.status_code == 400  # CSRF is checked first, logged in or not
    auth.login()
    assert client.post("/notes/", data={"ticker": "AAA", "body": "x"}).status_code == 400
    assert client.post(f"/notes/{note}/delete").status_code == 400
    assert [n.id for n in stored_notes(app)] == [note]
    assert client.get("/notes/").status_code == 405  # a GET never writes


def test_anonymous_posts_with_a_token_go_to_the_login(app, desk, client):
    note = add_note(app, desk["ada"], "AAA", 1)
    token = csrf_token_from(client.get("/login/"))
    for path in ("/notes/", f"/notes/{note}/delete"):
        response = client.post(path, data={"csrf_token": token, "ticker": "AAA", "body": "x"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/login/")
    assert len(stored_notes(app)) == 1


# --- what each note shows ---------------------------------------------------------------------


def test_a_note_shows_author_ticker_date_age_and_chart_link(app, desk, ada):
    add_note(app, desk["bob"], "AAA", 1, body="Watch the gap")
    page = ada.get("/explore/").get_data(as_text=True)
    card = page[page.index('class="note card'):]
    card = card[: card.index("</article>")]
    assert f'href="/users/{desk["bob"]}/"' in card and "Bob Babbage" in card
    assert f'/users/{desk["bob"]}/avatar.svg' in card
    assert 'href="/tickers/AAA/"' in card and 'datetime="2020-01-03"' in card
    assert 'title="2026-01-01 12:01 UTC"' in card and "ago</time>" in card
    assert escape(chart_url("AAA", date(2020, 1, 3))) in card
    assert 'class="note-body' in card and "Watch the gap" in card


@pytest.mark.parametrize(
    ("as_of", "start", "end"),
    [
        (date(2020, 1, 3), date(2019, 10, 5), date(2020, 4, 2)),
        (date(1900, 2, 1), date(1900, 1, 1), date(1900, 5, 2)),
        (date(1900, 1, 1), date(1900, 1, 1), date(1900, 4, 1)),
    ],
)
def test_open_chart_is_the_dashboard_around_the_date(as_of, start, end):
    url = chart_url("BRK.B", as_of)
    assert url.startswith("/dash/?")
    view = parse_query(url.split("?", 1)[1])
    assert (view.tickers, view.start, view.end, view.notices) == (("BRK.B",), start, end, ())


def test_the_profile_shows_the_analysts_notes_and_their_number(app, desk, ada):
    for minutes in range(3):
        add_note(app, desk["bob"], "AAA", minutes)
    add_note(app, desk["ada"], "AAA", 9)
    page = ada.get(f"/users/{desk['bob']}/").get_data(as_text=True)
    assert re.search(r'id="profile-notes-count">3<', page)
    assert len(listed(ada.get(f"/users/{desk['bob']}/"))) == 3
    empty = ada.get(f"/users/{desk['cy']}/").get_data(as_text=True)
    assert "Cy has not written a note yet." in empty
    own = ada.get(f"/users/{desk['ada']}/").get_data(as_text=True)
    assert re.search(r'id="profile-notes-count">1<', own)


def test_empty_states_say_what_to_do(app, desk, ada):
    assert "Your feed is empty." in ada.get("/").get_data(as_text=True)
    assert "Nobody has written a note yet." in ada.get("/explore/").get_data(as_text=True)


def test_explore_is_in_the_navbar(app, desk, ada):
    page = ada.get("/").get_data(as_text=True)
    assert re.search(r'<a class="nav-link[^"]*"[^>]* href="/explore/"', page)


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_text_is_shown_as_text_on_every_page(app, desk, ada, body):
    watch(app, desk["ada"], "AAA")
    assert write(ada, body=body).status_code == 302
    for path in ("/", "/explore/", f"/users/{desk['ada']}/", "/tickers/AAA/"):
        page = ada.get(path).get_data(as_text=True)
        assert body not in page, path
        assert escape(body) in page, path


# --- paging -----------------------------------------------------------------------------------


def walk(client, url, rel) -> tuple[list[int], list[str]]:
    """Follow `rel` links from `url`: the note ids seen, page by page, and the URLs."""
    seen, urls = [], []
    while url:
        response = client.get(url)
        ids = listed(response)
        assert 0 < len(ids) <= 3
        seen += ids
        urls.append(url)
        found = re.search(rf'rel="{rel}" href="([^"]+)"', response.get_data(as_text=True))
        url = found and found.group(1).replace("&amp;", "&")
    return seen, urls


@pytest.fixture
def paged(make_app, desk):
    """PER_PAGE 3 and eight notes on AAA by Ada, two of them at the same moment."""
    app = make_app(PER_PAGE=3)
    ids = [add_note(app, desk["ada"], "AAA", minutes) for minutes in (1, 2, 3, 3, 4, 5, 6, 7)]
    client = app.test_client()
    AuthActions(client).login()
    return app, client, ids


@pytest.mark.parametrize("path", ["/", "/explore/", "/users/{ada}/", "/tickers/AAA/"])
def test_rel_links_walk_every_list_both_ways(paged, desk, path):
    _app, client, ids = paged
    newest_first = [ids[i] for i in (7, 6, 5, 4, 3, 2, 1, 0)]
    path = path.format(ada=desk["ada"])
    seen, urls = walk(client, path, "next")
    assert seen == newest_first and len(urls) == 3
    back, _ = walk(client, urls[-1], "prev")
    assert back[:2] == newest_first[-2:] and sorted(back) == sorted(ids)


def test_notes_written_while_reading_do_not_shift_the_next_page(paged, desk):
    app, client, _ids = paged
    first = client.get("/explore/").get_data(as_text=True)
    next_url = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second_before = listed(client.get(next_url))
    for minutes in (10, 11, 12, 13):
        add_note(app, desk["bob"], "AAA", minutes)
    assert listed(client.get(next_url)) == second_before
    assert len(set(listed(client.get("/explore/"))) & set(second_before)) == 0


@pytest.mark.parametrize(
    "query",
    [{"before": "x"}, {"after": "1."}, {"before": "1.99999999999"},
     {"before": "1.1", "after": "1.1"}, {"before": "-99999999999999999999.1"}, {"after": "\x00"}],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/", "/explore/", "/users/{ada}/", "/tickers/AAA/"])
def test_unreadable_page_keys_are_404(app, desk, ada, path, query):
    assert ada.get(path.format(ada=desk["ada"]), query_string=query).status_code == 404
