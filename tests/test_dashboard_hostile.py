"""Hostile input to the dashboard, one test per cause of a 500 found so far: tampered callback
payloads, dates beyond what datetime holds, rows stored with absurd dates, and the other Dash
routes. Each answers a 4xx or a notice, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from app.extensions import db
from app.models import Note
from app.prices.queries import PriceSeries
from dashapp import ids
from dashapp.callbacks import CONTROLS, lookback_start
from dashapp.figures import build_figure, market_closed_days
from dashapp.layout import QUICK_RANGES
from dashapp.urlstate import UNREADABLE, ViewState
from tests.support.dash_client import UPDATE_URL, callback_key, count_points, outputs_of, prop_id
from tests.support.data import store_prices

GOOD_DAYS = [datetime(2016, 1, 4) + timedelta(days=i) for i in range(400) if i % 7 < 5]
ABSURD_TIMES = [datetime(1, 1, 3), datetime(9999, 12, 30), datetime(9999, 12, 31, 23, 59, 59)]


@pytest.fixture
def hostile_client(app, client, auth, user):
    """A logged-in client; ACME has a good year of daily rows, OLD the same plus rows at year 1
    and at the end of 9999, stored straight into the tables as old imports could."""
    with app.app_context():
        store_prices("ACME", GOOD_DAYS)
        store_prices("OLD", GOOD_DAYS + ABSURD_TIMES)
        db.session.commit()
    auth.login()
    return client


def entry(component, prop, value=None) -> dict:
    return {"id": component, "property": prop, "value": value}


def quick_buttons() -> list[dict]:
    return [entry(ids.quick_range(name), "n_clicks") for name in QUICK_RANGES]


def body_for(app, key: str, inputs: list, state=(), changed=None) -> dict:
    """The body the renderer sends for the callback `key` (see dash_client.request_body)."""
    first = inputs[0][0] if isinstance(inputs[0], list) else inputs[0]
    return {"output": key, "outputs": outputs_of(key), "inputs": list(inputs),
            "state": list(state),
            "changedPropIds": changed if changed is not None
            else [prop_id(first["id"], first["property"])]}


def sync_body(app, search="", tickers=None) -> dict:
    inputs = [entry(ids.URL, "search", search)]
    inputs += [entry(*CONTROLS[name]) for name in CONTROLS]
    inputs[1]["value"] = tickers
    return body_for(app, callback_key(app, "url-push.search..."), [*inputs, quick_buttons()],
                    [entry(ids.TICKER_OPTIONS_VERSION, "data")])


def chart_body(app, search) -> dict:
    return body_for(app, callback_key(app, "price-chart.figure", "notices"),
                    [entry(ids.URL, "search", search), entry(ids.THEME, "data", "light")])


def summary_body(app, store) -> dict:
    return body_for(app, callback_key(app, "summary-data.data"), [entry(ids.VIEW, "data", store)])


def zoom_body(app, relayout, query="?tickers=ACME", base=None) -> dict:
    return body_for(app, callback_key(app, "url-push.search@", "zoom-base"),
                    [entry(ids.PRICE_CHART, "relayoutData", relayout)],
                    [entry(ids.VIEW, "data", {"query": query}),
                     entry(ids.ZOOM_BASE, "data", base)])


def zoomed_query(client, app, relayout, query) -> str:
    """The URL's query after a zoom of the chart of `query` (itself, if the zoom changes it
    not)."""
    return answer(post(client, zoom_body(app, relayout, query))).get("url-push", {}).get("search",
                                                                                    query)


def download_body(app, query="?tickers=ACME") -> dict:
    return body_for(app, callback_key(app, "download.data"),
                    [entry(ids.DOWNLOAD_BUTTON, "n_clicks", 1)],
                    [entry(ids.VIEW, "data", {"query": query})])


def table_body(app, rows, sort=None) -> dict:
    return body_for(app, callback_key(app, "summary-table.children"),
                    [entry(ids.SUMMARY_DATA, "data", rows), entry(ids.SUMMARY_SORT, "data", sort)])


def sort_body(app, heading_ids, sort=None, changed=None) -> dict:
    return body_for(app, callback_key(app, "summary-sort.data"),
                    [[entry(component, "n_clicks", 1) for component in heading_ids]],
                    [entry(ids.SUMMARY_SORT, "data", sort)], changed)


def post(client, body):
    """POST a callback body: a dict as JSON, a str as it is."""
    if isinstance(body, str):
        return client.post(UPDATE_URL, data=body, content_type="application/json")
    return client.post(UPDATE_URL, json=body)


def answer(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["response"]


def all_text(value) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- tampered structure: refused with 400 before Dash reads it ---------------------------------


def with_changes(body: dict, **changes) -> dict:
    return {**body, **changes}


def nested_outputs(app):
    key = callback_key(app, "price-chart.figure", "notices")
    body = chart_body(app, "")
    return [
        with_changes(body, outputs=None),
        with_changes(body, outputs="price-chart.figure"),
        with_changes(body, outputs=[]),
        with_changes(body, outputs=outputs_of(key)[:2]),
        with_changes(body, outputs=[*outputs_of(key), {"id": "view", "property": "data"}]),
        with_changes(body, outputs=[{"id": "nope", "property": "x"}] * 3),
        with_changes(body, outputs=sync_body(app)["outputs"]),
        with_changes(summary_body(app, {}), outputs=[{"id": "summary-data", "property": "data"}]),
        with_changes(summary_body(app, {}), outputs={"id": "summary-data", "property": "x"}),
        {k: v for k, v in body.items() if k != "outputs"},
    ]


def wrong_state(app):
    body = zoom_body(app, {"autosize": True})
    view, base = body["state"]
    return [
        with_changes(body, state=[]),
        with_changes(body, state={"id": "view", "property": "data"}),
        with_changes(body, state=[*body["state"], entry("theme", "data")]),
        with_changes(body, state=[view, entry("nope", "data")]),
        with_changes(body, state=[view, entry(ids.ZOOM_BASE, "children")]),
        with_changes(body, state=[[view], base]),
        with_changes(chart_body(app, ""), state=[entry(ids.THEME, "data", "light")]),
        with_changes(download_body(app), state=[entry(ids.VIEW, "data", {}),
                                                entry(ids.ZOOM_BASE, "data")]),
    ]


def wrong_inputs(app):
    sort = sort_body(app, [ids.sort_heading("ticker")])
    sync = sync_body(app)
    return [
        with_changes(sync, inputs=sync["inputs"][:-1]),
        with_changes(sync, inputs=[entry("nope", "search"), *sync["inputs"][1:]]),
        with_changes(sync, inputs=[*sync["inputs"][:-1], quick_buttons()[0]]),  # not a list
        with_changes(sort, inputs=[[entry({"type": "sort"}, "n_clicks", 1)]]),
        with_changes(sort, inputs=[[entry({"type": "sort", "column": ["x"]}, "n_clicks", 1)]]),
        with_changes(sort, inputs=[[entry({"type": "other", "column": "x"}, "n_clicks", 1)]]),
        with_changes(sort, inputs=[[entry("sort", "n_clicks", 1)]]),
        with_changes(sort, inputs=None),
        {k: v for k, v in chart_body(app, {}).items() if k != "inputs"},
    ]


def bad_changed_ids(app):
    sort = sort_body(app, [ids.sort_heading("ticker")])
    return [
        with_changes(sort, changedPropIds=['{"type":.n_clicks']),
        with_changes(sort, changedPropIds=['{"column": "ticker"}x.n_clicks']),
        with_changes(sort, changedPropIds=['{"column":"volume","type":"sort"}.n_clicks']),
        with_changes(sort, changedPropIds=['{"column":' * 5000 + '"x"' + "}" * 5000
                                           + ".n_clicks"]),
        with_changes(sync_body(app), changedPropIds=['{"range": "1M"}.n_clicks']),
        with_changes(sync_body(app), changedPropIds=["nope.value"]),
        with_changes(sync_body(app), changedPropIds="url.search"),
        with_changes(sync_body(app), changedPropIds=[5]),
    ]


def deeply_nested(app):
    depth = 20_000  # far deeper than Python's parser goes, well under the size limit
    body = json.dumps(chart_body(app, "NESTED"))
    return [
        "[" * depth + "]" * depth,
        '{"output": ' * depth + "1" + "}" * depth,
        body.replace('"NESTED"', "[" * depth + "]" * depth),
        body.replace('"NESTED"', '{"a": ' * depth + "1" + "}" * depth),
    ]


def clientside_outputs(app):
    key = callback_key(app, "theme.data")  # read by the browser: no function on the server
    return [body_for(app, key, [entry(ids.URL, "pathname", "/dash/")]),
            {"output": key, "outputs": outputs_of(key), "inputs": [], "changedPropIds": []}]


REFUSED = {
    "output of a clientside callback": clientside_outputs,
    "wrong outputs": nested_outputs,
    "wrong state": wrong_state,
    "wrong inputs": wrong_inputs,
    "bad JSON id in changedPropIds": bad_changed_ids,
    "deeply nested JSON": deeply_nested,
}


@pytest.mark.parametrize("cause", REFUSED)
def test_tampered_structure_is_refused_with_400(app, hostile_client, cause):
    for body in REFUSED[cause](app):
        response = post(hostile_client, body)
        assert response.status_code == 400, (body if isinstance(body, dict) else body[:80])
        assert "bad callback request" in response.get_json()["error"]


def test_nesting_the_parser_can_read_is_just_a_value(app, hostile_client):
    depth = 200
    body = json.dumps(chart_body(app, "NESTED")).replace('"NESTED"', "[" * depth + "]" * depth)
    assert answer(post(hostile_client, body))["price-chart"]["figure"] is not None


# --- tampered values: answered, with a notice where the user should know -----------------------


def test_a_url_search_that_is_not_text_is_ignored_with_a_notice(app, hostile_client):
    for search in (5, 1.5, True, [], ["?tickers=ACME"], {"a": 1}, {"query": "x"}):
        assert answer(post(hostile_client, sync_body(app, search)))["view"]["data"] == {
            "query": "?tickers=ACME,OLD&chart=line&normalize=0&log=0&volume=1&notes=1"}
        chart = answer(post(hostile_client, chart_body(app, search)))
        assert UNREADABLE in all_text(chart["notices"]["children"])


def test_lone_surrogates_are_replaced(app, hostile_client):
    chart = answer(post(hostile_client, chart_body(app, "?tickers=AC\ud800ME")))
    assert "not a ticker symbol" in all_text(chart["notices"]["children"])
    table = answer(post(hostile_client, table_body(app, [{"ticker": "\ud800"},
                                                         {"ticker": "ACME", "last_close": 1}])))
    assert "\\ud800" not in json.dumps(table) and "ACME" in all_text(table)
    sync = answer(post(hostile_client, sync_body(app, "?tickers=\ud800", ["AC\ud800"])))
    assert "\\ud800" not in json.dumps(sync)


def test_time_zoned_zoom_ranges_are_read_as_utc(app, hostile_client):
    for bounds in (["2016-03-01T05:00:00+05:00", "2016-04-01"],
                   ["2016-03-01T05:00:00+05:00", "2016-04-01T00:00:00Z"],
                   ["2016-03-01", "2016-04-01T00:00:00-05:00"]):
        result = answer(post(hostile_client, zoom_body(app, {"xaxis.range": bounds})))
        assert "start=2016-03-01&end=2016-04-01" in result["url-push"]["search"]


@pytest.mark.parametrize(
    "bounds",
    [["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"],
     ["0001-01-01T00:00:00", "9999-12-31T23:59:59.999999"],
     ["9999-12-31T23:00:00-12:00", "9999-12-31T23:30:00-12:00"]],
)
def test_aware_dates_of_year_1_and_9999(app, hostile_client, bounds):
    query = zoomed_query(hostile_client, app, {"xaxis.range": bounds}, "?tickers=ACME")
    zoomed_query(hostile_client, app, {"xaxis.range[0]": bounds[0],
                                       "xaxis.range[1]": bounds[1]}, "?tickers=ACME")
    answer(post(hostile_client, chart_body(app, query)))
    answer(post(hostile_client, download_body(app, query)))


def notes_download_body(app, query="?tickers=OLD") -> dict:
    return body_for(app, callback_key(app, "notes-csv.data"),
                    [entry(ids.NOTES_DOWNLOAD_BUTTON, "n_clicks", 1)],
                    [entry(ids.VIEW, "data", {"query": query})])


@pytest.mark.parametrize(
    "bounds",
    [["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"],
     ["0001-01-01T00:00:00", "9999-12-31T23:59:59.999999"],
     ["0001-01-01T00:00:00", "0001-01-01T00:00:00.5"], ["x", 5], None],
)
def test_notes_on_the_first_and_last_days_with_any_range(app, hostile_client, user, bounds):
    with app.app_context():
        db.session.add_all([Note(user_id=user, ticker="OLD", as_of=day, body="<b>x</b>")
                            for day in (date.min, date(1, 1, 3), date(2016, 1, 4), date.max)])
        db.session.commit()
    chart = answer(post(hostile_client, chart_body(app, "?tickers=OLD")))
    (markers,) = [t for t in chart["price-chart"]["figure"]["data"] if t["name"] == "OLD notes"]
    # The bars served start in 1900 (FIRST_DAY): the notes of year 1 come before every bar;
    # the one of 9999-12-31 sits on the last bar, at or before its date.
    assert count_points(markers["x"]) == 2
    query = "?tickers=OLD"
    if bounds is not None:
        query = zoomed_query(hostile_client, app, {"xaxis.range": bounds}, query)
    download = answer(post(hostile_client, notes_download_body(app, query)))
    if download:
        assert "&lt;" not in download["notes-csv"]["data"]["content"]  # as written


def test_mixed_types_in_summary_rows(app, hostile_client):
    good = {"ticker": "ACME", "last_close": 2.5, "period_return": None, "volatility": 10,
            "max_drawdown": -1.5, "average_volume": 100}
    forged = [{"ticker": 1}, {"ticker": "A", "last_close": "x"}, {"ticker": ["A"]},
              {"ticker": "B", "average_volume": "big"}, {"ticker": "C", "volatility": True},
              {"ticker": "D", "last_close": 10**400}, {"ticker": "E", "last_close": [1]}, "row",
              None, 5]
    for sort in (None, {"column": "last_close"}, {"column": "ticker", "descending": True}):
        table = all_text(answer(post(hostile_client, table_body(app, [*forged, good], sort))))
        assert "ACME" in table and '"B"' not in table and "big" not in table
    answer(post(hostile_client, table_body(app, {"ticker": "ACME"})))


def test_sort_columns_that_are_lists_or_objects(app, hostile_client):
    for column in (["x"], {"a": 1}, 5, None):
        table = answer(post(hostile_client, table_body(app, [], {"column": column})))
        assert "Ticker \u25b2" in all_text(table)  # sorted by ticker, the default
    heading = ids.sort_heading("ticker")
    result = answer(post(hostile_client, sort_body(app, [heading], {"column": ["x"]})))
    assert result["summary-sort"]["data"] == {"column": "ticker", "descending": False}


# --- dates beyond datetime, in the URL and in the rows ------------------------------------------


@pytest.mark.parametrize(
    ("query", "notice"),
    [("?tickers=ACME&end=9999-12-31", "end=9999-12-31 is outside"),
     ("?tickers=ACME&start=0001-01-01&ma=200", "start=0001-01-01 is outside"),
     ("?tickers=ACME&start=9999-12-31&end=0001-01-01", "start=9999-12-31 is outside")],
)
def test_url_dates_beyond_the_range_are_clamped_with_a_notice(app, hostile_client, query, notice):
    chart = answer(post(hostile_client, chart_body(app, query)))
    assert notice in all_text(chart["notices"]["children"])
    view = answer(post(hostile_client, sync_body(app, query)))["view"]["data"]
    # The chart, summary, zoom and download of the resolved view, and of the raw query (a
    # store sent without the URL callback).
    for store in (view, {"query": query}):
        answer(post(hostile_client, chart_body(app, store["query"])))
        answer(post(hostile_client, summary_body(app, store)))
        answer(post(hostile_client, zoom_body(app, {"xaxis.autorange": True}, store["query"])))
        answer(post(hostile_client, download_body(app, store["query"])))


def test_lookback_never_goes_before_the_first_date():
    assert lookback_start(ViewState(start=date(1, 1, 5), moving_averages=(200,))) == date.min
    assert lookback_start(ViewState(start=date(2016, 1, 4), moving_averages=(20,))) == date(
        2015, 11, 27
    )


@pytest.mark.parametrize("query", ["?tickers=OLD", "?tickers=OLD&ma=200&start=1900-01-01",
                                   "?tickers=OLD,ACME&chart=candlestick",
                                   "?tickers=OLD&indicators=rsi,macd,bollinger&compare=ACME"
                                   "&start=1900-01-01"])
def test_rows_stored_with_absurd_dates_break_nothing(app, hostile_client, query):
    store = {"query": query}
    chart = answer(post(hostile_client, chart_body(app, query)))["price-chart"]["figure"]
    assert chart["data"]
    rows = answer(post(hostile_client, summary_body(app, store)))["summary-data"]["data"]
    assert {row["ticker"] for row in rows} >= {"OLD"}
    for relayout in ({"xaxis.autorange": True},
                     {"xaxis.range": ["0001-01-01", "9999-12-31 23:59:59.999"]}):
        answer(post(hostile_client, zoom_body(app, relayout, query)))
    csv = answer(post(hostile_client, download_body(app, query)))["download"]["data"]["content"]
    assert "OLD,2016-01-04" in csv and "0001-" not in csv and "9999-" not in csv


def test_holidays_of_a_sparse_series_stay_bounded():
    sparse = PriceSeries("OLD", time=[datetime(1900, 1, 1), datetime(2200, 12, 31)],
                         close=[1.0, 2.0], open=[None] * 2, high=[None] * 2, low=[None] * 2,
                         volume=[None] * 2)
    assert market_closed_days({"OLD": sparse}) == []  # a gap in the data, not 78,000 holidays
    edges = PriceSeries("X", time=[datetime.min, datetime.max], close=[1.0, 2.0],
                        open=[None] * 2, high=[None] * 2, low=[None] * 2, volume=[None] * 2)
    assert market_closed_days({"X": edges}) == []
    build_figure({"X": edges}, ViewState(tickers=("X",)))


# --- the other Dash routes ----------------------------------------------------------------------

SUITES = "/dash/_dash-component-suites/"
UNKNOWN_SUITE_FILES = [
    SUITES + "dash/nope.js", SUITES + "dash/nope.js.map", SUITES + "dash/deps/nope.min.js.map",
    SUITES + "dash/dash-renderer/build/dash_renderer.min.js.map",  # registered, not shipped
    SUITES + "dash/dash-renderer/build/dash_renderer.v9_9_9m123.min.js.map",
    SUITES + "nopackage/x.js", SUITES + "dash/../../app/config.py", SUITES + "dash/%00.js",
    SUITES + "dash_bootstrap_components/_components/nope.js", SUITES + "dash/x",
]


def test_unknown_component_suite_files_answer_404(hostile_client):
    for path in UNKNOWN_SUITE_FILES:
        assert status(hostile_client, path) == 404, path
        assert status(hostile_client, path, "HEAD") == 404, path


HOSTILE_ROUTES = [
    "/dash/_dash-layout", "/dash/_dash-dependencies", "/dash/_reload-hash", "/dash/_favicon.ico",
    "/dash/assets/../../app/config.py", "/dash/assets/..%2f..%2fapp%2fconfig.py",
    "/dash/assets/%2e%2e/%2e%2e/wsgi.py", "/dash/assets/nope.js", "/dash/_dash-update-component",
    "/dash/_dash-nothing", "/dash/assets/stockdash.js?%ff=%fe", "/dash/_dash-layout?x=%ff",
]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]
BODIES = [
    ("application/json", "{"), ("application/json", b"\xff\xfe\x00"), ("application/json", "NaN"),
    ("application/json", "[" * 100_000), ("application/json", "1" * (2 * 1024 * 1024)),
    ("text/plain", "{}"), ("application/x-www-form-urlencoded", "a=b&c"),
    ("multipart/form-data; boundary=x", "--x\r\n"), ("application/json; charset=ebcdic", "{}"),
]


def status(client, path, method="GET", **request) -> int:
    """The status of one request; the response is closed, as a server would (a file response
    holds its file open until then)."""
    with client.open(path, method=method, **request) as response:
        return response.status_code


def test_other_dash_routes_answer_hostile_requests_below_500(hostile_client):
    for path in HOSTILE_ROUTES:
        for method in METHODS:
            assert status(hostile_client, path, method) < 500, (path, method)
        for content_type, data in BODIES:
            answered = status(hostile_client, path, "POST", data=data, content_type=content_type)
            assert answered < 500, (path, content_type)
        huge = status(hostile_client, path, "POST", data="1" * (2 * 1024 * 1024))
        assert huge in (400, 405, 413), path


def test_anonymous_requests_still_get_401(client):
    for path in [*HOSTILE_ROUTES, *UNKNOWN_SUITE_FILES]:
        for method in METHODS:
            assert status(client, path, method) == 401, (path, method)


# --- browser navigations under /dash/ -----------------------------------------------------------

NAVIGATION = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
FETCHES = [{"Accept": "application/json"}, {"Accept": "*/*"}, {}]
JUNK_PATHS = ["/dash/junk", "/dash/a/b/c", "/dash/%ff", "/dash/_dash-nothing", "/dash/login"]


def test_a_logged_out_browser_gets_the_sites_404_for_junk_under_dash(client):
    for path in JUNK_PATHS:
        response = client.get(path, headers=NAVIGATION)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html" and "Page not found" in response.text, path
        assert "application/json" not in response.content_type
    # Its fetches keep their JSON answer.
    for path in JUNK_PATHS:
        for headers in FETCHES:
            response = client.get(path, headers=headers)
            assert response.status_code == 401 and response.is_json, (path, headers)


def test_a_logged_out_browser_navigating_to_a_dash_route_is_sent_to_log_in(client):
    for path in ["/dash/_dash-layout", "/dash/_dash-dependencies", "/dash/assets/stockdash.css"]:
        response = client.get(path, headers=NAVIGATION)
        assert response.status_code == 302, path
        assert response.headers["Location"] == f"/login/?next={path}"
        for headers in FETCHES:
            assert client.get(path, headers=headers).status_code == 401, (path, headers)
    # Not for a POST, which no navigation makes.
    assert status(client, "/dash/_dash-update-component", "POST", headers=NAVIGATION) == 401


def test_logged_in_junk_under_dash_is_the_sites_404_and_the_page_still_works(hostile_client):
    for path in JUNK_PATHS:
        response = hostile_client.get(path, headers=NAVIGATION)
        assert response.status_code == 404 and "Page not found" in response.text, path
        assert hostile_client.get(path, headers={"Accept": "application/json"}).status_code == 404
    assert hostile_client.get("/dash/", headers=NAVIGATION).status_code == 200
    assert hostile_client.get("/dash/?tickers=ACME", headers=NAVIGATION).status_code == 200
    assert hostile_client.get("/dash/_dash-layout", headers=NAVIGATION).status_code == 200
