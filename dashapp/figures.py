"""Pure functions from query results to Plotly figures, table rows and CSV text.

Nothing here touches the database or a request, so every function is unit-tested on its own.
"""

from __future__ import annotations

import base64
import csv
import io
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import plotly.io as pio

from app.notes.markers import NoteMarker
from app.prices.queries import PriceSeries, TickerSummary
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


def axis_layout(rows: int) -> dict:
    """The axes of a price panel, and of a volume panel under it sharing its x axis."""
    if rows == 1:
        return {"xaxis": {"anchor": "y", "domain": [0.0, 1.0]},
                "yaxis": {"anchor": "x", "domain": [0.0, 1.0]}}
    return {
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0], "matches": "x2", "showticklabels": False},
        "xaxis2": {"anchor": "y2", "domain": [0.0, 1.0]},
        "yaxis": {"anchor": "x", "domain": [0.2575, 1.0]},
        "yaxis2": {"anchor": "x2", "domain": [0.0, 0.2275], "title": {"text": "Volume"}},
    }


def build_figure(
    series: Mapping[str, PriceSeries],
    view: ViewState,
    theme: str = "light",
    shown_from: datetime | None = None,
    notes: Sequence[NoteMarker] = (),
) -> dict:
    """The price chart (and the volume panel under it, sharing the x axis), as a figure dict.

    Plain dicts with binary arrays, not plotly.graph_objects: validating graph objects costs
    far more than the query behind the chart. Bars before `shown_from` are not drawn: they are
    there so that moving averages are complete from the first bar shown. `notes` are drawn as
    markers on their ticker's price line (see dashapp.note_markers).
    """
    rows = 2 if view.volume else 1
    layout = axis_layout(rows)
    data: list[dict] = []
    for index, (ticker, bars) in enumerate(series.items()):
        ticker_notes = [note for note in notes if note.ticker == ticker]
        data += ticker_traces(ticker, bars, view, PALETTE[index % len(PALETTE)], shown_from,
                              ticker_notes)

    layout["yaxis"].update(
        title={"text": "% change" if view.normalize else "Price"},
        type="log" if view.log_scale and not view.normalize else "linear",
        ticksuffix="%" if view.normalize else "",
    )
    x_axes = [name for name in layout if name.startswith("xaxis")]
    for name in x_axes:
        layout[name].update(type="date", rangeslider={"visible": False})
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
    if not series:
        layout["annotations"] = [{
            "text": "No prices for this selection", "showarrow": False, "xref": "paper",
            "yref": "paper", "x": 0.5, "y": 0.5, "font": {"size": 16},
        }]
    return {"data": data, "layout": layout}


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
        ]
    )


def ticker_traces(
    ticker: str,
    bars: PriceSeries,
    view: ViewState,
    colour: str,
    shown_from: datetime | None = None,
    notes: Sequence[NoteMarker] = (),
) -> list[dict]:
    """One price trace for `ticker`, its moving averages, its volume bars and the markers of
    its `notes`."""
    all_times = time_array(bars.time)
    shown = np.ones(len(all_times), dtype=bool)
    if shown_from is not None:
        shown = all_times >= time_array([shown_from])[0]
    x = binary(all_times[shown])
    all_closes = as_float_array(bars.close)
    scale, offset = 1.0, 0.0
    if view.normalize:
        base = normalisation_base(all_closes[shown])
        if base:
            scale, offset = 100.0 / base, -100.0
    all_closes = all_closes * scale + offset

    def prices(values: np.ndarray, already_shown: bool = False) -> dict:
        # Prices to 7 significant digits (float32) are plenty for a chart; the CSV has them all.
        return binary(values if already_shown else values[shown], PRICE_DTYPE)

    value_format = "%{y:.2f}%" if view.normalize else "%{y:,.2f}"
    price_axes = {"xaxis": "x", "yaxis": "y"}
    traces: list[dict] = []
    if view.chart == "line":
        traces.append({
            "type": "scatter", "mode": "lines", "x": x, "y": prices(all_closes),
            "name": ticker, "legendgroup": ticker, "line": {"color": colour, "width": 1.5},
            "hovertemplate": f"{ticker} {value_format}<extra></extra>", **price_axes,
        })
    else:
        traces.append({
            "type": view.chart, "x": x,
            "open": prices(as_float_array(bars.open) * scale + offset),
            "high": prices(as_float_array(bars.high) * scale + offset),
            "low": prices(as_float_array(bars.low) * scale + offset),
            "close": prices(all_closes),
            "name": ticker, "legendgroup": ticker,
            "increasing": {"line": {"color": colour}},
            "decreasing": {"line": {"color": "#555555" if colour == "#999999" else "#999999"}},
            **price_axes,
        })
    for window in view.moving_averages:
        traces.append({
            "type": "scatter", "mode": "lines", "x": x,
            "y": prices(moving_average(all_closes, window)),
            "name": f"{ticker} MA{window}", "legendgroup": ticker,
            "line": {"color": colour, "width": 1, "dash": "dot"},
            "hovertemplate": f"{ticker} MA{window} {value_format}<extra></extra>", **price_axes,
        })
    if view.volume:
        traces.append({
            "type": "bar", "x": x, "y": binary(as_float_array(bars.volume)[shown]),
            "name": f"{ticker} volume", "legendgroup": ticker, "showlegend": False,
            "marker": {"color": colour}, "opacity": 0.6,
            "hovertemplate": f"{ticker} volume %{{y:,.0f}}<extra></extra>",
            "xaxis": "x2", "yaxis": "y2",
        })
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
