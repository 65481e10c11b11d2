"""Pure functions from query results to Plotly figures, table rows and CSV text.

Nothing here touches the database or a request, so every function is unit-tested on its own.
"""

from __future__ import annotations

import base64
import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import plotly.io as pio

from app.humanize import duration
from app.notes.markers import NoteMarker
from app.prices.queries import PriceSeries, TickerSummary
from dashapp.indicators import aligned, bollinger, macd, relative_performance, rsi
from dashapp.note_markers import note_trace
from dashapp.urlstate import ViewState

PRICE_DTYPE = "f4"
DAY = timedelta(days=1)
# Colour-blind-safe palette (Okabe-Ito), one per ticker in selection order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999", "#882255")
TEMPLATES = {"light": "plotly_white", "dark": "plotly_dark"}
# Bootstrap's body background in each theme (--bs-body-bg): the chart's paper and plot area are
# the page's, rather than plotly_dark's #111 on Bootstrap's #212529. Colours rather than
# transparency, so that a PNG saved from the toolbar keeps its dark background.
PAGE_BACKGROUNDS = {"light": "#ffffff", "dark": "#212529"}
# plotly_dark's gridlines (#283442) vanish on that background; Bootstrap's dark border colour
# shows them as faintly as plotly_white's do on white.
DARK_GRID = "#3b4148"
# Relative heights of the panels (the price panel is the one read most), and the space
# between two, as fractions of the plot's height.
PANEL_HEIGHTS = {"price": 3.0, "volume": 1.0, "rsi": 1.0, "macd": 1.0}
PANEL_GAP = 0.03
PANEL_TITLES = {"volume": "Volume", "rsi": "RSI 14", "macd": "MACD"}
RSI_LEVELS = (30, 70)  # overbought above 70, oversold under 30


def as_float_array(values: Sequence[float | None]) -> np.ndarray:
    """Values as float64 with NaN for gaps: Plotly sends such arrays in compact binary form."""
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def time_array(times: Sequence[datetime]) -> np.ndarray:
    """Times as epoch milliseconds, which a date axis reads as dates; as a float array the
    figure JSON carries them in binary form, about half the size of ISO strings."""
    return np.array(times, dtype="datetime64[ms]").astype(np.int64).astype(np.float64)


def normalisation_base(closes: np.ndarray) -> float | None:
    """The first close shown: what "% change" is measured from."""
    usable = closes[np.isfinite(closes) & (closes != 0)]
    return float(usable[0]) if len(usable) else None


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over `window` points; NaN until the window is full or when it has gaps."""
    result = np.full(values.shape, np.nan)
    if window < 1 or len(values) < window:
        return result
    sums = np.convolve(values, np.ones(window), mode="valid")
    result[window - 1 :] = sums / window
    return result


def is_daily_or_finer(series: Mapping[str, PriceSeries]) -> bool:
    """True when bars are at most a day wide, so empty weekends would show as gaps."""
    return all(s.bucket is None or s.bucket <= DAY for s in series.values())


def market_closed_days(series: Mapping[str, PriceSeries]) -> list[str]:
    """Weekdays inside the shown range on which no ticker has a bar (holidays).

    Only meaningful for daily bars; intraday data would need hour breaks as well. Once the
    weekdays without a bar outnumber the days with one, they are a gap in the data rather than
    holidays: none are listed then, so that the work and the figure grow with the bars shown,
    not with the span between the first and the last (a stray bar decades away).
    """
    days = {t.date() for s in series.values() for t in s.time}
    if len(days) < 2:
        return []
    first, last = min(days), max(days)
    missing = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        if day.weekday() < 5 and day not in days:
            missing.append(day.isoformat())
            if len(missing) > len(days):
                return []
    return missing


def chart_panels(view: ViewState) -> tuple[str, ...]:
    """The panels of a chart of `view`, top to bottom: prices, then volume, RSI and MACD as
    enabled (Bollinger bands are drawn on the price panel)."""
    return ("price", *(["volume"] if view.volume else []),
            *(panel for panel in ("rsi", "macd") if panel in view.indicators))


def panel_axes(panels: Sequence[str]) -> dict[str, dict]:
    """Each panel's x and y axis, as trace properties: the first panel's are x and y, the
    n-th panel's xn and yn."""
    return {panel: {"xaxis": f"x{index + 1}" if index else "x",
                    "yaxis": f"y{index + 1}" if index else "y"}
            for index, panel in enumerate(panels)}


def axis_layout(panels: Sequence[str]) -> dict:
    """The axes of `panels` stacked top to bottom, each as high as its PANEL_HEIGHTS share.

    They share one x axis: every x axis matches the bottom one, the only one with tick labels,
    so that a zoom or pan in any panel moves them all.
    """
    count = len(panels)
    usable = 1.0 - PANEL_GAP * (count - 1)
    total = sum(PANEL_HEIGHTS[panel] for panel in panels)
    bottom = f"x{count}" if count > 1 else "x"
    layout: dict = {}
    top = 1.0
    for index, panel in enumerate(panels):
        suffix = str(index + 1) if index else ""
        low = 0.0 if index == count - 1 else top - usable * PANEL_HEIGHTS[panel] / total
        x_axis: dict = {"anchor": f"y{suffix}", "domain": [0.0, 1.0]}
        if index < count - 1:
            x_axis.update(matches=bottom, showticklabels=False)
        y_axis: dict = {"anchor": f"x{suffix}", "domain": [round(low, 4), round(top, 4)]}
        if panel in PANEL_TITLES:
            y_axis["title"] = {"text": PANEL_TITLES[panel]}
        layout[f"xaxis{suffix}"] = x_axis
        layout[f"yaxis{suffix}"] = y_axis
        top = low - PANEL_GAP
    return layout


def indicator_layout(layout: dict, axes: Mapping[str, dict]) -> None:
    """The fixed scale of the RSI panel, with its 30 and 70 lines."""
    if "rsi" not in axes:
        return
    x_name, y_name = axes["rsi"]["xaxis"], axes["rsi"]["yaxis"]
    layout[f"yaxis{y_name[1:]}"].update(range=[0, 100], tickvals=[0, 30, 70, 100])
    layout["shapes"] = [
        {"type": "line", "xref": f"{x_name} domain", "x0": 0, "x1": 1, "yref": y_name,
         "y0": level, "y1": level, "line": {"color": "#888888", "width": 1, "dash": "dot"}}
        for level in RSI_LEVELS
    ]


def is_intraday(series: Mapping[str, PriceSeries]) -> bool:
    """True when a bar is shorter than a day: buckets under a day, or stored rows with a time
    of day (daily rows are stored at midnight)."""
    for bars in series.values():
        if bars.bucket is not None:
            if bars.bucket < DAY:
                return True
        elif any(t.hour or t.minute or t.second for t in bars.time):
            return True
    return False


def hover_format(series: Mapping[str, PriceSeries]) -> str:
    """The date of the bar under the pointer, as the hover label's header shows it: the day,
    the time as well for bars under a day, and the width of the buckets when bars are
    aggregated ("2016-08-01 (1 week bars)"). Aggregated tickers share one width (see
    app.prices.queries.price_series); a ticker with few rows in the range keeps its own."""
    text = "%Y-%m-%d %H:%M" if is_intraday(series) else "%Y-%m-%d"
    widths = {bars.bucket for bars in series.values() if bars.bucket is not None}
    if len(widths) == 1:
        text += f" ({duration(widths.pop())} bars)"
    return text


def build_figure(
    series: Mapping[str, PriceSeries],
    view: ViewState,
    theme: str = "light",
    shown_from: datetime | None = None,
    notes: Sequence[NoteMarker] = (),
) -> dict:
    """The price chart, and the panels under it sharing its x axis, as a figure dict.

    Plain dicts with binary arrays, not plotly.graph_objects: validating graph objects costs
    far more than the query behind the chart. Bars before `shown_from` are not drawn: they are
    there so that moving averages and indicators are complete from the first bar shown. `notes`
    are drawn as markers on their ticker's price line (see dashapp.note_markers). With
    `view.compare`, `series` holds the benchmark's bars too: it is drawn only if it is one of
    the view's tickers.
    """
    benchmark = series.get(view.compare) if view.compare else None
    if view.compare and view.compare not in view.tickers:
        series = {ticker: bars for ticker, bars in series.items() if ticker != view.compare}
    if not has_bars(series, shown_from):
        return empty_figure(theme)
    panels = chart_panels(view)
    layout = axis_layout(panels)
    axes = panel_axes(panels)
    data: list[dict] = []
    for index, (ticker, bars) in enumerate(series.items()):
        ticker_notes = [note for note in notes if note.ticker == ticker]
        data += ticker_traces(ticker, bars, view, PALETTE[index % len(PALETTE)], shown_from,
                              ticker_notes, axes=axes, benchmark=benchmark,
                              several=len(series) > 1)

    relative = view.compare is not None and benchmark is not None
    layout["yaxis"].update(
        title={"text": f"% vs {view.compare}" if relative
               else "% change" if view.normalize else "Price"},
        type="log" if view.log_scale and not (view.normalize or relative) else "linear",
        ticksuffix="%" if view.normalize or relative else "",
    )
    if "volume" in axes and len(series) > 1:
        # Several tickers' volumes are lines (see ticker_traces), on a log scale so that a
        # ticker trading a tenth of another's stays readable.
        layout[f"yaxis{axes['volume']['yaxis'][1:]}"].update(
            type="log", dtick=1, title={"text": "Volume (log)"})  # a label per power of ten
    indicator_layout(layout, axes)
    x_axes = [name for name in layout if name.startswith("xaxis")]
    header = hover_format(series)
    for name in x_axes:
        layout[name].update(type="date", rangeslider={"visible": False}, hoverformat=header)
    if series and is_daily_or_finer(series):
        breaks = [{"bounds": ["sat", "mon"]}]
        if all(s.bucket is None or s.bucket == DAY for s in series.values()):
            holidays = market_closed_days(series)
            if holidays:
                breaks.append({"values": holidays})
        for name in x_axes:
            layout[name]["rangebreaks"] = breaks
    layout.update(
        template=template(theme),
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        hovermode="x unified",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        # Zoom survives data updates of the same view (finer data after a zoom), and resets
        # when the view itself changes.
        uirevision=view_revision(view),
        barmode="overlay",
    )
    return {"data": data, "layout": layout}


def has_bars(series: Mapping[str, PriceSeries], shown_from: datetime | None = None) -> bool:
    """Whether any of `series` has a bar to show: one from `shown_from` on (the bars before it
    only feed the moving averages)."""
    return any(bars.time and (shown_from is None or bars.time[-1] >= shown_from)
               for bars in series.values())


EMPTY_MESSAGE = ("<b>No prices for this selection</b><br>"
                 "Choose other tickers or a wider date range.")


def empty_figure(theme: str = "light") -> dict:
    """What the chart shows when there is no bar to draw: a message, and no axes (an empty
    date axis would show a meaningless range)."""
    return {"data": [], "layout": {
        "template": template(theme),
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "annotations": [{
            "text": EMPTY_MESSAGE, "showarrow": False, "xref": "paper", "yref": "paper",
            "x": 0.5, "y": 0.5, "font": {"size": 16},
        }],
    }}


@lru_cache(maxsize=len(TEMPLATES))
def _template(theme: str) -> dict:
    chosen = pio.templates[TEMPLATES[theme]].to_plotly_json()
    layout = chosen["layout"]
    layout.update(paper_bgcolor=PAGE_BACKGROUNDS[theme], plot_bgcolor=PAGE_BACKGROUNDS[theme])
    if theme == "dark":
        for axis in ("xaxis", "yaxis"):
            layout[axis].update(gridcolor=DARK_GRID, zerolinecolor=DARK_GRID)
    return chosen


def template(theme: str) -> dict:
    """The Plotly template for a theme (on the page's background), as JSON: plotly.js does not
    know templates by name."""
    return _template(theme if theme in TEMPLATES else "light")


def binary(values: np.ndarray, dtype: str = "f8") -> dict:
    """An array in Plotly's typed-array form: base64 bytes, about 3x smaller than JSON text."""
    array = np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "bdata": base64.b64encode(array.tobytes()).decode("ascii")}


def view_revision(view: ViewState) -> str:
    """A key that changes whenever the user changes what is shown (not when they zoom)."""
    return "|".join(
        [
            ",".join(view.tickers),
            str(view.start),
            str(view.end),
            view.chart,
            str(view.normalize),
            str(view.log_scale),
            str(view.volume),
            str(view.notes),
            ",".join(view.indicators),
            str(view.compare),
        ]
    )


def channels(colour: str) -> tuple[int, int, int]:
    """The red, green and blue of `colour` (#RRGGBB), 0 to 255."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return red, green, blue


def falling_colour(colour: str) -> str:
    """The colour of `colour`'s falling candles: the same hue, darker (lighter for a colour
    already too dark to darken), so that every ticker's candles stay recognisable."""
    red, green, blue = channels(colour)
    if 0.299 * red + 0.587 * green + 0.114 * blue < 60:
        red, green, blue = ((channel + 255) // 2 for channel in (red, green, blue))
    else:
        red, green, blue = (channel * 11 // 20 for channel in (red, green, blue))
    return f"#{red:02X}{green:02X}{blue:02X}"


def translucent(colour: str, alpha: float) -> str:
    """`colour` (#RRGGBB) with an alpha, for fills."""
    red, green, blue = channels(colour)
    return f"rgba({red},{green},{blue},{alpha})"


def price_scale(
    bars: PriceSeries, view: ViewState, shown: np.ndarray, benchmark: PriceSeries | None
) -> Callable[[np.ndarray], np.ndarray]:
    """How a ticker's prices become the values drawn: as they are; with `normalize`, % change
    from the first close shown; with a benchmark, % performance relative to it (see
    dashapp.indicators.relative_performance). Open, high and low are scaled as the close of
    their bar, so that candles work in every mode."""
    closes = as_float_array(bars.close)
    if benchmark is not None:
        times = time_array(bars.time)
        against = aligned(times, time_array(benchmark.time), as_float_array(benchmark.close))
        performance = relative_performance(closes, against, shown)
        # performance = close / against / base * 100 - 100: the same factor for every price.
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = (performance + 100) / closes
        return lambda values: values * factor - 100
    if view.normalize:
        base = normalisation_base(closes[shown])
        if base:
            return lambda values: values * (100.0 / base) - 100.0
    return lambda values: values


def ticker_traces(
    ticker: str,
    bars: PriceSeries,
    view: ViewState,
    colour: str,
    shown_from: datetime | None = None,
    notes: Sequence[NoteMarker] = (),
    axes: Mapping[str, dict] | None = None,
    benchmark: PriceSeries | None = None,
    several: bool = False,
) -> list[dict]:
    """One price trace for `ticker`, its moving averages and Bollinger bands, its volume, RSI
    and MACD in their panels of `axes` (see panel_axes), and the markers of its `notes`.

    Indicators are computed on the values the price panel draws (% change or performance
    against `benchmark` when the view asks for them): RSI does not change with the scale of
    % change, MACD is then in percentage points, and the bands sit around the line drawn.
    `several` says other tickers share the panels: volume is then a line (overlapping bars hide
    each other) and the MACD histogram is left out (one ticker's bars would hide another's).
    """
    axes = axes or panel_axes(chart_panels(view))
    all_times = time_array(bars.time)
    shown = np.ones(len(all_times), dtype=bool)
    if shown_from is not None:
        shown = all_times >= time_array([shown_from])[0]
    x = binary(all_times[shown])
    scale = price_scale(bars, view, shown, benchmark)
    all_closes = scale(as_float_array(bars.close))

    def prices(values: np.ndarray, already_shown: bool = False) -> dict:
        # Prices to 7 significant digits (float32) are plenty for a chart; the CSV has them all.
        return binary(values if already_shown else values[shown], PRICE_DTYPE)

    def line(name: str, values: np.ndarray, panel: str, hover: str, **style) -> dict:
        return {"type": "scatter", "mode": "lines", "x": x, "y": prices(values),
                "name": name, "legendgroup": ticker, "showlegend": False,
                "line": {"color": colour, "width": 1, **style},
                "hovertemplate": f"{name} {hover}<extra></extra>", **axes[panel]}

    percent = view.normalize or benchmark is not None
    value_format = "%{y:.2f}%" if percent else "%{y:,.2f}"
    traces: list[dict] = []
    if view.chart == "line":
        traces.append({
            "type": "scatter", "mode": "lines", "x": x, "y": prices(all_closes),
            "name": ticker, "legendgroup": ticker, "line": {"color": colour, "width": 1.5},
            "hovertemplate": f"{ticker} {value_format}<extra></extra>", **axes["price"],
        })
    else:
        falling = falling_colour(colour)
        increasing: dict = {"line": {"color": colour}}
        decreasing: dict = {"line": {"color": falling}}
        if view.chart == "candlestick":  # OHLC bars have no body to fill
            increasing["fillcolor"] = translucent(colour, 0.35)
            decreasing["fillcolor"] = falling
        traces.append({
            "type": view.chart, "x": x,
            "open": prices(scale(as_float_array(bars.open))),
            "high": prices(scale(as_float_array(bars.high))),
            "low": prices(scale(as_float_array(bars.low))),
            "close": prices(all_closes),
            "name": ticker, "legendgroup": ticker,
            "increasing": increasing, "decreasing": decreasing,
            # Two decimals as the line's hover has (the axis adds the % suffix).
            "yhoverformat": ".2f" if percent else ",.2f",
            **axes["price"],
        })
    for window in view.moving_averages:
        traces.append({**line(f"{ticker} MA{window}", moving_average(all_closes, window),
                              "price", value_format, dash="dot"), "showlegend": True})
    if "bollinger" in view.indicators:
        bands = bollinger(all_closes)
        traces.append(line(f"{ticker} BB upper", bands.upper, "price", value_format,
                           width=0.8))
        # Filled up to the trace before it, the upper band.
        traces.append({**line(f"{ticker} BB lower", bands.lower, "price", value_format,
                              width=0.8),
                       "fill": "tonexty", "fillcolor": translucent(colour, 0.12)})
    if "volume" in axes:
        volume = {"x": x, "y": binary(as_float_array(bars.volume)[shown]),
                  "name": f"{ticker} volume", "legendgroup": ticker, "showlegend": False,
                  "hovertemplate": f"{ticker} volume %{{y:,.0f}}<extra></extra>",
                  **axes["volume"]}
        if several:
            traces.append({"type": "scatter", "mode": "lines",
                           "line": {"color": colour, "width": 1}, **volume})
        else:
            traces.append({"type": "bar", "marker": {"color": colour}, "opacity": 0.6,
                           **volume})
    if "rsi" in axes:
        traces.append(line(f"{ticker} RSI", rsi(all_closes), "rsi", "%{y:.1f}", width=1.2))
    if "macd" in axes:
        result = macd(all_closes)
        number = "%{y:.2f}" if percent else "%{y:,.3f}"
        traces.append(line(f"{ticker} MACD", result.line, "macd", number, width=1.2))
        traces.append(line(f"{ticker} signal", result.signal, "macd", number, dash="dot"))
        if not several:
            traces.append({"type": "bar", "x": x, "y": prices(result.histogram),
                           "name": f"{ticker} histogram", "legendgroup": ticker,
                           "showlegend": False, "marker": {"color": colour}, "opacity": 0.45,
                           "hovertemplate": f"{ticker} histogram {number}<extra></extra>",
                           **axes["macd"]})
    markers = note_trace(ticker, notes, all_times[shown], all_closes[shown], colour)
    if markers is not None:
        traces.append({**markers, "x": binary(markers["x"]), "y": prices(markers["y"], True)})
    return traces


def summary_rows(summaries: Mapping[str, TickerSummary]) -> list[dict]:
    """Rows for the summary table; fractions become percentages rounded for display."""

    def percent(value: float | None) -> float | None:
        return None if value is None else round(value * 100, 2)

    return [
        {
            "ticker": s.ticker,
            "last_close": round(s.last_close, 2),
            "period_return": percent(s.period_return),
            "volatility": percent(s.volatility),
            "max_drawdown": percent(s.max_drawdown),
            "average_volume": None if s.average_volume is None else round(s.average_volume),
        }
        for s in summaries.values()
    ]


CSV_COLUMNS = ("ticker", "time", "open", "high", "low", "close", "volume")


def series_csv(series: Mapping[str, PriceSeries]) -> str:
    """The bars shown in the chart, one CSV row per ticker and bar."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for ticker, bars in series.items():
        for row in zip(bars.time, bars.open, bars.high, bars.low, bars.close, bars.volume,
                       strict=True):
            time, *values = row
            writer.writerow([ticker, time.isoformat(sep=" "), *("" if v is None else v
                                                                   for v in values)])
    return buffer.getvalue()
