"""Pure dashboard helpers: URL state, figures, table rows and CSV, without a server."""

from __future__ import annotations

import base64
import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.prices.queries import PriceSeries, TickerSummary
from app.prices.tickers import TICKER_MAX, TICKER_PATTERN
from dashapp.callbacks import visible_range
from dashapp.figures import (
    build_figure,
    market_closed_days,
    moving_average,
    series_csv,
    summary_rows,
)
from dashapp.indicators import INDICATORS
from dashapp.urlstate import (
    CHART_TYPES,
    MAX_TICKERS,
    MOVING_AVERAGE_CHOICES,
    ViewState,
    parse_query,
    serialise,
)

# --- URL state ------------------------------------------------------------------------------

views = st.builds(
    ViewState,
    tickers=st.lists(  # any symbol the ticker rule accepts
        st.from_regex(TICKER_PATTERN, fullmatch=True).filter(lambda t: len(t) <= TICKER_MAX),
        max_size=MAX_TICKERS, unique=True,
    ).map(tuple),
    start=st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2010, 1, 1))),
    end=st.one_of(st.none(), st.dates(date(2010, 1, 2), date(2030, 1, 1))),
    chart=st.sampled_from(CHART_TYPES),
    normalize=st.booleans(),
    moving_averages=st.lists(st.sampled_from(MOVING_AVERAGE_CHOICES), unique=True).map(
        lambda xs: tuple(sorted(xs))
    ),
    log_scale=st.booleans(),
    volume=st.booleans(),
    notes=st.booleans(),
    indicators=st.lists(st.sampled_from(INDICATORS), unique=True).map(
        lambda xs: tuple(i for i in INDICATORS if i in xs)
    ),
    compare=st.one_of(st.none(), st.from_regex(TICKER_PATTERN, fullmatch=True).filter(
        lambda t: len(t) <= TICKER_MAX)),
)


@given(views)
def test_parse_of_serialise_is_identity(view):
    assert parse_query(serialise(view)) == view
    assert parse_query(serialise(view)).notices == ()


@given(st.text(max_size=300))
def test_any_query_string_parses_without_error(query):
    view = parse_query(query)
    assert view.chart in CHART_TYPES
    assert len(view.tickers) <= MAX_TICKERS


def test_the_spec_example():
    view = parse_query(
        "?tickers=AAPL,MSFT&start=2016-01-01&end=2017-12-31&chart=candlestick&normalize=1"
        "&ma=20,50&log=1"
    )
    assert view == ViewState(
        tickers=("AAPL", "MSFT"),
        start=date(2016, 1, 1),
        end=date(2017, 12, 31),
        chart="candlestick",
        normalize=True,
        moving_averages=(20, 50),
        log_scale=True,
    )
    assert view.notices == ()


@pytest.mark.parametrize(
    ("query", "notice"),
    [
        ("tickers=AAPL,<script>", "not a ticker symbol"),
        ("start=2016-13-45", "dates are written YYYY-MM-DD"),
        ("chart=pie", "use one of line, candlestick, ohlc"),
        ("ma=20,7,abc", "choose from 20, 50, 200"),
        ("log=maybe", "use 1 or 0"),
        ("start=2017-01-01&end=2016-01-01", "swapped"),
        ("tickers=" + ",".join(f"T{i}" for i in range(15)), "first 10 tickers"),
        ("tickers=" + "A" * 3000, "too long"),
    ],
)
def test_bad_values_are_dropped_with_a_notice(query, notice):
    view = parse_query(query)
    assert any(notice in text for text in view.notices), view.notices


def test_lower_case_and_duplicate_tickers():
    assert parse_query("tickers=aapl, msft,AAPL").tickers == ("AAPL", "MSFT")


# --- figures ----------------------------------------------------------------------------------


def daily(ticker: str, closes: list[float], first=datetime(2016, 1, 4)) -> PriceSeries:
    series = PriceSeries(ticker)
    day = first
    for close in closes:
        while day.weekday() >= 5:
            day += timedelta(days=1)
        series.append((day, close - 1, close + 2, close - 2, close, 1000))
        day += timedelta(days=1)
    return series


def values(trace: dict, key: str) -> np.ndarray:
    """Decode one of a trace's binary arrays."""
    spec = trace[key]
    return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=spec["dtype"]).astype(float)


def test_candlestick_figure_has_one_trace_per_ticker_and_a_volume_panel():
    series = {"AAPL": daily("AAPL", [100, 101, 102]), "MSFT": daily("MSFT", [50, 49, 51])}
    figure = build_figure(series, ViewState(tickers=("AAPL", "MSFT"), chart="candlestick"))
    candles = [t for t in figure["data"] if t["type"] == "candlestick"]
    assert [t["name"] for t in candles] == ["AAPL", "MSFT"]
    np.testing.assert_allclose(values(candles[0], "close"), [100, 101, 102])
    np.testing.assert_allclose(values(candles[0], "high"), [102, 103, 104])
    # Two tickers' volume bars would hide each other: one line each, on a log scale.
    assert [t["type"] for t in figure["data"] if t["yaxis"] == "y2"] == ["scatter", "scatter"]
    assert figure["layout"]["yaxis2"]["type"] == "log"
    assert figure["layout"]["xaxis"]["matches"] == "x2"  # one x axis for both panels
    assert figure["layout"]["xaxis"]["rangebreaks"][0]["bounds"] == ["sat", "mon"]
    first_day = datetime(2016, 1, 4, tzinfo=UTC).timestamp() * 1000
    assert values(candles[0], "x")[0] == first_day


def test_figure_is_valid_for_plotly():
    import plotly.graph_objects as go

    series = {"AAPL": daily("AAPL", [100, 101, 102])}
    for chart in CHART_TYPES:
        view = ViewState(chart=chart, moving_averages=(20,), normalize=True)
        go.Figure(build_figure(series, view))  # raises on any invalid property


def test_ohlc_and_line_and_no_volume():
    series = {"AAPL": daily("AAPL", [100, 101])}
    assert build_figure(series, ViewState(chart="ohlc"))["data"][0]["type"] == "ohlc"
    figure = build_figure(series, ViewState(chart="line", volume=False))
    assert [t["type"] for t in figure["data"]] == ["scatter"]
    assert "yaxis2" not in figure["layout"]


def test_normalised_line_starts_at_zero_percent():
    series = {"AAPL": daily("AAPL", [100, 110, 90])}
    figure = build_figure(series, ViewState(normalize=True, log_scale=True))
    np.testing.assert_allclose(values(figure["data"][0], "y"), [0.0, 10.0, -10.0], atol=1e-5)
    assert figure["layout"]["yaxis"]["type"] == "linear"  # % change can be negative
    assert figure["layout"]["yaxis"]["ticksuffix"] == "%"


def test_log_scale():
    figure = build_figure({"AAPL": daily("AAPL", [1, 10])}, ViewState(log_scale=True))
    assert figure["layout"]["yaxis"]["type"] == "log"


def test_moving_averages_by_hand():
    result = moving_average(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 3)
    assert math.isnan(result[0]) and math.isnan(result[1])
    np.testing.assert_allclose(result[2:], [2.0, 3.0, 4.0])
    assert np.isnan(moving_average(np.array([1.0, 2.0]), 10)).all()
    figure = build_figure({"AAPL": daily("AAPL", [1, 2, 3, 4, 5] * 5)},
                          ViewState(moving_averages=(20,), volume=False))
    assert [t["name"] for t in figure["data"]] == ["AAPL", "AAPL MA20"]
    np.testing.assert_allclose(values(figure["data"][1], "y")[19:], [3.0] * 6)


def test_bars_before_the_range_only_feed_the_moving_average():
    series = {"AAPL": daily("AAPL", [10, 20, 30, 40, 50])}  # Mon 4 .. Fri 8 Jan 2016
    view = ViewState(moving_averages=(20,), normalize=True, volume=False)
    price, average = build_figure(series, view, shown_from=datetime(2016, 1, 7))["data"]
    np.testing.assert_allclose(values(price, "y"), [0.0, 25.0])  # % change from the first shown
    assert np.isnan(values(average, "y")).all()  # 20 bars are not there yet
    view = ViewState(moving_averages=(2,), volume=False)
    figure = build_figure(series, view, shown_from=datetime(2016, 1, 7))
    np.testing.assert_allclose(values(figure["data"][1], "y"), [35.0, 45.0])  # uses bars before


def test_holidays_are_not_drawn_as_gaps():
    series = daily("AAPL", [1, 2, 3, 4, 5, 6])  # Mon 4 Jan .. Mon 11 Jan 2016
    del series.time[2], series.close[2]  # no bar on Wed 6 Jan
    assert market_closed_days({"AAPL": series}) == ["2016-01-06"]


def test_empty_selection_says_so_without_axes():
    lookback_only = {"AAPL": daily("AAPL", [1, 2])}  # bars before the first day shown
    for series, shown_from in (({}, None), (lookback_only, datetime(2017, 1, 1))):
        figure = build_figure(series, ViewState(tickers=("AAPL",)), "dark", shown_from)
        assert figure["data"] == []
        layout = figure["layout"]
        assert "No prices for this selection" in layout["annotations"][0]["text"]
        assert layout["xaxis"] == {"visible": False} and layout["yaxis"] == {"visible": False}
        assert layout["template"]["layout"]["paper_bgcolor"] == "#212529"  # the dark page's own


def test_uirevision_changes_with_the_view_but_not_with_its_data():
    series = {"AAPL": daily("AAPL", [1, 2])}
    view = ViewState(tickers=("AAPL",))
    revision = build_figure(series, view)["layout"]["uirevision"]
    finer = {"AAPL": daily("AAPL", [1, 2, 3])}
    assert revision == build_figure(finer, view)["layout"]["uirevision"]
    other = ViewState(tickers=("AAPL",), chart="ohlc")
    assert revision != build_figure(series, other)["layout"]["uirevision"]


def test_each_theme_draws_on_the_pages_background():
    # plotly_dark's own #111 was not Bootstrap's dark page (#212529).
    dark = build_figure({}, ViewState(), theme="dark")["layout"]["template"]["layout"]
    assert dark["paper_bgcolor"] == dark["plot_bgcolor"] == "#212529"
    light = build_figure({}, ViewState())["layout"]["template"]["layout"]
    assert light["paper_bgcolor"] == light["plot_bgcolor"] == "#ffffff"


def test_summary_rows_in_percent():
    summary = TickerSummary(
        ticker="AAPL", first_time=datetime(2016, 1, 4), last_time=datetime(2016, 12, 30),
        days=252, first_close=105.35, last_close=115.82, period_return=0.09938,
        volatility=0.2284, max_drawdown=-0.1946, average_volume=38_000_000.4,
    )
    assert summary_rows({"AAPL": summary}) == [
        {"ticker": "AAPL", "last_close": 115.82, "period_return": 9.94, "volatility": 22.84,
         "max_drawdown": -19.46, "average_volume": 38_000_000}
    ]


def test_csv_has_every_bar_shown():
    series = {"AAPL": daily("AAPL", [100, 101]), "MSFT": daily("MSFT", [50])}
    series["MSFT"].open[0] = None
    lines = series_csv(series).splitlines()
    assert lines == [
        "ticker,time,open,high,low,close,volume",
        "AAPL,2016-01-04 00:00:00,99,102,98,100,1000",
        "AAPL,2016-01-05 00:00:00,100,103,99,101,1000",
        "MSFT,2016-01-04 00:00:00,,52,48,50,1000",
    ]


# --- zoom events --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relayout", "expected"),
    [
        ({"xaxis.range[0]": "2016-03-01", "xaxis.range[1]": "2016-04-01 12:30:00.5"},
         (datetime(2016, 3, 1), datetime(2016, 4, 1, 12, 30, 0, 500000))),
        ({"xaxis2.range": ["2016-03-01", "2016-04-01"]},
         (datetime(2016, 3, 1), datetime(2016, 4, 1))),
        ({"xaxis.autorange": True}, True),
        ({"autosize": True}, None),
        ({"xaxis.range[0]": "garbage", "xaxis.range[1]": "2016-04-01"}, None),
        ({"xaxis.range": ["2016-04-01", "2016-03-01"]}, None),
        ("not a dict", None),
        (None, None),
    ],
)
def test_visible_range_from_relayout_events(relayout, expected):
    assert visible_range(relayout) == expected


def test_a_chart_shares_its_point_budget_between_tickers(monkeypatch):
    from dashapp import callbacks

    asked = []
    monkeypatch.setattr(callbacks, "price_series",
                        lambda tickers, start, end, max_points: asked.append(max_points) or {})
    for count in (1, 3, 4, 10):
        callbacks.chart_series(ViewState(tickers=tuple(f"T{i}" for i in range(count))), None, None)
    assert asked == [2000, 2000, 1500, 600]
