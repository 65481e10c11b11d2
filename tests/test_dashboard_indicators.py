"""Indicators (RSI, MACD, Bollinger) and the benchmark comparison: the pure functions against
values computed by hand with plain loops on the real AAPL closes, the figure's panels, and the
chart callback on both databases."""

from __future__ import annotations

import csv
import gzip
import itertools
import math
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from app.humanize import duration
from app.prices.queries import PriceSeries
from dashapp import ids
from dashapp.callbacks import lookback_start, visible_range, warm_up_bars
from dashapp.figures import PALETTE, build_figure, falling_colour, hover_format
from dashapp.indicators import (
    WARM_UP_BARS,
    aligned,
    bollinger,
    macd,
    relative_performance,
    rsi,
)
from dashapp.urlstate import ViewState, parse_query, serialise, view_from_controls
from tests.support.apps import load_prices
from tests.support.dash_client import plotly_values
from tests.test_dashboard_callbacks import draw, sync, zoom
from tests.test_dashboard_units import daily, values

# --- by hand -----------------------------------------------------------------------------------


def hand_ema(values: list[float], span: int, first: int = 0) -> list[float | None]:
    """y = previous + alpha * (value - previous), seeded with values[first]; None before."""
    alpha = 2 / (span + 1)
    result: list[float | None] = [None] * len(values)
    average = values[first]
    for index in range(first, len(values)):
        average = average + alpha * (values[index] - average)
        result[index] = average
    return result


def hand_rsi(closes: list[float], period: int = 14) -> list[float | None]:
    """Wilder's RSI with his smoothing (alpha 1/period), seeded with the first change."""
    result: list[float | None] = [None] * len(closes)
    gain = loss = None
    for index in range(1, len(closes)):
        change = closes[index] - closes[index - 1]
        up, down = max(change, 0.0), max(-change, 0.0)
        if gain is None:
            gain, loss = up, down
        else:
            gain += (up - gain) / period
            loss += (down - loss) / period
        if index >= period:
            result[index] = 100.0 if loss == 0 else 100 - 100 / (1 + gain / loss)
    return result


def hand_macd(closes: list[float]) -> tuple[list, list]:
    """MACD line (from bar 26 on) and its 9-bar signal, seeded with the first MACD value."""
    fast, slow = hand_ema(closes, 12), hand_ema(closes, 26)
    line = [f - s if index >= 25 else None
            for index, (f, s) in enumerate(zip(fast, slow, strict=True))]
    signal = hand_ema([0.0 if v is None else v for v in line], 9, first=25)
    return line, [s if index >= 33 else None for index, s in enumerate(signal)]


def hand_bollinger(closes: list[float], index: int) -> tuple[float, float, float]:
    """Mean and mean +- 2 population deviations of the 20 closes up to `index`."""
    window = closes[index - 19 : index + 1]
    mean = sum(window) / 20
    deviation = math.sqrt(sum((c - mean) ** 2 for c in window) / 20)
    return mean, mean + 2 * deviation, mean - 2 * deviation


@pytest.fixture(scope="module")
def aapl(real_file) -> tuple[list[date], list[float]]:
    """AAPL's real daily closes, 2013-02-08 to 2018-02-07."""
    days, closes = [], []
    with gzip.open(real_file, "rt", newline="") as file:
        for row in csv.DictReader(file):
            if row["Name"] == "AAPL":
                days.append(date.fromisoformat(row["date"]))
                closes.append(float(row["close"]))
    return days, closes


DATES = [date(2013, 3, 1), date(2013, 3, 22), date(2014, 6, 2), date(2016, 1, 4),
         date(2017, 6, 1), date(2018, 2, 7)]


def test_rsi_against_hand_computed_values(aapl):
    days, closes = aapl
    expected = hand_rsi(closes)
    result = rsi(np.array(closes))
    assert np.isnan(result[:14]).all() and not np.isnan(result[14])
    for day in DATES:
        index = days.index(day)
        assert result[index] == pytest.approx(expected[index], abs=1e-9), day
        assert 0 <= result[index] <= 100


def test_macd_against_hand_computed_values(aapl):
    days, closes = aapl
    line, signal = hand_macd(closes)
    result = macd(np.array(closes))
    assert np.isnan(result.line[:25]).all() and not np.isnan(result.line[25])
    assert np.isnan(result.signal[:33]).all() and not np.isnan(result.signal[33])
    for day in DATES[1:]:  # 2013-03-01 is bar 14: no MACD yet
        index = days.index(day)
        assert result.line[index] == pytest.approx(line[index], abs=1e-9), day
        if day == date(2013, 3, 22):  # bar 29: the line, not the signal yet
            assert math.isnan(result.signal[index]) and signal[index] is None
            continue
        assert result.signal[index] == pytest.approx(signal[index], abs=1e-9), day
        assert result.histogram[index] == pytest.approx(line[index] - signal[index], abs=1e-9)


def test_bollinger_against_hand_computed_values(aapl):
    days, closes = aapl
    bands = bollinger(np.array(closes))
    assert np.isnan(bands.middle[:19]).all() and not np.isnan(bands.middle[19])
    for day in DATES[1:]:  # 2013-03-01 is bar 14: no bands yet
        index = days.index(day)
        middle, upper, lower = hand_bollinger(closes, index)
        assert (bands.middle[index], bands.upper[index], bands.lower[index]) == pytest.approx(
            (middle, upper, lower), abs=1e-9), day


def test_the_warm_up_makes_a_late_start_agree_with_the_whole_history(aapl):
    # What lookback_start relies on: from WARM_UP_BARS bars before a bar on, the exponential
    # indicators there are within 1% of the ones computed over all the bars before it.
    days, closes = aapl
    index = days.index(date(2016, 6, 1))
    whole_rsi, whole_macd = rsi(np.array(closes)), macd(np.array(closes))
    late = np.array(closes[index - WARM_UP_BARS["rsi"] :])
    assert rsi(late)[WARM_UP_BARS["rsi"]] == pytest.approx(whole_rsi[index], rel=0.01)
    late = np.array(closes[index - WARM_UP_BARS["macd"] :])
    result = macd(late)
    scale = closes[index]  # MACD is near 0: its error is measured against the price
    assert abs(result.line[WARM_UP_BARS["macd"]] - whole_macd.line[index]) < 0.001 * scale
    assert abs(result.signal[WARM_UP_BARS["macd"]] - whole_macd.signal[index]) < 0.001 * scale


@pytest.mark.parametrize("closes", [[], [100.0], [100.0] * 5, [math.nan] * 40])
def test_too_few_bars_or_none_usable_give_nan(closes):
    array = np.array(closes, dtype=float)
    assert np.isnan(rsi(array)).all() and len(rsi(array)) == len(closes)
    result = macd(array)
    assert np.isnan(result.line).all() and np.isnan(result.signal).all()
    assert np.isnan(bollinger(array).upper).all()


def test_flat_and_rising_prices():
    assert np.isnan(rsi(np.full(30, 50.0))[14:]).all()  # no change at all: undefined
    assert (rsi(np.arange(30.0) + 1)[14:] == 100).all()  # never a loss
    bands = bollinger(np.full(25, 50.0))
    np.testing.assert_allclose(bands.upper[19:], 50.0)
    np.testing.assert_allclose(bands.lower[19:], 50.0)


def test_a_gap_in_the_closes_breaks_nothing():
    closes = np.arange(60.0) + 100
    closes[30] = math.nan
    assert np.isnan(bollinger(closes).middle[30:50]).all()  # windows holding the gap
    assert np.isfinite(rsi(closes)[-1]) and np.isfinite(macd(closes).signal[-1])


# --- the comparison ----------------------------------------------------------------------------


def test_relative_performance_by_hand():
    closes = np.array([10.0, 11.0, 12.0, 12.0])
    benchmark = np.array([100.0, 100.0, 110.0, 120.0])
    shown = np.array([False, True, True, True])  # the base is the first bar shown
    expected = [(c / 11.0) / (b / 100.0) * 100 - 100 for c, b in zip(closes, benchmark,
                                                                   strict=True)]
    np.testing.assert_allclose(relative_performance(closes, benchmark, shown), expected)
    # The benchmark against itself is 0% throughout.
    np.testing.assert_allclose(relative_performance(benchmark, benchmark, shown), 0.0)


def test_relative_performance_without_common_bars_is_nan():
    closes = np.array([10.0, 11.0])
    assert np.isnan(relative_performance(closes, np.array([math.nan, math.nan]),
                                         np.ones(2, bool))).all()
    base_missing = relative_performance(closes, np.array([math.nan, 5.0]), np.ones(2, bool))
    np.testing.assert_allclose(base_missing, [math.nan, 0.0])  # the base is the first common


def test_bars_align_on_identical_times_only():
    times = np.array([1.0, 2.0, 3.0, 5.0])
    np.testing.assert_array_equal(aligned(times, np.array([2.0, 3.0, 4.0]),
                                          np.array([20.0, 30.0, 40.0])),
                                  [math.nan, 20.0, 30.0, math.nan])
    assert np.isnan(aligned(times, np.array([]), np.array([]))).all()


# --- figures -----------------------------------------------------------------------------------


def series_of(ticker: str, count: int, step: float = 1.0, first=datetime(2016, 1, 4)):
    closes = [100 + step * i + 5 * math.sin(i / 3) for i in range(count)]
    return daily(ticker, closes, first)


ALL = ("rsi", "macd", "bollinger")


def test_indicator_panels_under_the_price_panel():
    series = {"AAPL": series_of("AAPL", 80)}
    figure = build_figure(series, ViewState(tickers=("AAPL",), indicators=ALL))
    layout = figure["layout"]
    assert [layout[f"yaxis{n}"]["title"]["text"] for n in ("2", "3", "4")] == [
        "Volume", "RSI 14", "MACD"]
    domains = [layout[name]["domain"] for name in ("yaxis", "yaxis2", "yaxis3", "yaxis4")]
    assert domains[0][1] == 1.0 and domains[-1][0] == 0.0
    for upper, lower in itertools.pairwise(domains):  # top to bottom, apart
        assert lower[1] < upper[0]
    assert domains[0][1] - domains[0][0] > 2 * (domains[1][1] - domains[1][0])
    for name in ("xaxis", "xaxis2", "xaxis3"):  # one x axis: the bottom one's
        assert layout[name]["matches"] == "x4" and layout[name]["showticklabels"] is False
    assert "matches" not in layout["xaxis4"]
    assert layout["yaxis3"]["range"] == [0, 100]
    assert sorted((s["y0"], s["yref"]) for s in layout["shapes"]) == [(30, "y3"), (70, "y3")]
    by_name = {t["name"]: t for t in figure["data"]}
    assert by_name["AAPL RSI"]["yaxis"] == "y3"
    assert {by_name[n]["yaxis"] for n in ("AAPL MACD", "AAPL signal", "AAPL histogram")} == {
        "y4"}
    assert by_name["AAPL histogram"]["type"] == "bar"
    assert by_name["AAPL BB upper"]["yaxis"] == "y" and by_name["AAPL BB lower"]["fill"] == (
        "tonexty")
    names = [t["name"] for t in figure["data"]]
    assert names.index("AAPL BB lower") == names.index("AAPL BB upper") + 1  # fills to it
    closes = np.array(series["AAPL"].close)
    np.testing.assert_allclose(values(by_name["AAPL RSI"], "y")[14:], rsi(closes)[14:],
                               rtol=1e-5)


def test_panels_without_volume_and_only_macd():
    figure = build_figure({"AAPL": series_of("AAPL", 40)},
                          ViewState(volume=False, indicators=("macd",)))
    layout = figure["layout"]
    assert layout["yaxis2"]["title"]["text"] == "MACD" and "yaxis3" not in layout
    assert "shapes" not in layout


def test_several_tickers_have_no_overlapping_histograms():
    series = {t: series_of(t, 60) for t in ("AAPL", "MSFT", "GOOGL")}
    figure = build_figure(series, ViewState(indicators=ALL))
    assert not [t for t in figure["data"] if t["name"].endswith("histogram")]
    assert len([t for t in figure["data"] if t["name"].endswith(" MACD")]) == 3


def test_bollinger_follows_the_percent_scale():
    series = {"AAPL": series_of("AAPL", 40)}
    figure = build_figure(series, ViewState(normalize=True, indicators=("bollinger",)))
    upper = next(t for t in figure["data"] if t["name"] == "AAPL BB upper")
    raw = bollinger(np.array(series["AAPL"].close)).upper
    np.testing.assert_allclose(values(upper, "y")[19:], raw[19:] / series["AAPL"].close[0] * 100
                               - 100, rtol=1e-4)


def test_candles_of_each_ticker_have_their_own_colours():
    series = {t: series_of(t, 10) for t in ("AAPL", "MSFT", "GOOGL")}
    figure = build_figure(series, ViewState(chart="candlestick"))
    candles = [t for t in figure["data"] if t["type"] == "candlestick"]
    rising = [t["increasing"]["line"]["color"] for t in candles]
    falling = [t["decreasing"]["line"]["color"] for t in candles]
    assert rising == list(PALETTE[:3])
    assert len(set(falling)) == 3 and not set(falling) & set(rising)
    assert falling == [falling_colour(colour) for colour in rising]
    assert falling_colour("#0072B2") == "#003E61"  # the same blue, darker
    assert falling_colour("#000000") == "#7F7F7F"  # black cannot darken: lighter
    ohlc = build_figure(series, ViewState(chart="ohlc"))["data"][0]
    assert "fillcolor" not in ohlc["decreasing"]


def test_hover_shows_the_day_the_time_and_the_bucket():
    day = {"AAPL": series_of("AAPL", 3)}
    assert build_figure(day, ViewState())["layout"]["xaxis"]["hoverformat"] == "%Y-%m-%d"
    weekly = PriceSeries("AAPL", timedelta(weeks=1))
    weekly.append((datetime(2016, 1, 4), 1, 2, 0.5, 1.5, 10))
    assert hover_format({"AAPL": weekly}) == "%Y-%m-%d (1 week bars)"
    hourly = PriceSeries("MINUTE", timedelta(hours=4))
    hourly.append((datetime(2021, 1, 4, 8), 1, 2, 0.5, 1.5, 10))
    assert hover_format({"MINUTE": hourly}) == "%Y-%m-%d %H:%M (4 hours bars)"
    minutes = PriceSeries("MINUTE")
    minutes.append((datetime(2021, 1, 4, 9, 30), 1, 2, 0.5, 1.5, 10))
    assert hover_format({"MINUTE": minutes}) == "%Y-%m-%d %H:%M"
    figure = build_figure({"MINUTE": hourly}, ViewState(indicators=ALL))
    assert {figure["layout"][n]["hoverformat"] for n in figure["layout"]
            if n.startswith("xaxis")} == {"%Y-%m-%d %H:%M (4 hours bars)"}


@pytest.mark.parametrize(("width", "text"), [
    (timedelta(weeks=1), "1 week"), (timedelta(days=3), "3 days"), (timedelta(hours=4),
                                                                     "4 hours"),
    (timedelta(weeks=2), "2 weeks"), (timedelta(minutes=30), "30 minutes"),
    (timedelta(seconds=5), "5 seconds"),
])
def test_bucket_widths_in_words(width, text):
    assert duration(width) == text


def test_compare_draws_performance_against_the_benchmark():
    series = {"AAPL": daily("AAPL", [10, 11, 12, 13]), "SPY": daily("SPY", [100, 100, 110, 130])}
    view = ViewState(tickers=("AAPL",), compare="SPY", chart="candlestick")
    figure = build_figure(series, view)
    assert [t["name"] for t in figure["data"] if t["type"] == "candlestick"] == ["AAPL"]
    candle = figure["data"][0]
    expected = [(c / 10) / (b / 100) * 100 - 100 for c, b in ((10, 100), (11, 100), (12, 110),
                                                              (13, 130))]
    np.testing.assert_allclose(values(candle, "close"), expected, atol=1e-4)
    # The high is scaled as its bar's close: (high / 10) / (bench / 100) * 100 - 100.
    np.testing.assert_allclose(values(candle, "high")[2], (14 / 10) / 1.1 * 100 - 100, atol=1e-4)
    assert figure["layout"]["yaxis"]["title"]["text"] == "% vs SPY"
    assert figure["layout"]["yaxis"]["ticksuffix"] == "%"
    shown = build_figure(series, ViewState(tickers=("AAPL", "SPY"), compare="SPY"))
    spy = next(t for t in shown["data"] if t["name"] == "SPY")
    np.testing.assert_allclose(values(spy, "y"), 0.0)


def test_compare_without_the_benchmarks_bars_draws_prices():
    figure = build_figure({"AAPL": daily("AAPL", [10, 11])},
                          ViewState(tickers=("AAPL",), compare="SPY"))
    assert figure["layout"]["yaxis"]["title"]["text"] == "Price"
    np.testing.assert_allclose(values(figure["data"][0], "y"), [10, 11])


def test_figures_with_indicators_are_valid_for_plotly():
    import plotly.graph_objects as go

    series = {t: series_of(t, 50) for t in ("AAPL", "SPY")}
    for chart in ("line", "candlestick", "ohlc"):
        for tickers in (("AAPL",), ("AAPL", "SPY")):
            view = ViewState(tickers=tickers, chart=chart, indicators=ALL, compare="SPY",
                             moving_averages=(20,))
            go.Figure(build_figure(series, view))  # raises on any invalid property


@pytest.mark.parametrize("count", [0, 1, 2])
def test_one_bar_or_none_with_every_indicator(count):
    series = {"AAPL": series_of("AAPL", count), "SPY": series_of("SPY", count)}
    if not count:
        series = {}
    view = ViewState(tickers=("AAPL",), indicators=ALL, compare="SPY", chart="candlestick")
    figure = build_figure(series, view)
    for each in figure["data"]:
        if each["name"] == "AAPL RSI":
            assert np.isnan(values(each, "y")).all()


def test_zoom_on_any_panel_is_read():
    assert visible_range({"xaxis4.range[0]": "2016-03-01", "xaxis4.range[1]": "2016-04-01"}) == (
        datetime(2016, 3, 1), datetime(2016, 4, 1))
    assert visible_range({"xaxis3.autorange": True}) is True
    assert visible_range({"xaxis999.range": ["2016-03-01", "2016-04-01"]}) is None
    assert visible_range({("xaxis",): 1, 5: "x"}) is None


# --- URL state and the look-back -----------------------------------------------------------------


def test_indicators_and_compare_round_trip():
    view = parse_query("?tickers=AAPL&indicators=bollinger,RSI,macd,rsi&compare=spy")
    assert view.indicators == ("rsi", "macd", "bollinger") and view.compare == "SPY"
    assert view.notices == ()
    assert serialise(view).endswith("&indicators=rsi,macd,bollinger&compare=SPY")
    assert parse_query(serialise(view)) == view
    assert "indicators" not in serialise(ViewState()) and "compare" not in serialise(ViewState())


@pytest.mark.parametrize(("query", "notice"), [
    ("indicators=rsi,stochastic", "Ignored indicator 'stochastic': choose from rsi, macd"),
    ("compare=<script>", "Ignored compare='<script>'"),
])
def test_bad_indicators_and_benchmarks_are_notices(query, notice):
    view = parse_query(query)
    assert any(notice in text for text in view.notices), view.notices
    assert view.compare is None


@pytest.mark.parametrize("controls", [
    {"indicators": {"rsi": 1}, "compare": ["AAPL"]},
    {"indicators": ["rsi", 5, None], "compare": 7},
    {"indicators": "macd", "compare": {"x": 1}},
])
def test_forged_indicator_and_benchmark_controls(controls):
    view = view_from_controls({"tickers": ["AAPL"], **controls})
    assert set(view.indicators) <= set(ALL) and view.compare in (None, "AAPL")


def test_lookback_covers_the_warm_up_of_the_indicators():
    start = date(2016, 6, 1)
    assert warm_up_bars(ViewState(indicators=ALL, moving_averages=(20,))) == 112
    assert lookback_start(ViewState(start=start, indicators=("bollinger",))) == start - timedelta(
        days=math.ceil(20 * 7 / 5) + 10)
    macd_start = lookback_start(ViewState(start=start, indicators=("macd",)))
    assert (start - macd_start).days * 5 / 7 > 105  # trading days
    # Ten tickers over five years are read in weekly buckets: the warm-up is 105 weeks.
    ten = ViewState(tickers=tuple(f"T{i}" for i in range(10)), start=date(2013, 2, 8),
                    end=date(2018, 2, 7), indicators=("macd",))
    assert (ten.start - lookback_start(ten)).days >= 105 * 7


# --- the chart callback on both databases --------------------------------------------------------


@pytest.fixture
def dash_client(app, client, auth, user, sp500_subset):
    """A logged-in client with the real AAPL, MSFT and GOOGL prices loaded."""
    load_prices(app, sp500_subset)
    auth.login()
    return client


def figure_of(response) -> dict:
    return response.get_json()["response"]["price-chart"]["figure"]


def trace(figure: dict, name: str) -> dict:
    return next(t for t in figure["data"] if t["name"] == name)


def test_sync_sets_the_indicator_and_benchmark_controls(app, dash_client):
    result = sync(app, dash_client, "?tickers=AAPL&indicators=macd,rsi&compare=msft")
    assert result["indicators"]["value"] == ["rsi", "macd"]
    assert result["compare"]["value"] == "MSFT"
    assert "indicators=rsi,macd&compare=MSFT" in result["view"]["data"]["query"]
    changed = sync(app, dash_client, "?tickers=AAPL",
                   controls={"tickers": ["AAPL"], "indicators": ["bollinger"],
                             "compare": "GOOGL"},
                   changed=(ids.INDICATORS, "value"))
    assert changed["url"]["search"].endswith("&indicators=bollinger&compare=GOOGL")


def test_an_unknown_benchmark_is_a_notice(app, dash_client):
    result = sync(app, dash_client, "?tickers=AAPL&compare=ZZZZ")
    assert result["compare"]["value"] is None
    assert "Unknown benchmark ignored: ZZZZ" in " ".join(result["view"]["data"]["notices"])
    # A forged store naming it anyway: drawn without comparison, and said so.
    response = draw(app, dash_client, "?tickers=AAPL&compare=ZZZZ&start=2016-01-01")
    assert "No prices of the benchmark ZZZZ" in str(response.get_json()["response"]["notices"])
    assert figure_of(response)["layout"]["yaxis"]["title"]["text"] == "Price"


def test_indicators_are_complete_from_the_first_bar_shown(app, dash_client, aapl):
    days, closes = aapl
    response = draw(app, dash_client, "?tickers=AAPL,MSFT&start=2016-06-01&end=2016-12-30"
                    "&indicators=rsi,macd,bollinger")
    figure = figure_of(response)
    first = days.index(date(2016, 6, 1))
    last = days.index(date(2016, 12, 30))
    shown = last - first + 1
    rsi_values = plotly_values(trace(figure, "AAPL RSI")["y"])
    assert len(rsi_values) == shown and not any(v is None or math.isnan(v) for v in rsi_values)
    # Within 1% of the RSI over the whole history at the first bar; MACD within 0.1% of price.
    assert rsi_values[0] == pytest.approx(hand_rsi(closes)[first], rel=0.01)
    line, signal = hand_macd(closes)
    macd_values = plotly_values(trace(figure, "AAPL MACD")["y"])
    assert abs(macd_values[0] - line[first]) < 0.001 * closes[first]
    assert abs(plotly_values(trace(figure, "AAPL signal")["y"])[0] - signal[first]) < (
        0.001 * closes[first])
    _, upper, lower = hand_bollinger(closes, first)  # exact, float32 apart
    assert plotly_values(trace(figure, "AAPL BB upper")["y"])[0] == pytest.approx(upper,
                                                                                  rel=1e-6)
    assert plotly_values(trace(figure, "AAPL BB lower")["y"])[0] == pytest.approx(lower,
                                                                                  rel=1e-6)
    assert figure["layout"]["yaxis4"]["title"]["text"] == "MACD"


def test_a_benchmark_also_shown_and_log_scale_are_notices(app, dash_client):
    response = draw(app, dash_client, "?tickers=AAPL,MSFT&compare=MSFT&log=1&start=2016-01-04")
    text = str(response.get_json()["response"]["notices"])
    assert "MSFT is the benchmark: its line is 0% by definition." in text
    assert "Log scale is not used with a comparison" in text
    figure = figure_of(response)
    assert figure["layout"]["yaxis"]["type"] == "linear"
    np.testing.assert_allclose(plotly_values(trace(figure, "MSFT")["y"]), 0.0, atol=1e-9)


def test_compare_against_the_real_benchmark(app, dash_client, sp500_subset):
    query = "?tickers=AAPL,GOOGL&compare=MSFT&start=2016-01-01&end=2016-12-31"
    response = draw(app, dash_client, query)
    figure = figure_of(response)
    assert [t["name"] for t in figure["data"] if t["type"] == "scatter"
            and not t["name"].endswith("volume")] == ["AAPL", "GOOGL"]
    assert figure["layout"]["yaxis"]["title"]["text"] == "% vs MSFT"
    rows = {}
    with sp500_subset.open() as file:
        for row in csv.DictReader(file):
            if "2016-01-01" <= row["date"] <= "2016-12-31":
                rows.setdefault(row["Name"], {})[row["date"]] = float(row["close"])
    aapl, msft = rows["AAPL"], rows["MSFT"]
    days = sorted(aapl)
    expected = [(aapl[d] / aapl[days[0]]) / (msft[d] / msft[days[0]]) * 100 - 100 for d in days]
    np.testing.assert_allclose(plotly_values(trace(figure, "AAPL")["y"]), expected, atol=1e-3)
    assert response.get_json()["response"]["notices"]["children"] == []


def test_zoom_keeps_the_indicator_panels(app, dash_client):
    query = "?tickers=AAPL&indicators=rsi,macd"
    response = zoom(app, dash_client,
                    {"xaxis3.range[0]": "2016-03-01", "xaxis3.range[1]": "2016-03-31"}, query)
    result = response.get_json()["response"]
    assert result["shown-range"]["data"] == ["2016-03-01T00:00:00", "2016-03-31T00:00:00"]
    assert trace(result["price-chart"]["figure"], "AAPL RSI")["yaxis"] == "y3"
