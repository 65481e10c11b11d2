"""The tickers directory, a ticker's page and the watch toggle: real forms with CSRF tokens
through the test client, on SQLite and PostgreSQL, with bad input of every kind."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from app.extensions import db
from tests.support.users import DEFAULT_PASSWORD, AuthActions, create_user, csrf_token_from, submit

PRICES = [
    # ticker, (close of each day from 2020-01-02)
    ("AAA", (10.0, 11.0)),  # +10%
    ("BBB", (20.0, 19.0)),  # -5%
    ("CCC", (5.0,)),  # one bar: no change
    ("DDD", (7.0, 7.0)),  # unchanged
    ("EEE", (1.0, 3.0)),  # +200%
]
NAMES = [
    ("AAA", "Alpha Industries", "Machinery"),
    ("BBB", "beta Bank", "Banks"),
    ("DDD", "", "Underscore_Works"),
    ("EEE", "Percent 100% Co", "Banks"),
    ("ZZZ", "No Prices Inc", "Shells"),
]
ROW_RE = re.compile(r'<tr id="ticker-([^"]+)">')


@pytest.fixture
def stocked(app, runner, tmp_path):
    """The prices and names above, loaded through the real commands."""
    prices = tmp_path / "prices.csv"
    lines = ["date,open,high,low,close,volume,ticker"]
    for ticker, closes in PRICES:
        lines += [f"2020-01-{2 + i:02d},1,2,0.5,{c},10,{ticker}" for i, c in enumerate(closes)]
    prices.write_text("\n".join(lines) + "\n")
    assert runner.invoke(args=["prices", "import", str(prices)]).exit_code == 0
    names = tmp_path / "names.csv"
    rows = "".join(f"{t},{n},{i}\n" for t, n, i in NAMES)
    names.write_text("Symbol,Security,GICS Sector\n" + rows)
    result = runner.invoke(args=["prices", "tickers", str(names)])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def analyst(stocked, client, auth):
    create_user(stocked)
    auth.login()
    return client


def listed(response) -> list[str]:
    assert response.status_code == 200
    return ROW_RE.findall(response.get_data(as_text=True))


def watchlist(app) -> list[str]:
    with app.app_context():
        rows = db.session.execute(text("SELECT ticker FROM watchlist ORDER BY ticker")).scalars()
        return list(rows)


def test_pages_need_a_login(stocked, client):
    for path in ("/tickers/", "/tickers/AAA/"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login/")


def test_directory_shows_figures_with_signs_and_names(analyst):
    page = analyst.get("/tickers/").get_data(as_text=True)
    assert listed(analyst.get("/tickers/")) == ["AAA", "BBB", "CCC", "DDD", "EEE", "ZZZ"]
    assert "6 tickers" in page
    aaa = page[page.index('id="ticker-AAA"'):page.index('id="ticker-BBB"')]
    assert "Alpha Industries" in aaa and "Machinery" in aaa and "11.00" in aaa
    assert "▲ +10.00%" in aaa and "text-success" in aaa and "2020-01-03" in aaa
    bbb = page[page.index('id="ticker-BBB"'):page.index('id="ticker-CCC"')]
    assert "▼ \N{MINUS SIGN}5.00%" in bbb and "text-danger" in bbb
    ccc = page[page.index('id="ticker-CCC"'):page.index('id="ticker-DDD"')]
    assert '<td data-label="Name">CCC</td>' in ccc  # no name: just the symbol
    zzz = page[page.index('id="ticker-ZZZ"'):]
    assert "No Prices Inc" in zzz and zzz.count("—") >= 3


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("aaa", ["AAA"]),
        ("BANK", ["BBB", "EEE"]),  # name and industry, any case
        ("alpha ind", ["AAA"]),
        ("%", ["EEE"]),  # wildcards match themselves
        ("_", ["DDD"]),  # in "Underscore_Works"
        ("\\", []),
        ("  ", ["AAA", "BBB", "CCC", "DDD", "EEE", "ZZZ"]),
        ("x" * 10_000, []),
        ("a\x00b", []),
        ("'; DROP TABLE stock_tickers; --", []),
        ("ÄÖ 株式 \U0001f600", []),
    ],
)
def test_search_by_symbol_name_industry_any_input(analyst, q, expected):
    assert listed(analyst.get("/tickers/", query_string={"q": q})) == expected


def test_sorts(analyst):
    def order(sort):
        return listed(analyst.get("/tickers/", query_string={"sort": sort}))

    assert order("change") == ["EEE", "AAA", "DDD", "BBB", "CCC", "ZZZ"]
    assert order("last") == ["BBB", "AAA", "DDD", "CCC", "EEE", "ZZZ"]
    assert order("name") == ["AAA", "BBB", "CCC", "DDD", "ZZZ", "EEE"]
    for junk in ("", "ticker", "nope", "name;", "\x00", "x" * 5000):
        assert order(junk) == ["AAA", "BBB", "CCC", "DDD", "EEE", "ZZZ"]


@pytest.mark.parametrize("sort", ["ticker", "name", "change", "last"])
@pytest.mark.parametrize("q", ["", "a"])
def test_pages_follow_rel_links_both_ways_without_repeats(make_app, runner, sort, q, tmp_path):
    app = make_app(PER_PAGE=2)
    names = tmp_path / "n.csv"
    names.write_text("ticker,name,industry\n" + "".join(f"{t},{n},{i}\n" for t, n, i in NAMES))
    app.test_cli_runner().invoke(args=["prices", "tickers", str(names)])
    prices = tmp_path / "p.csv"
    prices.write_text("date,close,ticker\n" + "".join(
        f"2020-01-0{1 + i % 2},{c},{t}\n" for t, closes in PRICES for i, c in enumerate(closes)
    ))  # fmt: skip
    assert app.test_cli_runner().invoke(args=["prices", "import", str(prices)]).exit_code == 0
    create_user(app)
    client = app.test_client()
    AuthActions(client).login()
    whole = make_app().test_client()  # PER_PAGE 20: everything on one page
    AuthActions(whole).login()
    everything = listed(whole.get("/tickers/", query_string={"q": q, "sort": sort}))
    assert len(everything) >= 3
    seen, url, pages = [], f"/tickers/?q={q}&sort={sort}", []
    while url:
        response = client.get(url)
        rows = listed(response)
        assert 0 < len(rows) <= 2
        seen += rows
        pages.append(url)
        found = re.search(r'rel="next" href="([^"]+)"', response.get_data(as_text=True))
        url = found and found.group(1).replace("&amp;", "&")
    assert seen == everything
    assert len(pages) == (len(seen) + 1) // 2
    # And back again from the last page.
    back = []
    response = client.get(pages[-1])
    while True:
        back = listed(response) + back
        found = re.search(r'rel="prev" href="([^"]+)"', response.get_data(as_text=True))
        if not found:
            break
        response = client.get(found.group(1).replace("&amp;", "&"))
    assert back == seen


@pytest.mark.parametrize(
    "query",
    [
        {"after": "nosuch"},
        {"after": "NOPE"},
        {"before": "A,B"},
        {"after": "AAA", "before": "BBB"},
        {"after": "\x00"},
        {"after": "x" * 1000},
        {"after": ""},
    ],
)
def test_malformed_page_parameters_are_404(analyst, query):
    assert analyst.get("/tickers/", query_string=query).status_code == 404


def test_a_page_past_the_end_is_empty(analyst):
    response = analyst.get("/tickers/", query_string={"after": "ZZZ"})
    page = response.get_data(as_text=True)
    assert listed(response) == [] and 'rel="next"' not in page and 'rel="prev"' not in page


def test_ticker_page_facts_chart_link_and_room_for_notes(analyst):
    page = analyst.get("/tickers/AAA/").get_data(as_text=True)
    assert "Alpha Industries" in page and "Machinery" in page
    assert "2020-01-02" in page and "2020-01-03" in page and "11.00" in page
    assert 'href="/dash/?tickers=AAA"' in page and 'id="ticker-notes"' in page
    assert analyst.get("/tickers/aaa/").status_code == 200  # the symbol, normalised
    page = analyst.get("/tickers/EEE/").get_data(as_text=True)
    assert 'href="/dash/?tickers=EEE"' in page
    assert "No prices are stored for ZZZ" in analyst.get("/tickers/ZZZ/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["NOPE", "A%00B", "x" * 300, "%E2%82%AC", "A%2CB"])
def test_unknown_tickers_are_404_everywhere(analyst, path):
    assert analyst.get(f"/tickers/{path}/").status_code == 404
    token = csrf_token_from(analyst.get("/tickers/AAA/"))
    for action in ("watch", "unwatch"):
        response = analyst.post(f"/tickers/{path}/{action}", data={"csrf_token": token})
        assert response.status_code == 404


def test_watch_and_unwatch_with_csrf_repeat_harmlessly(stocked, analyst):
    response = submit(analyst, "/tickers/BBB/watch", {"next": "/tickers/?q=b"}, "/tickers/")
    assert response.status_code == 302 and response.headers["Location"] == "/tickers/?q=b"
    assert submit(analyst, "/tickers/BBB/watch", {}, "/tickers/").status_code == 302
    assert watchlist(stocked) == ["BBB"]
    page = analyst.get("/tickers/BBB/").get_data(as_text=True)
    assert "★ Watching" in page and 'action="/tickers/BBB/unwatch"' in page
    for unsafe in ("https://evil.example/", "//evil.example/", "\\\\evil", " /x"):
        response = submit(analyst, "/tickers/BBB/unwatch", {"next": unsafe}, "/tickers/")
        assert response.headers["Location"] == "/tickers/BBB/"
    assert watchlist(stocked) == []
    assert analyst.post("/tickers/AAA/watch").status_code == 400  # no CSRF token
    assert watchlist(stocked) == []
    assert analyst.get("/tickers/AAA/watch").status_code == 405  # a GET changes nothing


def test_deleting_the_account_deletes_its_watchlist(stocked, analyst):
    submit(analyst, "/tickers/AAA/watch", {}, "/tickers/")
    other = create_user(stocked, email="grace@example.com")
    with stocked.app_context():
        db.session.execute(text(
            "INSERT INTO watchlist (user_id, ticker, added_at) VALUES (:u, 'BBB', '2020-01-01')"
        ), {"u": other})  # fmt: skip
        db.session.commit()
    response = submit(analyst, "/settings/delete/", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert watchlist(stocked) == ["BBB"]


def test_home_shows_the_watchlist_with_last_close_and_change(stocked, analyst):
    page = analyst.get("/").get_data(as_text=True)
    assert 'id="watchlist-empty"' in page and 'id="home-notes"' in page
    submit(analyst, "/tickers/BBB/watch", {}, "/tickers/")
    submit(analyst, "/tickers/ZZZ/watch", {}, "/tickers/")
    page = analyst.get("/").get_data(as_text=True)
    rows = re.findall(r'<tr id="watch-([^"]+)">', page)
    assert rows == ["BBB", "ZZZ"]
    bbb = page[page.index('id="watch-BBB"'):page.index('id="watch-ZZZ"')]
    assert "beta Bank" in bbb and "19.00" in bbb and "▼ \N{MINUS SIGN}5.00%" in bbb
    assert "2020-01-03" in bbb
    response = submit(analyst, "/tickers/BBB/unwatch", {"next": "/"}, "/")
    assert response.headers["Location"] == "/"
    assert re.findall(r'<tr id="watch-([^"]+)">', analyst.get("/").get_data(as_text=True)) == [
        "ZZZ"
    ]


def test_anonymous_home_is_the_public_page(stocked, client):
    page = client.get("/").get_data(as_text=True)
    assert "Log in" in page and 'id="watchlist"' not in page
