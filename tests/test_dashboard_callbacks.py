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


def sync(app, client, search="", controls=None, changed=None):
    """Run `sync_view` with the URL's query and the controls' values, by name."""
    values = {**DEFAULT_CONTROLS, **(controls or {})}
    # In the order the callback declares them: the URL, the controls, the quick-range buttons.
    inputs = [(ids.URL, "search", search)]
    inputs += [(*CONTROLS[name], values[name]) for name in CONTROLS]
    inputs.append(quick_buttons(changed[0]["range"] if changed and changed[1] == "n_clicks"
                                else None))
    response = call(client, app, callback_key(app, "url.search"), inputs, changed=changed)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def draw(app, client, query: str, notices=()):
    key = callback_key(app, "price-chart.figure", "notices")
    response = call(client, app, key,
                    [("view", "data", {"query": query, "notices": list(notices)})],
                    state=[("theme", "data", "light")])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_url_sets_every_control(app, dash_client):
    result = sync(app, dash_client,
                  "?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31&chart=candlestick"
                  "&normalize=1&ma=20,50&log=1")
    assert "url" not in result  # the URL is left as the user gave it
    assert result["tickers"]["value"] == ["AAPL", "MSFT"]
    assert result["dates"] == {"start_date": "2016-01-01", "end_date": "2016-12-31"}
    assert result["chart-type"]["value"] == "candlestick"
    assert sorted(result["options"]["value"]) == ["log", "normalize", "notes", "volume"]
    assert result["moving-averages"]["value"] == [20, 50]
    assert result["view"]["data"]["notices"] == []


def test_unknown_tickers_and_bad_values_become_notices(app, dash_client):
    result = sync(app, dash_client, "?tickers=AAPL,ZZZZ,'%3BDROP&start=yesterday&chart=pie")
    assert result["tickers"]["value"] == ["AAPL"]
    notices = " ".join(result["view"]["data"]["notices"])
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
    assert result["url"]["search"] == (
        "?tickers=AAPL,GOOGL&start=2016-01-01&end=2016-06-30&chart=ohlc&normalize=1&ma=200"
        "&log=0&volume=0&notes=0"
    )


def test_quick_range_counts_back_from_the_last_price(app, dash_client):
    result = sync(
        app, dash_client, "?tickers=AAPL",
        controls={"tickers": ["AAPL"]},
        changed=(ids.quick_range("1Y"), "n_clicks"),
    )
    assert result["dates"] == {"start_date": "2017-02-07", "end_date": "2018-02-07"}
    assert "start=2017-02-07&end=2018-02-07" in result["url"]["search"]


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
    result = draw(app, dash_client, "?tickers=AAPL&start=2030-01-01&end=2030-12-31",
                  notices=["Unknown ticker(s) ignored: ZZZZ."]).get_json()["response"]
    text = str(result["notices"]["children"])
    assert "No prices in this date range for: AAPL" in text
    assert "Unknown ticker(s) ignored: ZZZZ." in text
    summary_response = call(dash_client, app, callback_key(app, "summary-data.data"),
                            [("view", "data", {"query": "?tickers=AAPL&start=2030-01-01"})])
    assert summary_response.get_json()["response"]["summary-data"]["data"] == []


def zoom(app, client, relayout, query):
    key = callback_key(app, "price-chart.figure@", "shown-range")
    return call(client, app, key, [("price-chart", "relayoutData", relayout)],
                state=[("view", "data", {"query": query, "notices": []}),
                       ("theme", "data", "dark")])


def test_zoom_requeries_the_visible_range(app, dash_client):
    query = "?tickers=AAPL&chart=line"
    response = zoom(app, dash_client,
                    {"xaxis.range[0]": "2016-03-01 00:00:00", "xaxis.range[1]": "2016-03-31"},
                    query)
    result = response.get_json()["response"]
    assert result["shown-range"]["data"] == ["2016-03-01T00:00:00", "2016-03-31T00:00:00"]
    trace = result["price-chart"]["figure"]["data"][0]
    assert trace["type"] == "scatter"
    assert 20 <= count_points(trace["y"]) <= 22  # the trading days of March 2016
    # Other relayout events leave the chart alone.
    untouched = zoom(app, dash_client, {"autosize": True}, query)
    assert untouched.get_json()["response"] == {}


def test_download_is_the_rows_shown(app, dash_client, sp500_subset):
    key = callback_key(app, "download.data")
    view = {"query": "?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31", "notices": []}
    response = call(dash_client, app, key, [("download-button", "n_clicks", 1)],
                    state=[("view", "data", view), ("shown-range", "data", None)])
    download = response.get_json()["response"]["download"]["data"]
    assert download["filename"] == "stockdash-AAPL-MSFT.csv"
    lines = download["content"].splitlines()
    assert lines[0] == "ticker,time,open,high,low,close,volume"
    assert len(lines) == 1 + 252 * 2
    first = real_rows(sp500_subset, "AAPL", date(2016, 1, 1), date(2016, 1, 4))[0]
    assert lines[1] == (f"AAPL,2016-01-04 00:00:00,{float(first['open'])},{float(first['high'])},"
                        f"{float(first['low'])},{float(first['close'])},{first['volume']}")
    # After a zoom, the download follows the visible range.
    response = call(dash_client, app, key, [("download-button", "n_clicks", 2)],
                    state=[("view", "data", view),
                           ("shown-range", "data", ["2016-03-01T00:00:00", "2016-03-08T00:00:00"])])
    assert len(response.get_json()["response"]["download"]["data"]["content"].splitlines()) == 11


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


def test_tampered_store_values_do_not_break_the_chart(app, dash_client):
    for store in ({"query": 42}, {"query": "?tickers=AAPL", "notices": "x"}, {}):
        key = callback_key(app, "price-chart.figure", "notices")
        response = call(dash_client, app, key, [("view", "data", store)],
                        state=[("theme", "data", 7)])
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


def test_theme_change_patches_only_the_template(app, dash_client):
    # The restyling callback is the one whose only output is the figure.
    key = next(k for k in app.extensions["dash_app"].callback_map
               if k.startswith("price-chart.figure@"))
    response = call(dash_client, app, key, [("theme", "data", "dark")])
    patch = response.get_json()["response"]["price-chart"]["figure"]
    assert patch["__dash_patch_update"] == "__dash_patch_update"
    operation = patch["operations"][0]
    assert operation["location"] == ["layout", "template"]
    assert operation["params"]["value"]["layout"]["paper_bgcolor"] == "#212529"


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
