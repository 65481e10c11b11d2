"""Dash callbacks, registered on the app instance (never the global `dash.callback`).

They read prices only through `app.prices.queries`, the watchlist through `app.tickers` and the
notes drawn on the chart through `app.notes.markers`; they never build SQL.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

import dash
import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Input, Output, Patch, State, ctx, dcc, no_update
from flask_login import current_user

from app.notes.markers import MAX_NOTE_MARKERS, ChartNotes, chart_notes
from app.prices.queries import (
    MAX_POINTS,
    PriceSeries,
    TickerInfo,
    as_naive_utc,
    bucket_width,
    list_tickers,
    price_series,
    summary,
)
from app.prices.tickers import is_ticker
from app.tickers.directory import prices_up_to
from app.tickers.watchlist import UnknownTicker, unwatch, watch, watched_tickers
from dashapp import ids
from dashapp.figures import build_figure, series_csv, summary_rows, template
from dashapp.indicators import WARM_UP_BARS
from dashapp.layout import QUICK_RANGES, SUMMARY_COLUMNS, summary_table, ticker_option
from dashapp.note_markers import notes_csv
from dashapp.urlstate import (
    DEFAULT_TICKERS,
    MAX_TICKERS,
    ViewState,
    controls_for,
    parse_query,
    serialise,
    view_from_controls,
)

# Where each entry of the controls' values (urlstate.CONTROL_NAMES) lives in the layout.
CONTROLS = {
    "tickers": (ids.TICKERS, "value"),
    "start": (ids.DATES, "start_date"),
    "end": (ids.DATES, "end_date"),
    "chart": (ids.CHART_TYPE, "value"),
    "options": (ids.OPTIONS, "value"),
    "averages": (ids.MOVING_AVERAGES, "value"),
    "indicators": (ids.INDICATORS, "value"),
    "compare": (ids.COMPARE, "value"),
}
SUMMARY_COLUMN_IDS = {key for key, _ in SUMMARY_COLUMNS}
POINTS_PER_CHART = 6000
QUICK_RANGE_DAYS = {"1M": 31, "6M": 183, "1Y": 365, "5Y": 5 * 365 + 1}
X_AXIS = re.compile(r"xaxis[0-9]{0,2}")  # a panel's x axis in a relayout event: xaxis, xaxis2...
MORE_NOTES = (f"Showing the newest {MAX_NOTE_MARKERS} notes of this range; zoom in to see the "
              "others.")


def controls_as(dependency: type[Input] | type[Output]) -> dict:
    """Every control as an Input or an Output, by its name in the controls' values."""
    return {name: dependency(*place) for name, place in CONTROLS.items()}


def register_callbacks(dash_app: dash.Dash) -> None:
    """Attach every callback to `dash_app`. Each takes its inputs by name (Dash's dict form)."""
    dash_app.callback(
        output=dict(
            search=Output(ids.URL, "search"),
            controls=controls_as(Output),
            options=Output(ids.TICKERS, "options"),
            # In the same answer as the benchmark itself: a dropdown drops a value that none
            # of its options has.
            compare_options=Output(ids.COMPARE, "options"),
            view=Output(ids.VIEW, "data"),
        ),
        inputs=dict(
            search=Input(ids.URL, "search"),
            controls=controls_as(Input),
            quick_clicks=Input(ids.quick_range(ALL), "n_clicks"),
        ),
    )(sync_view)
    dash_app.callback(
        output=dict(
            figure=Output(ids.PRICE_CHART, "figure"),
            notices=Output(ids.NOTICES, "children"),
            shown=Output(ids.SHOWN_RANGE, "data"),
            **notes_outputs(),
        ),
        inputs=dict(store=Input(ids.VIEW, "data"), theme=State(ids.THEME, "data")),
        # Fired once `sync_view` has resolved the URL into the view store, not before.
        prevent_initial_call=True,
    )(update_chart)
    # The summary is a callback of its own so that the chart never waits for it.
    dash_app.callback(
        Output(ids.SUMMARY_DATA, "data"),
        inputs=dict(store=Input(ids.VIEW, "data")),
        prevent_initial_call=True,
    )(update_summary)
    # A theme change restyles the figure in place; redrawing it would race with a zoom's data.
    dash_app.callback(
        Output(ids.PRICE_CHART, "figure", allow_duplicate=True),
        inputs=dict(theme=Input(ids.THEME, "data")),
        prevent_initial_call=True,
    )(retheme_chart)
    # Zooming is a callback of its own: were it part of `update_chart`, the relayout event of
    # the first draw would supersede the request that brings the figure, and Dash would drop it.
    dash_app.callback(
        output=dict(
            figure=Output(ids.PRICE_CHART, "figure", allow_duplicate=True),
            shown=Output(ids.SHOWN_RANGE, "data", allow_duplicate=True),
            **notes_outputs(allow_duplicate=True),
        ),
        inputs=dict(
            relayout=Input(ids.PRICE_CHART, "relayoutData"),
            store=State(ids.VIEW, "data"),
            theme=State(ids.THEME, "data"),
        ),
        prevent_initial_call=True,
    )(zoom_chart)
    dash_app.callback(
        Output(ids.SUMMARY_TABLE, "children"),
        inputs=dict(rows=Input(ids.SUMMARY_DATA, "data"), sort=Input(ids.SUMMARY_SORT, "data")),
    )(render_summary)
    dash_app.callback(
        Output(ids.SUMMARY_SORT, "data"),
        inputs=dict(
            clicks=Input(ids.sort_heading(ALL), "n_clicks"), sort=State(ids.SUMMARY_SORT, "data")
        ),
        prevent_initial_call=True,
    )(change_sort)
    dash_app.callback(
        Output(ids.DOWNLOAD, "data"),
        inputs=dict(
            clicks=Input(ids.DOWNLOAD_BUTTON, "n_clicks"),
            store=State(ids.VIEW, "data"),
            shown=State(ids.SHOWN_RANGE, "data"),
        ),
        prevent_initial_call=True,
    )(download_csv)
    dash_app.callback(
        Output(ids.NOTES_DOWNLOAD, "data"),
        inputs=dict(
            clicks=Input(ids.NOTES_DOWNLOAD_BUTTON, "n_clicks"),
            store=State(ids.VIEW, "data"),
            shown=State(ids.SHOWN_RANGE, "data"),
        ),
        prevent_initial_call=True,
    )(download_notes)
    # The star follows the view, and a click on it changes the watchlist first.
    dash_app.callback(
        output=dict(
            label=Output(ids.STAR, "children"),
            title=Output(ids.STAR, "title"),
            pressed=Output(ids.STAR, "aria-pressed"),
            disabled=Output(ids.STAR, "disabled"),
            style=Output(ids.STAR, "className"),
        ),
        inputs=dict(clicks=Input(ids.STAR, "n_clicks"), store=Input(ids.VIEW, "data")),
        prevent_initial_call=True,
    )(toggle_star)
    dash_app.callback(
        Output(ids.FRESHNESS, "children"), inputs=dict(store=Input(ids.VIEW, "data")),
        prevent_initial_call=True,
    )(freshness)
    # The theme lives in the browser (static/js/theme.js, switched in the navbar); this reads
    # it once at load, and dashapp/assets/stockdash.js passes every later switch to the store.
    dash_app.clientside_callback(
        ClientsideFunction(namespace="stockdash", function_name="readTheme"),
        Output(ids.THEME, "data"),
        Input(ids.URL, "pathname"),
    )


def notes_outputs(allow_duplicate: bool = False) -> dict:
    """The outputs that go with the notes drawn: the notice when a range holds more than are
    drawn, and whether the Notes CSV button is off (no notes)."""
    return {
        "notes_notice": Output(ids.NOTES_NOTICE, "children", allow_duplicate=allow_duplicate),
        "notes_off": Output(ids.NOTES_DOWNLOAD_BUTTON, "disabled",
                            allow_duplicate=allow_duplicate),
    }


def resolve_view(
    view: ViewState, infos: list[TickerInfo], watched: Callable[[], Sequence[str]] = tuple
) -> ViewState:
    """Check the view against the known tickers: drop unknown ones (the benchmark too); a view
    of none shows the `watched` tickers that have prices (the first MAX_TICKERS), else the
    defaults."""
    known = {info.ticker: info for info in infos}
    if view.compare is not None and view.compare not in known:
        view = replace(view, compare=None).with_notices(
            f"Unknown benchmark ignored: {view.compare} has no prices stored.")
    unknown = [t for t in view.tickers if t not in known]
    tickers = tuple(t for t in view.tickers if t in known)
    if unknown:
        view = view.with_notices(f"Unknown ticker(s) ignored: {', '.join(unknown)}.")
    if not view.tickers:
        tickers = tuple(t for t in watched() if t in known)[:MAX_TICKERS]
        tickers = tickers or tuple(t for t in DEFAULT_TICKERS if t in known)
        tickers = tickers or tuple(sorted(known)[:3])
    return replace(view, tickers=tickers)


def users_watchlist() -> list[str]:
    """The logged-in analyst's watchlist (every dashboard request is logged in)."""
    return watched_tickers(current_user.id)


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


def sync_view(search, controls, quick_clicks):
    """Keep the URL and the controls in step, both ways, and publish the resolved view.

    A change of URL (first load, a pasted link, back/forward) sets the controls (and, on the
    way, the ticker options); a change of a control writes the URL (a new history entry). Both
    end in the `view` store.
    """
    infos = list_tickers()
    trigger = ctx.triggered_id
    if trigger in (None, ids.URL):
        view = resolve_view(parse_query(search), infos, users_watchlist)
        options = [ticker_option(info) for info in infos]
        return {"search": no_update, "controls": controls_for(view), "options": options,
                "compare_options": options, "view": view_store(view)}
    view = view_from_controls(controls)
    if isinstance(trigger, dict) and trigger.get("range") in QUICK_RANGES:
        first, last = quick_range(trigger["range"], view.tickers, infos)
        view = replace(view, start=first, end=last)
    view = resolve_view(view, infos, users_watchlist)
    return {"search": serialise(view), "controls": controls_for(view), "options": no_update,
            "compare_options": no_update, "view": view_store(view)}


def view_store(view: ViewState) -> dict:
    """What the chart callbacks need: the canonical query and the notices for the user."""
    return {"query": serialise(view), "notices": list(view.notices)}


def toggle_star(clicks, store):
    """The star's state for the tickers shown; a click first adds them all to the watchlist,
    or removes them all when every one is on it already."""
    if not isinstance(store, dict):
        return {"label": no_update, "title": no_update, "pressed": no_update,
                "disabled": no_update, "style": no_update}
    tickers = read_view(store).tickers
    user_id = current_user.id
    watched = set(watched_tickers(user_id))
    if ctx.triggered_id == ids.STAR and tickers:
        if watched.issuperset(tickers):
            unwatch(user_id, tickers)
        else:
            with contextlib.suppress(UnknownTicker):  # a forged store's ticker: nothing changes
                watch(user_id, tickers)
        watched = set(watched_tickers(user_id))
    return star_state(tickers, watched)


def star_state(tickers: tuple[str, ...], watched: set[str]) -> dict:
    """What the star says for `tickers`: filled when all of them are watched."""
    outline = "btn btn-sm btn-outline-warning"
    if not tickers:
        return {"label": "☆ Watch", "title": "No tickers shown", "pressed": "false",
                "disabled": True, "style": outline}
    names = ", ".join(tickers)
    if watched.issuperset(tickers):
        return {"label": "★ Watching", "title": f"Remove {names} from your watchlist",
                "pressed": "true", "disabled": False, "style": "btn btn-sm btn-warning"}
    return {"label": "☆ Watch", "title": f"Add {names} to your watchlist", "pressed": "false",
            "disabled": False, "style": outline}


def freshness(store):
    """How fresh the prices of the tickers shown are: their newest stored bar, from the
    per-ticker summary (a primary-key read per ticker, never `stock_prices`)."""
    if not isinstance(store, dict):
        return no_update
    tickers = read_view(store).tickers
    newest = prices_up_to(tickers) if tickers else None
    return f"Prices up to {newest.date().isoformat()}" if newest else "No prices stored yet"


def visible_range(relayout: dict | None) -> tuple[datetime, datetime] | bool | None:
    """The x range the user zoomed to; True when they reset the zoom; None when irrelevant.

    Every panel has an x axis of its own (xaxis, xaxis2, ... all matching): the event names
    the one the user dragged on.
    """
    if not isinstance(relayout, dict):
        return None
    for axis in x_axes_of(relayout):
        if relayout.get(f"{axis}.autorange"):
            return True
        bounds = relayout.get(f"{axis}.range") or [
            relayout.get(f"{axis}.range[0]"), relayout.get(f"{axis}.range[1]")
        ]
        if isinstance(bounds, list) and len(bounds) == 2 and all(bounds):
            try:
                # In the stored form, UTC without a zone: a tampered event may carry zones.
                low, high = (
                    as_naive_utc(datetime.fromisoformat(str(b).strip()[:26])) for b in bounds
                )
            except ValueError:
                return None
            return (low, high) if low < high else None
    return None


def x_axes_of(relayout: dict) -> list[str]:
    """The x axes an event names ("xaxis", "xaxis2", ...), in panel order."""
    names = {key.split(".", 1)[0] for key in relayout if isinstance(key, str)}
    axes = [name for name in names if X_AXIS.fullmatch(name)]
    return sorted(axes, key=lambda name: int(name[5:] or 1))


def read_view(store) -> ViewState:
    """The view from the `view` store; a tampered or missing store is just an empty view."""
    query = store.get("query") if isinstance(store, dict) else None
    return parse_query(query if isinstance(query, str) else "")


def update_chart(store, theme):
    """Draw the view: the chart with its notes' markers, the notices, the notes' notice and
    the Notes CSV button's state."""
    if not isinstance(store, dict):  # not resolved yet
        return {"figure": no_update, "notices": no_update, "shown": no_update,
                "notes_notice": no_update, "notes_off": no_update}
    view = read_view(store)
    series = chart_series(view, lookback_start(view), view.end)
    notes = shown_notes(view, view.start, view.end)
    shown_from = first_shown(view)
    notices = stored_notices(store)
    missing = [t for t in view.tickers
               if t not in series or (shown_from and series[t].time[-1] < shown_from)]
    if view.tickers and missing:
        notices.append(f"No prices in this date range for: {', '.join(missing)}.")
    if view.normalize and view.log_scale:
        notices.append("Log scale is not used with % change (it can be negative).")
    notices += compare_notices(view, series, shown_from)
    figure = build_figure(series, view, theme_name(theme), shown_from, notes.notes)
    return {"figure": figure, "notices": notice_alerts(notices), "shown": None,
            **notes_state(notes)}


def shown_notes(view: ViewState, start, end) -> ChartNotes:
    """The notes a chart of `view` shows from `start` to `end`: none when `notes=0`, else the
    newest MAX_NOTE_MARKERS on its tickers (one bounded query)."""
    if not view.notes:
        return ChartNotes()
    return chart_notes(view.tickers, start, end, MAX_NOTE_MARKERS)


def notes_state(notes: ChartNotes) -> dict:
    """The values of `notes_outputs` for the notes drawn."""
    return {"notes_notice": notice_alerts([MORE_NOTES]) if notes.more else [],
            "notes_off": not notes.notes}


def stored_notices(store: dict) -> list[str]:
    """The notices of the view store; a forged store's are kept only if they are text, and
    made sendable (a lone surrogate, which no JSON encoder writes, becomes "?")."""
    notices = store.get("notices")
    if not isinstance(notices, list):
        return []
    return [sendable(notice) for notice in notices if isinstance(notice, str)]


def sendable(text: str) -> str:
    """`text` as valid Unicode: what JSON parsing let through but UTF-8 cannot encode (a lone
    surrogate) is replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")


def update_summary(store):
    """The summary figures of each ticker over the view's range."""
    if not isinstance(store, dict):
        return no_update
    view = read_view(store)
    return summary_rows(summary(view.tickers, view.start, view.end))


def read_tickers(view: ViewState) -> tuple[str, ...]:
    """The tickers whose bars a chart of `view` reads: those shown, and the benchmark."""
    if view.compare is None or view.compare in view.tickers:
        return view.tickers
    return (*view.tickers, view.compare)


def points_per_ticker(view: ViewState) -> int:
    """The buckets each series of a chart of `view` may have: at most MAX_POINTS, and all of
    them together at most POINTS_PER_CHART, so that a chart of ten tickers costs about what a
    chart of three does."""
    return min(MAX_POINTS, POINTS_PER_CHART // max(1, len(read_tickers(view))))


def chart_series(view: ViewState, start, end) -> dict[str, PriceSeries]:
    """The bars a chart of `view` shows between `start` and `end` (the CSV uses the same), and
    those of its benchmark (`compare=`), which the CSV has then as well: what the comparison
    is computed from. One query for all, so that the benchmark's bars are bucketed as the
    others' and fall on the same times."""
    return price_series(read_tickers(view), start, end, max_points=points_per_ticker(view))


def compare_notices(view: ViewState, series: dict[str, PriceSeries], shown_from) -> list[str]:
    """What the user should know about the comparison: a benchmark without prices in the
    range is ignored, a benchmark that is also shown is a flat line at 0%, and the scale is
    linear."""
    if view.compare is None:
        return []
    benchmark = series.get(view.compare)
    if benchmark is None or (shown_from and benchmark.time[-1] < shown_from):
        return [f"No prices of the benchmark {view.compare} in this date range: the chart is "
                "not compared."]
    notices = []
    if view.compare in view.tickers:
        notices.append(f"{view.compare} is the benchmark: its line is 0% by definition.")
    if view.log_scale:
        notices.append("Log scale is not used with a comparison (it can be negative).")
    return notices


def first_shown(view: ViewState) -> datetime | None:
    """The first instant the chart shows (bars before it only feed moving averages)."""
    return datetime.combine(view.start, datetime.min.time()) if view.start else None


def warm_up_bars(view: ViewState) -> int:
    """How many bars before the first one shown the moving averages and indicators of `view`
    need to be complete on it (see dashapp.indicators.WARM_UP_BARS for the exponential ones)."""
    return max([*view.moving_averages, *(WARM_UP_BARS[name] for name in view.indicators)],
               default=0)


def lookback_start(view: ViewState) -> date | None:
    """Where to start reading so that the moving averages and indicators are complete on the
    first bar shown: warm_up_bars bars before the start, counted generously in calendar days.

    A bar is a trading day (7/5 calendar days) unless the range is long enough to be read in
    wider buckets: then the bucket width price_series will pick for the range shown (known
    when the view has an end; without one it is taken to be daily).
    """
    bars = warm_up_bars(view)
    if not bars or view.start is None:
        return view.start
    bar_days = 7 / 5
    if view.end is not None:
        span = view.end - view.start + timedelta(days=1)
        bar_days = max(bar_days, bucket_width(span, points_per_ticker(view)) / timedelta(days=1))
    lookback = timedelta(days=math.ceil(bars * bar_days) + 10)
    return view.start - min(lookback, view.start - date.min)  # never before the first date


def zoom_chart(relayout, store, theme):
    """After a zoom, re-query the visible range so that finer buckets appear; after a reset,
    draw the whole view again. Other relayout events (pan mode, autosize) change nothing."""
    zoom = visible_range(relayout)
    if zoom is None or not isinstance(store, dict):
        return {"figure": no_update, "shown": no_update, "notes_notice": no_update,
                "notes_off": no_update}
    view = read_view(store)
    if zoom is True:
        series = chart_series(view, lookback_start(view), view.end)
        notes = shown_notes(view, view.start, view.end)
        figure = build_figure(series, view, theme_name(theme), first_shown(view), notes.notes)
        return {"figure": figure, "shown": None, **notes_state(notes)}
    series = chart_series(view, zoom[0], zoom[1])
    notes = shown_notes(view, zoom[0], zoom[1])
    return {"figure": build_figure(series, view, theme_name(theme), notes=notes.notes),
            "shown": [zoom[0].isoformat(), zoom[1].isoformat()], **notes_state(notes)}


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
    rows = [summary_row(row) for row in rows] if isinstance(rows, list) else []
    rows = [row for row in rows if row is not None]
    sort = sort if isinstance(sort, dict) else {}
    column = sort.get("column") if is_summary_column(sort.get("column")) else "ticker"
    descending = bool(sort.get("descending"))
    present = [row for row in rows if row.get(column) is not None]
    missing = [row for row in rows if row.get(column) is None]
    present.sort(key=lambda row: row[column], reverse=descending)
    return summary_table(present + missing, {"column": column, "descending": descending})


def summary_row(row) -> dict | None:
    """A row of the summary store as `update_summary` writes it (a ticker symbol, and a number
    or None in every other column), or None for anything else: the store can be forged."""
    if not isinstance(row, dict) or not is_ticker(row.get("ticker")):
        return None
    figures = {key: row.get(key) for key, _ in SUMMARY_COLUMNS if key != "ticker"}
    if not all(value is None or is_figure(value) for value in figures.values()):
        return None
    return {"ticker": row["ticker"], **figures}


def is_figure(value) -> bool:
    """Whether `value` is a number the table can format: finite, and within a float's range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def is_summary_column(column) -> bool:
    """Whether `column` names a column of the summary (a forged id or store may hold anything,
    lists and objects included)."""
    return isinstance(column, str) and column in SUMMARY_COLUMN_IDS


def change_sort(clicks, sort):
    """A click on a heading sorts by that column; a second click reverses the order."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks or []):
        return no_update  # the headings were just drawn, nobody clicked
    column = trigger.get("column")
    if not is_summary_column(column):
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


def shown_range(view: ViewState, shown) -> tuple:
    """The range the chart shows: the zoomed one in the `shown` store, else the view's."""
    start, end = view.start, view.end
    if isinstance(shown, list) and len(shown) == 2:
        with contextlib.suppress(ValueError):  # a tampered store falls back to the view's range
            start, end = (datetime.fromisoformat(str(value)) for value in shown)
    return start, end


def download_csv(clicks, store, shown):
    """The bars the chart shows (the zoomed range, if any), as CSV."""
    view = read_view(store)
    start, end = shown_range(view, shown)
    series = chart_series(view, start, end)
    name = "-".join(view.tickers) or "prices"
    return dcc.send_string(series_csv(series), f"stockdash-{name}.csv", type="text/csv")


def download_notes(clicks, store, shown):
    """The notes the chart shows (the zoomed range, if any), as CSV; nothing when it shows
    none (the button is off then, but a request can be sent anyway)."""
    view = read_view(store)
    notes = shown_notes(view, *shown_range(view, shown))
    if not notes.notes:
        return no_update
    name = "-".join(view.tickers)
    return dcc.send_string(notes_csv(notes.notes), f"stockdash-notes-{name}.csv",
                           type="text/csv")
