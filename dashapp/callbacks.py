"""Dash callbacks, registered on the app instance (never the global `dash.callback`).

They read prices only through `app.prices.queries`; they never build SQL.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Input, Output, Patch, State, ctx, dcc, no_update

from app.prices.queries import (
    MAX_POINTS,
    PriceSeries,
    TickerInfo,
    list_tickers,
    price_series,
    summary,
)
from dashapp.figures import build_figure, series_csv, summary_rows, template
from dashapp.layout import QUICK_RANGES, SUMMARY_COLUMNS, summary_table, ticker_option
from dashapp.urlstate import DEFAULT_TICKERS, ViewState, parse_query, serialise

CONTROL_PROPS = [
    ("tickers", "value"),
    ("dates", "start_date"),
    ("dates", "end_date"),
    ("chart-type", "value"),
    ("options", "value"),
    ("moving-averages", "value"),
]
SUMMARY_COLUMN_IDS = {key for key, _ in SUMMARY_COLUMNS}
POINTS_PER_CHART = 6000
QUICK_RANGE_DAYS = {"1M": 31, "6M": 183, "1Y": 365, "5Y": 5 * 365 + 1}


def register_callbacks(dash_app: dash.Dash) -> None:
    """Attach every callback to `dash_app`."""
    dash_app.callback(
        Output("url", "search"),
        *[Output(component, prop) for component, prop in CONTROL_PROPS],
        Output("tickers", "options"),
        Output("view", "data"),
        Input("url", "search"),
        *[Input(component, prop) for component, prop in CONTROL_PROPS],
        Input({"type": "quick-range", "range": ALL}, "n_clicks"),
    )(sync_view)
    dash_app.callback(
        Output("price-chart", "figure"),
        Output("notices", "children"),
        Output("shown-range", "data"),
        Input("view", "data"),
        State("theme", "data"),
        # Fired once `sync_view` has resolved the URL into the view store, not before.
        prevent_initial_call=True,
    )(update_chart)
    # The summary is a callback of its own so that the chart never waits for it.
    dash_app.callback(
        Output("summary-data", "data"),
        Input("view", "data"),
        prevent_initial_call=True,
    )(update_summary)
    # A theme change restyles the figure in place; redrawing it would race with a zoom's data.
    dash_app.callback(
        Output("price-chart", "figure", allow_duplicate=True),
        Input("theme", "data"),
        prevent_initial_call=True,
    )(retheme_chart)
    # Zooming is a callback of its own: were it part of `update_chart`, the relayout event of
    # the first draw would supersede the request that brings the figure, and Dash would drop it.
    dash_app.callback(
        Output("price-chart", "figure", allow_duplicate=True),
        Output("shown-range", "data", allow_duplicate=True),
        Input("price-chart", "relayoutData"),
        State("view", "data"),
        State("theme", "data"),
        prevent_initial_call=True,
    )(zoom_chart)
    dash_app.callback(
        Output("summary-table", "children"),
        Input("summary-data", "data"),
        Input("summary-sort", "data"),
    )(render_summary)
    dash_app.callback(
        Output("summary-sort", "data"),
        Input({"type": "sort", "column": ALL}, "n_clicks"),
        State("summary-sort", "data"),
        prevent_initial_call=True,
    )(change_sort)
    dash_app.callback(
        Output("download", "data"),
        Input("download-button", "n_clicks"),
        State("view", "data"),
        State("shown-range", "data"),
        prevent_initial_call=True,
    )(download_csv)
    # The theme is applied in the browser (assets/stockdash.js), so the page never flashes.
    dash_app.clientside_callback(
        ClientsideFunction(namespace="stockdash", function_name="applyTheme"),
        Output("theme", "data"),
        Input("theme-switch", "value"),
    )


def resolve_view(view: ViewState, infos: list[TickerInfo]) -> ViewState:
    """Check the view against the known tickers: drop unknown ones, fill in the defaults."""
    known = {info.ticker: info for info in infos}
    unknown = [t for t in view.tickers if t not in known]
    tickers = tuple(t for t in view.tickers if t in known)
    if unknown:
        view = view.with_notices(f"Unknown ticker(s) ignored: {', '.join(unknown)}.")
    if not view.tickers:
        tickers = tuple(t for t in DEFAULT_TICKERS if t in known) or tuple(sorted(known)[:3])
    return replace(view, tickers=tickers)


def view_from_controls(tickers, start, end, chart, options, averages) -> ViewState:
    """The view the controls show, validated exactly as a URL is (payloads can be forged)."""
    options = options if isinstance(options, list) else []
    query = {
        "tickers": ",".join(map(str, tickers)) if isinstance(tickers, list) else "",
        "start": start if isinstance(start, str) else "",
        "end": end if isinstance(end, str) else "",
        "chart": chart if isinstance(chart, str) else "line",
        "normalize": "1" if "normalize" in options else "0",
        "log": "1" if "log" in options else "0",
        "volume": "1" if "volume" in options else "0",
        "ma": ",".join(map(str, averages)) if isinstance(averages, list) else "",
    }
    return parse_query(urlencode(query, safe=","))


def quick_range(
    name: str, tickers: tuple[str, ...], infos: list[TickerInfo]
) -> tuple[date | None, date | None]:
    """Start and end of a quick range, counted back from the last price of `tickers`."""
    infos = [info for info in infos if info.ticker in tickers]
    if not infos or name == "All":
        return None, None
    last = max(info.last for info in infos).date()
    if name == "YTD":
        return date(last.year, 1, 1), last
    return last - timedelta(days=QUICK_RANGE_DAYS[name]), last


def controls_for(view: ViewState) -> list:
    """Control values that show `view`."""
    options = [name for name, on in (("normalize", view.normalize), ("log", view.log_scale),
                                     ("volume", view.volume)) if on]
    return [
        list(view.tickers),
        view.start.isoformat() if view.start else None,
        view.end.isoformat() if view.end else None,
        view.chart,
        options,
        list(view.moving_averages),
    ]


def sync_view(search, tickers, start, end, chart, options, averages, _quick_clicks):
    """Keep the URL and the controls in step, both ways, and publish the resolved view.

    A change of URL (first load, a pasted link, back/forward) sets the controls (and, on the
    way, the ticker options); a change of a control writes the URL (a new history entry). Both
    end in the `view` store.
    """
    infos = list_tickers()
    if ctx.triggered_id in (None, "url"):
        view = resolve_view(parse_query(search), infos)
        options = [ticker_option(info) for info in infos]
        return [no_update, *controls_for(view), options, view_store(view)]
    view = view_from_controls(tickers, start, end, chart, options, averages)
    trigger = ctx.triggered_id
    if isinstance(trigger, dict) and trigger.get("range") in QUICK_RANGES:
        first, last = quick_range(trigger["range"], view.tickers, infos)
        view = replace(view, start=first, end=last)
    view = resolve_view(view, infos)
    return [serialise(view), *controls_for(view), no_update, view_store(view)]


def view_store(view: ViewState) -> dict:
    """What the chart callbacks need: the canonical query and the notices for the user."""
    return {"query": serialise(view), "notices": list(view.notices)}


def visible_range(relayout: dict | None) -> tuple[datetime, datetime] | bool | None:
    """The x range the user zoomed to; True when they reset the zoom; None when irrelevant."""
    if not isinstance(relayout, dict):
        return None
    for axis in ("xaxis", "xaxis2"):
        if relayout.get(f"{axis}.autorange"):
            return True
        bounds = relayout.get(f"{axis}.range") or [
            relayout.get(f"{axis}.range[0]"), relayout.get(f"{axis}.range[1]")
        ]
        if isinstance(bounds, list) and len(bounds) == 2 and all(bounds):
            try:
                low, high = (datetime.fromisoformat(str(b).strip()[:26]) for b in bounds)
            except ValueError:
                return None
            return (low, high) if low < high else None
    return None


def read_view(store) -> ViewState:
    """The view from the `view` store; a tampered or missing store is just an empty view."""
    query = store.get("query") if isinstance(store, dict) else None
    return parse_query(query if isinstance(query, str) else "")


def update_chart(store, theme):
    """Draw the view: the chart and the notices."""
    if not isinstance(store, dict):
        return no_update, no_update, no_update  # the view is not resolved yet
    view = read_view(store)
    series = chart_series(view, lookback_start(view), view.end)
    shown_from = first_shown(view)
    notices = [str(n) for n in store.get("notices", []) if isinstance(n, str)]
    missing = [t for t in view.tickers
               if t not in series or (shown_from and series[t].time[-1] < shown_from)]
    if view.tickers and missing:
        notices.append(f"No prices in this date range for: {', '.join(missing)}.")
    if view.normalize and view.log_scale:
        notices.append("Log scale is not used with % change (it can be negative).")
    figure = build_figure(series, view, theme_name(theme), shown_from)
    return figure, notice_alerts(notices), None


def update_summary(store):
    """The summary figures of each ticker over the view's range."""
    if not isinstance(store, dict):
        return no_update
    view = read_view(store)
    return summary_rows(summary(view.tickers, view.start, view.end))


def chart_series(view: ViewState, start, end) -> dict[str, PriceSeries]:
    """The bars a chart of `view` shows between `start` and `end` (the CSV uses the same).

    Each series gets at most MAX_POINTS buckets, and all of them together at most
    POINTS_PER_CHART, so that a chart of ten tickers costs about what a chart of three does.
    """
    per_ticker = min(MAX_POINTS, POINTS_PER_CHART // max(1, len(view.tickers)))
    return price_series(view.tickers, start, end, max_points=per_ticker)


def first_shown(view: ViewState) -> datetime | None:
    """The first instant the chart shows (bars before it only feed moving averages)."""
    return datetime.combine(view.start, datetime.min.time()) if view.start else None


def lookback_start(view: ViewState) -> date | None:
    """Where to start reading so that the longest moving average is complete on the first day
    shown: that many trading days before the start, counted generously in calendar days."""
    if not view.moving_averages or view.start is None:
        return view.start
    return view.start - timedelta(days=math.ceil(max(view.moving_averages) * 7 / 5) + 10)


def zoom_chart(relayout, store, theme):
    """After a zoom, re-query the visible range so that finer buckets appear; after a reset,
    draw the whole view again. Other relayout events (pan mode, autosize) change nothing."""
    zoom = visible_range(relayout)
    if zoom is None or not isinstance(store, dict):
        return no_update, no_update
    view = read_view(store)
    if zoom is True:
        series = chart_series(view, lookback_start(view), view.end)
        return build_figure(series, view, theme_name(theme), first_shown(view)), None
    series = chart_series(view, zoom[0], zoom[1])
    shown = [zoom[0].isoformat(), zoom[1].isoformat()]
    return build_figure(series, view, theme_name(theme)), shown


def retheme_chart(theme):
    """Swap the figure's template for the chosen theme, leaving its data alone."""
    patch = Patch()
    patch["layout"]["template"] = template(theme_name(theme))
    return patch


def theme_name(theme) -> str:
    """The theme store's value, if it is one we know."""
    return theme if theme in ("light", "dark") else "light"


def render_summary(rows, sort):
    """The summary table, sorted as asked (missing figures last)."""
    rows = [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
    sort = sort if isinstance(sort, dict) else {}
    column = sort.get("column") if sort.get("column") in SUMMARY_COLUMN_IDS else "ticker"
    descending = bool(sort.get("descending"))
    present = [row for row in rows if row.get(column) is not None]
    missing = [row for row in rows if row.get(column) is None]
    present.sort(key=lambda row: row[column], reverse=descending)
    return summary_table(present + missing, {"column": column, "descending": descending})


def change_sort(clicks, sort):
    """A click on a heading sorts by that column; a second click reverses the order."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks or []):
        return no_update  # the headings were just drawn, nobody clicked
    column = trigger.get("column")
    if column not in SUMMARY_COLUMN_IDS:
        return no_update
    current = sort if isinstance(sort, dict) else {}
    descending = current.get("column") == column and not current.get("descending")
    return {"column": column, "descending": descending}


def notice_alerts(notices: list[str]) -> list[dbc.Alert]:
    """Notices as dismissable warnings above the chart."""
    return [
        dbc.Alert(str(text), color="warning", dismissable=True, className="py-2 mb-2")
        for text in notices[:10]
    ]


def download_csv(_clicks, store, shown):
    """The bars the chart shows (the zoomed range, if any), as CSV."""
    view = read_view(store)
    start, end = view.start, view.end
    if isinstance(shown, list) and len(shown) == 2:
        with contextlib.suppress(ValueError):  # a tampered store falls back to the view's range
            start, end = (datetime.fromisoformat(str(value)) for value in shown)
    series = chart_series(view, start, end)
    name = "-".join(view.tickers) or "prices"
    return dcc.send_string(series_csv(series), f"stockdash-{name}.csv", type="text/csv")
