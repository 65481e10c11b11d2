"""The dashboard and the watchlist, through the callbacks over HTTP on SQLite and PostgreSQL: no
tickers in the URL shows the watchlist, the star adds or removes the tickers shown, and the page
says how fresh the prices are."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.extensions import db
from dashapp import ids
from dashapp.callbacks import CONTROLS
from dashapp.layout import QUICK_RANGES
from tests.support.dash_client import call, callback_key

TICKERS = ("AAPL", "GOOGL", "IBM", "MSFT", "XOM")
CONTROLS_EMPTY = {"tickers": None, "start": None, "end": None, "chart": "line",
                  "options": ["volume", "notes"], "averages": [],
                  "indicators": [], "compare": None}  # fmt: skip


@pytest.fixture
def dash_client(app, runner, client, auth, user, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("date,close,ticker\n" + "".join(
        f"2020-01-0{day},{day * 10},{t}\n" for t in TICKERS for day in (2, 3)
    ))  # fmt: skip
    assert runner.invoke(args=["prices", "import", str(path)]).exit_code == 0
    auth.login()
    return client


def watch_directly(app, user, *tickers):
    with app.app_context():
        db.session.execute(
            text("INSERT INTO watchlist (user_id, ticker, added_at) VALUES (:u, :t, :at)"),
            [{"u": user, "t": t, "at": "2020-01-01 00:00:00"} for t in tickers],
        )
        db.session.commit()


def watchlist(app):
    with app.app_context():
        return list(db.session.execute(text("SELECT ticker FROM watchlist ORDER BY ticker"))
                    .scalars())  # fmt: skip


def shown_tickers(app, client, search=""):
    inputs = [(ids.URL, "search", search)]
    inputs += [(*CONTROLS[name], CONTROLS_EMPTY[name]) for name in CONTROLS]
    inputs.append([(ids.quick_range(name), "n_clicks", None) for name in QUICK_RANGES])
    state = [(ids.TICKER_OPTIONS_VERSION, "data", None)]
    response = call(client, app, callback_key(app, "url-push.search..."), inputs, state)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"][ids.TICKERS]["value"]


def star(app, client, query, click):
    changed = (ids.STAR, "n_clicks") if click else (ids.VIEW, "data")
    response = call(client, app, callback_key(app, f"{ids.STAR}.children"),
                    [(ids.STAR, "n_clicks", 1), (ids.VIEW, "data", {"query": query})],
                    changed=changed)  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"][ids.STAR]


def test_no_tickers_in_the_url_shows_the_watchlist_else_the_defaults(app, dash_client, user):
    assert shown_tickers(app, dash_client) == ["AAPL", "MSFT", "GOOGL"]
    watch_directly(app, user, "XOM", "IBM")
    assert shown_tickers(app, dash_client) == ["IBM", "XOM"]
    assert shown_tickers(app, dash_client, "?tickers=MSFT") == ["MSFT"]
    assert shown_tickers(app, dash_client, "?tickers=NOPE") == []  # named, if unknown


def test_the_star_adds_and_removes_the_tickers_shown(app, dash_client, user):
    watch_directly(app, user, "XOM")
    state = star(app, dash_client, "?tickers=AAPL,XOM", click=False)
    assert state["children"] == "☆ Watch" and state["aria-pressed"] == "false"
    assert state["title"] == "Add AAPL, XOM to your watchlist" and not state["disabled"]
    assert watchlist(app) == ["XOM"]  # a new view changes nothing
    state = star(app, dash_client, "?tickers=AAPL,XOM", click=True)
    assert state["children"] == "★ Watching" and state["aria-pressed"] == "true"
    assert watchlist(app) == ["AAPL", "XOM"]
    state = star(app, dash_client, "?tickers=AAPL,XOM", click=True)
    assert state["children"] == "☆ Watch" and watchlist(app) == []


@pytest.mark.parametrize("query", ["?tickers=NOPE", "?tickers=AAPL,NOPE", "", 42, None])
def test_a_forged_view_changes_nothing(app, dash_client, query):
    response = call(dash_client, app, callback_key(app, f"{ids.STAR}.children"),
                    [(ids.STAR, "n_clicks", 1), (ids.VIEW, "data", {"query": query})])
    assert response.status_code in (200, 204)
    assert watchlist(app) == []


def freshness(app, client, store):
    response = call(client, app, callback_key(app, ids.FRESHNESS), [(ids.VIEW, "data", store)])
    assert response.status_code in (200, 204), response.get_data(as_text=True)
    # no_update: an empty response (Dash 4), or no content
    answer = response.get_json()["response"] if response.status_code == 200 else {}
    return answer.get(ids.FRESHNESS, {}).get("children")


def test_the_page_says_how_fresh_the_prices_of_the_tickers_shown_are(app, runner, dash_client,
                                                                      tmp_path):
    newer = tmp_path / "newer.csv"
    newer.write_text("date,close,ticker\n2020-02-14,99,MSFT\n")
    assert runner.invoke(args=["prices", "import", str(newer)]).exit_code == 0
    assert freshness(app, dash_client, {"query": "?tickers=AAPL"}) == "Prices up to 2020-01-03"
    # The newest bar of the tickers shown, not of the whole table.
    assert freshness(app, dash_client, {"query": "?tickers=AAPL,MSFT"}) == (
        "Prices up to 2020-02-14"
    )


@pytest.mark.parametrize("store", [{"query": "?tickers=NOPE"}, {"query": ""}, {"query": 42},
                                   "?tickers=AAPL", None, []])
def test_freshness_of_a_view_without_stored_prices_or_a_forged_store(app, dash_client, store):
    assert freshness(app, dash_client, store) in (None, "No prices stored yet")


def test_the_star_needs_a_login(app, dash_client):
    app.test_client().get("/")
    anonymous = app.test_client()
    response = call(anonymous, app, callback_key(app, f"{ids.STAR}.children"),
                    [(ids.STAR, "n_clicks", 1), (ids.VIEW, "data", {"query": "?tickers=AAPL"})])
    assert response.status_code == 401 and watchlist(app) == []
