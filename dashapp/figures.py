"""Pure functions from query results to Plotly figures, table rows and CSV text.

Nothing here touches the database or a request, so every function is unit-tested on its own.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.prices.queries import PriceSeries, TickerSummary
from dashapp.urlstate import ViewState

PRICE_ROW, VOLUME_ROW = 1, 2
DAY = timedelta(days=1)
# Colour-blind-safe palette (Okabe-Ito), one per ticker in selection order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999", "#882255")
TEMPLATES = {"light": "plotly_white", "dark": "plotly_dark"}


def as_float_array(values: Sequence[float | None]) -> np.ndarray:
    """Values as float64 with NaN for gaps: Plotly sends such arrays in compact binary form."""
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def time_array(times: Sequence[datetime]) -> np.ndarray:
    """Times as epoch milliseconds, which a date axis reads as dates; as a float array the
    figure JSON carries them in binary form, about half the size of ISO strings."""
    return np.array(times, dtype="datetime64[ms]").astype(np.int64).astype(np.float64)


def normalisation_base(series: PriceSeries) -> float | None:
    """The first close of the range: what "% change" is measured from."""
    for close in series.close:
        if close:
            return close
    return None


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

    Only meaningful for daily bars; intraday data would need hour breaks as well.
    """
    days = {t.date() for s in series.values() for t in s.time}
    if len(days) < 2:
        return []
    first, last = min(days), max(days)
    missing = []
    day = first
    while day <= last:
        if day.weekday() < 5 and day not in days:
            missing.append(day.isoformat())
        day += DAY
    return missing


def build_figure(
    series: Mapping[str, PriceSeries], view: ViewState, theme: str = "light"
) -> go.Figure:
    """The price chart (and the volume panel under it, sharing the x axis)."""
    rows = 2 if view.volume else 1
    figure = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[0.75, 0.25] if rows == 2 else [1.0],
    )
    for index, (ticker, bars) in enumerate(series.items()):
        add_ticker_traces(figure, ticker, bars, view, PALETTE[index % len(PALETTE)])

    price_axis_title = "% change" if view.normalize else "Price"
    figure.update_yaxes(
        title_text=price_axis_title,
        type="log" if view.log_scale and not view.normalize else "linear",
        ticksuffix="%" if view.normalize else "",
        row=PRICE_ROW,
        col=1,
    )
    if rows == 2:
        figure.update_yaxes(title_text="Volume", row=VOLUME_ROW, col=1)
    figure.update_xaxes(type="date", rangeslider_visible=False)
    if series and is_daily_or_finer(series):
        breaks = [{"bounds": ["sat", "mon"]}]
        if all(s.bucket is None or s.bucket == DAY for s in series.values()):
            holidays = market_closed_days(series)
            if holidays:
                breaks.append({"values": holidays})
        figure.update_xaxes(rangebreaks=breaks)
    figure.update_layout(
        template=TEMPLATES.get(theme, TEMPLATES["light"]),
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        hovermode="x unified",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        # Zoom survives data updates of the same view (finer data after a zoom), and resets
        # when the view itself changes.
        uirevision=view_revision(view),
        barmode="overlay",
        height=620 if rows == 2 else 520,
    )
    if not series:
        figure.add_annotation(
            text="No prices for this selection", showarrow=False, xref="paper", yref="paper",
            x=0.5, y=0.5, font={"size": 16},
        )
    return figure


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
        ]
    )


def add_ticker_traces(
    figure: go.Figure, ticker: str, bars: PriceSeries, view: ViewState, colour: str
) -> None:
    """One price trace for `ticker`, its moving averages and its volume bars."""
    x = time_array(bars.time)
    scale, offset = 1.0, 0.0
    if view.normalize:
        base = normalisation_base(bars)
        if base:
            scale, offset = 100.0 / base, -100.0
    close = as_float_array(bars.close) * scale + offset
    value_format = "%{y:.2f}%" if view.normalize else "%{y:,.2f}"

    if view.chart == "line":
        figure.add_trace(
            go.Scatter(
                x=x, y=close, mode="lines", name=ticker, legendgroup=ticker,
                line={"color": colour, "width": 1.5},
                hovertemplate=f"{ticker} {value_format}<extra></extra>",
            ),
            row=PRICE_ROW, col=1,
        )
    else:
        trace_type = go.Candlestick if view.chart == "candlestick" else go.Ohlc
        figure.add_trace(
            trace_type(
                x=x,
                open=as_float_array(bars.open) * scale + offset,
                high=as_float_array(bars.high) * scale + offset,
                low=as_float_array(bars.low) * scale + offset,
                close=close,
                name=ticker,
                legendgroup=ticker,
                increasing={"line": {"color": colour}},
                decreasing={"line": {"color": "#999999" if colour != "#999999" else "#555555"}},
            ),
            row=PRICE_ROW, col=1,
        )

    for window in view.moving_averages:
        figure.add_trace(
            go.Scatter(
                x=x, y=moving_average(close, window), mode="lines",
                name=f"{ticker} MA{window}", legendgroup=ticker,
                line={"color": colour, "width": 1, "dash": "dot"},
                hovertemplate=f"{ticker} MA{window} {value_format}<extra></extra>",
            ),
            row=PRICE_ROW, col=1,
        )

    if view.volume:
        figure.add_trace(
            go.Bar(
                x=x, y=as_float_array(bars.volume), name=f"{ticker} volume",
                legendgroup=ticker, showlegend=False, marker={"color": colour}, opacity=0.6,
                hovertemplate=f"{ticker} volume %{{y:,.0f}}<extra></extra>",
            ),
            row=VOLUME_ROW, col=1,
        )


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
