"""Dashboard callbacks through the Flask test client, on SQLite and PostgreSQL, on real data."""

from __future__ import annotations

import csv
import itertools
import math
import statistics
from datetime import date

import pytest

from dashapp import ids
from dashapp.callbacks import CONTROLS
from dashapp.layout import QUICK_RANGES, SUMMARY_COLUMNS
from dashapp.page import FIRST_VIEW_CHUNKS
from tests.support.apps import load_prices
from tests.support.dash_client import call, callback_key, count_points, plotly_values
from tests.support.data import write_minute_bars

DEFAULT_CONTROLS = {"tickers": None, "start": None, "end": None, "chart": "line",
                    "options": ["volume", "notes"], "averages": [],
                    "indicators": [], "compare": None}


@pytest.fixture
def dash_client(app, client, auth, user, sp500_subset):
    """A logged-in client with the real AAPL, MSFT and GOOGL prices loaded."""
    load_prices(app, sp500_subset)
    auth.login()
    return client


def quick_buttons(clicked: str | None = None) -> list:
    return [
        (ids.quick_range(name), "n_clicks", 1 if name == clicked else None)
        for name in QUICK_RANGES
    ]


def sync(app, client, search="", controls=None, changed=None, options_version=None):
    """Run `sync_view` with the URL's query and the controls' values, by name, on a page
    holding the ticker options of `options_version` (none: a page just loaded)."""
    values = {**DEFAULT_CONTROLS, **(controls or {})}
    # In the order the callback declares them: the URL, the controls, the quick-range buttons.
    inputs = [(ids.URL, "search", search)]
    inputs += [(*CONTROLS[name], values[name]) for name in CONTROLS]
    inputs.append(quick_buttons(changed[0]["range"] if changed and changed[1] == "n_clicks"
                                else None))
    state = [(ids.TICKER_OPTIONS_VERSION, "data", options_version)]
    response = call(client, app, callback_key(app, "url-push.search..."), inputs, state,
                    changed=changed)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def draw(app, client, query: str):
    """Run `update_chart` for the URL's query."""
    key = callback_key(app, "price-chart.figure", "notices")
    response = call(client, app, key, [(ids.URL, "search", query), ("theme", "data", "light")])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_url_sets_every_control(app, dash_client):
    result = sync(app, dash_client,
                  "?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31&chart=candlestick"
                  "&normalize=1&ma=20,50&log=1")
    assert "url-push" not in result  # the URL is left as the user gave it
    assert result["tickers"]["value"] == ["AAPL", "MSFT"]
    assert result["dates"] == {"start_date": "2016-01-01", "end_date": "2016-12-31"}
    assert result["chart-type"]["value"] == "candlestick"
    assert sorted(result["options"]["value"]) == ["log", "normalize", "notes", "volume"]
    assert result["moving-averages"]["value"] == [20, 50]
    assert result["view"]["data"] == {"query": "?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31"
                                      "&chart=candlestick&normalize=1&ma=20,50&log=1&volume=1"
                                      "&notes=1"}


def test_unknown_tickers_and_bad_values_become_notices(app, dash_client):
    query = "?tickers=AAPL,ZZZZ,'%3BDROP&start=yesterday&chart=pie"
    assert sync(app, dash_client, query)["tickers"]["value"] == ["AAPL"]
    notices = str(draw(app, dash_client, query).get_json()["response"]["notices"]["children"])
    assert "Unknown ticker(s) ignored: ZZZZ" in notices
    assert "not a ticker symbol" in notices
    assert "YYYY-MM-DD" in notices and "use one of" in notices


def test_no_tickers_in_the_url_gives_the_defaults(app, dash_client):
    assert sync(app, dash_client, "")["tickers"]["value"] == ["AAPL", "MSFT", "GOOGL"]


def test_a_control_change_writes_the_url(app, dash_client):
    result = sync(
        app, dash_client, "?tickers=AAPL",
        controls={"tickers": ["AAPL", "GOOGL"], "start": "2016-01-01", "end": "2016-06-30",
                  "chart": "ohlc", "options": ["normalize"], "averages": [200]},
        changed=(ids.CHART_TYPE, "value"),
    )
    assert result["url-push"]["search"] == (
        "?tickers=AAPL,GOOGL&start=2016-01-01&end=2016-06-30&chart=ohlc&normalize=1&ma=200"
        "&log=0&volume=0&notes=0"
    )


def test_the_ticker_options_are_sent_again_only_when_they_changed(app, dash_client, tmp_path):
    first = sync(app, dash_client, "?tickers=AAPL")
    version = first[ids.TICKER_OPTIONS_VERSION]["data"]
    assert [o["value"] for o in first[ids.TICKERS]["options"]] == ["AAPL", "GOOGL", "MSFT"]
    assert first[ids.COMPARE]["options"] == first[ids.TICKERS]["options"]
    # Each control's change comes back as a new URL: the page holds these options already.
    again = sync(app, dash_client, "?tickers=AAPL,MSFT", options_version=version)
    assert again[ids.TICKERS] == {"value": ["AAPL", "MSFT"]}
    assert ids.COMPARE not in again or "options" not in again[ids.COMPARE]
    assert ids.TICKER_OPTIONS_VERSION not in again
    # An import while the page is open brings a ticker: the next URL brings the new options.
    csv_path = tmp_path / "new.csv"
    csv_path.write_text("date,open,high,low,close,volume,Name\n"
                        "2018-02-07,10,11,9,10.5,1000,NEWCO\n")
    load_prices(app, csv_path)
    after_import = sync(app, dash_client, "?tickers=AAPL,MSFT", options_version=version)
    assert "NEWCO" in [o["value"] for o in after_import[ids.TICKERS]["options"]]
    assert after_import[ids.TICKER_OPTIONS_VERSION]["data"] != version
    # A forged digest of any type is only a digest that does not match.
    for forged in (["x"], {"a": 1}, 12, "x" * 10_000):
        assert "options" in sync(app, dash_client, "", options_version=forged)[ids.TICKERS]


def test_quick_range_counts_back_from_the_last_price(app, dash_client):
    result = sync(
        app, dash_client, "?tickers=AAPL",
        controls={"tickers": ["AAPL"]},
        changed=(ids.quick_range("1Y"), "n_clicks"),
    )
    assert result["dates"] == {"start_date": "2017-02-07", "end_date": "2018-02-07"}
    assert "start=2017-02-07&end=2018-02-07" in result["url-push"]["search"]


def test_forged_control_values_are_tolerated(app, dash_client):
    result = sync(
        app, dash_client, "?tickers=AAPL",
        controls={"tickers": {"no": "list"}, "start": 12345, "end": ["x"], "chart": {"chart": 1},
                  "options": "normalize", "averages": "20"},
        changed=(ids.TICKERS, "value"),
    )
    assert result["chart-type"]["value"] == "line"


def real_rows(path, ticker: str, first: date, last: date) -> list[dict]:
    with path.open() as file:
        return [
            row for row in csv.DictReader(file)
            if row["Name"] == ticker and first.isoformat() <= row["date"] <= last.isoformat()
        ]


def test_chart_and_summary_for_the_spec_view(app, dash_client, sp500_subset):
    query = "?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31&chart=candlestick"
    response = draw(app, dash_client, query)
    result = response.get_json()["response"]
    figure = result["price-chart"]["figure"]
    candles = [t for t in figure["data"] if t["type"] == "candlestick"]
    assert [t["name"] for t in candles] == ["AAPL", "MSFT"]
    aapl = real_rows(sp500_subset, "AAPL", date(2016, 1, 1), date(2016, 12, 31))
    assert len(aapl) == 252

    # The summary, against figures computed by hand from the real rows.
    closes = [float(row["close"]) for row in aapl]
    returns = [b / a - 1 for a, b in itertools.pairwise(closes)]
    peak, drawdown = closes[0], 0.0
    for close in closes:
        peak = max(peak, close)
        drawdown = min(drawdown, close / peak - 1)
    summary_response = call(dash_client, app, callback_key(app, "summary-data.data"),
                            [("view", "data", {"query": query, "notices": []})])
    rows = summary_response.get_json()["response"]["summary-data"]["data"]
    table = {row["ticker"]: row for row in rows}
    assert table["AAPL"]["last_close"] == pytest.approx(closes[-1], abs=0.005)
    assert table["AAPL"]["period_return"] == pytest.approx((closes[-1] / closes[0] - 1) * 100,
                                                           abs=0.005)
    assert table["AAPL"]["volatility"] == pytest.approx(
        statistics.stdev(returns) * math.sqrt(252) * 100, abs=0.005)
    assert table["AAPL"]["max_drawdown"] == pytest.approx(drawdown * 100, abs=0.005)
    volumes = [int(row["volume"]) for row in aapl]
    assert table["AAPL"]["average_volume"] == pytest.approx(sum(volumes) / len(volumes), abs=1)
    assert set(table) == {"AAPL", "MSFT"}


def test_missing_ranges_are_notices_not_errors(app, dash_client):
    result = draw(app, dash_client,
                  "?tickers=AAPL,ZZZZ&start=2030-01-01&end=2030-12-31").get_json()["response"]
    text = str(result["notices"]["children"])
    assert "No prices in this date range for: AAPL" in text
    assert "Unknown ticker(s) ignored: ZZZZ." in text
    summary_response = call(dash_client, app, callback_key(app, "summary-data.data"),
                            [("view", "data", {"query": "?tickers=AAPL&start=2030-01-01"})])
    assert summary_response.get_json()["response"]["summary-data"]["data"] == []


def zoom(app, client, relayout, query, base=None):
    """Run `zoom_view` for a relayout event of the chart of `query`; its answer."""
    key = callback_key(app, "url-push.search@", "zoom-base")
    response = call(client, app, key, [("price-chart", "relayoutData", relayout)],
                    state=[("view", "data", {"query": query}), ("zoom-base", "data", base)])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def test_a_zoom_sets_the_views_days_and_a_reset_brings_back_the_range_before(app, dash_client):
    query = "?tickers=AAPL&start=2016-01-01&end=2016-12-31&chart=line"
    zoomed = zoom(app, dash_client, {"xaxis.range[0]": "2016-03-01 13:20:00.123",
                                     "xaxis.range[1]": "2016-03-31 02:00"}, query)
    # Widened to whole days: from the day the zoom starts in to the day it ends in.
    search = zoomed["url-push"]["search"]
    assert "start=2016-03-01&end=2016-03-31" in search and "tickers=AAPL" in search
    base = zoomed["zoom-base"]["data"]
    assert base == {"start": "2016-01-01", "end": "2016-12-31",
                    "zoomed": ["2016-03-01", "2016-03-31"]}
    # A second zoom keeps the range from before the first one.
    deeper = zoom(app, dash_client, {"xaxis.range": ["2016-03-07", "2016-03-11 12:00"]},
                  search, base)
    assert "start=2016-03-07&end=2016-03-11" in deeper["url-push"]["search"]
    assert deeper["zoom-base"]["data"]["start"] == "2016-01-01"
    reset = zoom(app, dash_client, {"xaxis.autorange": True, "xaxis2.autorange": True},
                 deeper["url-push"]["search"], deeper["zoom-base"]["data"])
    assert reset == {"url-push": {"search": query + "&normalize=0&log=0&volume=1&notes=1"},
                     "zoom-base": {"data": None}}
    # Once the range was changed otherwise (here: back to the whole year), a reset leaves the
    # view alone, as it does without any zoom.
    assert zoom(app, dash_client, {"xaxis.autorange": True}, query, base) == {}
    assert zoom(app, dash_client, {"xaxis.autorange": True}, query) == {}
    # Other relayout events, and a zoom within the days shown, change nothing.
    assert zoom(app, dash_client, {"autosize": True}, query) == {}
    assert zoom(app, dash_client, {"yaxis.range": [1, 2]}, query) == {}
    one_day = "?tickers=MINUTE&start=2021-01-05&end=2021-01-05"
    assert zoom(app, dash_client, {"xaxis.range": ["2021-01-05 10:00", "2021-01-05 11:00"]},
                one_day) == {}


def test_a_reset_after_zooming_the_whole_range_clears_the_dates(app, dash_client):
    zoomed = zoom(app, dash_client, {"xaxis.range": ["2016-03-01", "2016-04-01"]},
                  "?tickers=AAPL")
    assert zoomed["zoom-base"]["data"] == {"start": None, "end": None,
                                           "zoomed": ["2016-03-01", "2016-04-01"]}
    reset = zoom(app, dash_client, {"xaxis.autorange": True}, zoomed["url-push"]["search"],
                 zoomed["zoom-base"]["data"])
    assert "start=" not in reset["url-push"]["search"] and "end=" not in reset["url-push"]["search"]


def test_forged_zoom_bases_are_read_as_dates_or_not_at_all(app, dash_client):
    query = "?tickers=AAPL&start=2016-03-01&end=2016-03-31"
    for start in (5, ["2016-01-01"], "yesterday", "2016-02-30", "\ud800"):
        base = {"start": start, "end": "2016-12-31", "zoomed": ["2016-03-01", "2016-03-31"]}
        reset = zoom(app, dash_client, {"xaxis.autorange": True}, query, base)
        assert "start=" not in reset["url-push"]["search"]
        assert "end=2016-12-31" in reset["url-push"]["search"]
    for base in ("x", 5, [], {"zoomed": "2016-03-01"}):
        assert zoom(app, dash_client, {"xaxis.autorange": True}, query, base) == {}


def download(app, client, query: str):
    """Run `download_csv` for the view of `query`; its answer."""
    response = call(client, app, callback_key(app, "download.data"),
                    [("download-button", "n_clicks", 1)],
                    state=[("view", "data", {"query": query})])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def test_download_is_the_rows_shown(app, dash_client, sp500_subset):
    result = download(app, dash_client, "?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31")
    download_data = result["download"]["data"]
    assert download_data["filename"] == "stockdash-AAPL-MSFT.csv"
    lines = download_data["content"].splitlines()
    assert lines[0] == "ticker,time,open,high,low,close,volume"
    assert len(lines) == 1 + 252 * 2
    first = real_rows(sp500_subset, "AAPL", date(2016, 1, 1), date(2016, 1, 4))[0]
    assert lines[1] == (f"AAPL,2016-01-04 00:00:00,{float(first['open'])},{float(first['high'])},"
                        f"{float(first['low'])},{float(first['close'])},{first['volume']}")
    # After a zoom the view's range is the zoomed one, and so is the download.
    zoomed = zoom(app, dash_client, {"xaxis.range": ["2016-03-01", "2016-03-08 09:00"]},
                  "?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31")
    result = download(app, dash_client, zoomed["url-push"]["search"])
    assert len(result["download"]["data"]["content"].splitlines()) == 1 + 6 * 2


def test_an_empty_selection_has_no_axes_and_nothing_to_download(app, dash_client):
    query = "?tickers=AAPL&start=2030-01-01&end=2030-12-31"
    result = draw(app, dash_client, query).get_json()["response"]
    figure = result["price-chart"]["figure"]
    assert figure["data"] == []
    assert figure["layout"]["xaxis"] == {"visible": False}
    assert figure["layout"]["yaxis"] == {"visible": False}
    assert "No prices for this selection" in figure["layout"]["annotations"][0]["text"]
    assert result["download-button"]["disabled"] is True
    # A click sent anyway (the button is off) downloads nothing.
    assert download(app, dash_client, query) == {}
    shown = draw(app, dash_client, "?tickers=AAPL&start=2016-01-01").get_json()["response"]
    assert shown["download-button"]["disabled"] is False


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        {"output": "nope.children", "outputs": {}, "inputs": [], "changedPropIds": []},
        {"output": None},
        [],
    ],
)
def test_malformed_callback_requests_answer_400(app, dash_client, body):
    if isinstance(body, str):
        response = dash_client.post("/dash/_dash-update-component", data=body,
                                    content_type="application/json")
    else:
        response = dash_client.post("/dash/_dash-update-component", json=body)
    assert response.status_code == 400
    assert "bad callback request" in response.get_json()["error"]


def test_wrong_inputs_for_a_real_output_answer_400(app, dash_client):
    key = callback_key(app, "price-chart.figure", "notices")
    response = call(dash_client, app, key, [("view", "data", {}), ("theme", "data", "dark")])
    assert response.status_code == 400


def test_tampered_url_values_do_not_break_the_chart(app, dash_client):
    for search in (42, None, {"query": "?tickers=AAPL"}, ["?tickers=AAPL"], "?tickers=AAPL"):
        key = callback_key(app, "price-chart.figure", "notices")
        response = call(dash_client, app, key, [(ids.URL, "search", search), ("theme", "data", 7)])
        assert response.status_code == 200


def test_a_year_of_minute_bars_stays_small(app, client, auth, user, tmp_path):
    path = tmp_path / "minutes.csv"
    assert write_minute_bars(path) == 98_280
    load_prices(app, path)
    auth.login()
    for chart in ("line", "candlestick"):
        response = draw(app, client, f"?tickers=MINUTE&chart={chart}&volume=1")
        size = len(response.get_data())
        figure = response.get_json()["response"]["price-chart"]["figure"]
        price_trace = figure["data"][0]
        points = count_points(price_trace["close" if chart != "line" else "y"])
        assert points <= 2000, points
        assert size < 200_000, size


def test_summary_table_sorts_by_a_clicked_heading(app, dash_client):
    rows = [
        {"ticker": "AAPL", "last_close": 115.8, "period_return": 12.0, "volatility": 22.0,
         "max_drawdown": -19.0, "average_volume": 3.0e7},
        {"ticker": "MSFT", "last_close": 62.1, "period_return": 15.0, "volatility": None,
         "max_drawdown": -12.0, "average_volume": 2.0e7},
    ]
    sort_key = callback_key(app, "summary-sort.data")
    headings = [({"type": "sort", "column": c}, "n_clicks", 0) for c, _ in SUMMARY_COLUMNS]
    headings[2] = (headings[2][0], "n_clicks", 1)
    response = call(dash_client, app, sort_key, [headings],
                    state=[("summary-sort", "data", {"column": "ticker", "descending": False})],
                    changed=headings[2][:2])
    sort = response.get_json()["response"]["summary-sort"]["data"]
    assert sort == {"column": "period_return", "descending": False}
    response = call(dash_client, app, sort_key, [headings], state=[("summary-sort", "data", sort)],
                    changed=headings[2][:2])
    sort = response.get_json()["response"]["summary-sort"]["data"]
    assert sort == {"column": "period_return", "descending": True}

    table_key = callback_key(app, "summary-table.children")
    response = call(dash_client, app, table_key,
                    [("summary-data", "data", rows), ("summary-sort", "data", sort)])
    body = response.get_data(as_text=True)
    assert body.index("MSFT") < body.index("AAPL")
    assert "30,000,000" in body
    response = call(dash_client, app, table_key,
                    [("summary-data", "data", rows),
                     ("summary-sort", "data", {"column": "volatility", "descending": True})])
    body = response.get_data(as_text=True)
    assert body.index("AAPL") < body.index("MSFT")  # the missing figure sorts last


def test_the_chart_is_drawn_in_the_theme_it_is_given(app, dash_client):
    key = callback_key(app, "price-chart.figure", "notices")
    for theme, background in (("dark", "#212529"), ("light", "#ffffff")):
        response = call(dash_client, app, key, [(ids.URL, "search", "?tickers=AAPL"),
                                                ("theme", "data", theme)],
                        changed=("theme", "data"))
        figure = response.get_json()["response"]["price-chart"]["figure"]
        assert figure["layout"]["template"]["layout"]["paper_bgcolor"] == background
        assert figure["data"]  # the whole chart, not just its colours


def test_moving_average_is_complete_from_the_first_day_shown(app, dash_client, sp500_subset):
    result = draw(app, dash_client, "?tickers=AAPL&start=2016-01-01&end=2016-12-31&ma=50"
                  "&volume=0").get_json()["response"]
    price, average = result["price-chart"]["figure"]["data"]
    assert count_points(price["y"]) == 252
    closes = [float(r["close"]) for r in real_rows(sp500_subset, "AAPL", date(2015, 1, 1),
                                                   date(2016, 1, 4))]
    expected = sum(closes[-50:]) / 50  # the 50 closes up to and including 2016-01-04
    first = plotly_values(average["y"])[0]
    assert first == pytest.approx(expected, rel=1e-6)  # sent as float32


def test_the_page_preloads_the_chunks_of_the_first_view(app, dash_client):
    page = dash_client.get("/dash/").get_data(as_text=True)
    head = page[:page.index("</head>")]
    for chunk in FIRST_VIEW_CHUNKS:
        href = f"/dash/_dash-component-suites/dash/dcc/{chunk}"
        assert f'<link rel="preload" as="script" href="{href}">' in head
        assert dash_client.get(href).status_code == 200
