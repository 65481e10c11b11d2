"""Dash callbacks, registered on the app instance (never the global `dash.callback`).

They read prices only through `app.prices.queries`, the watchlist through `app.tickers` and the
notes drawn on the chart through `app.notes.markers`; they never build SQL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

import dash
import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, no_update
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
from dashapp.figures import build_figure, has_bars, series_csv, summary_rows
from dashapp.indicators import WARM_UP_BARS
from dashapp.layout import QUICK_RANGES, SUMMARY_COLUMNS, summary_table, ticker_option
from dashapp.note_markers import notes_csv
from dashapp.urlstate import (
    DEFAULT_TICKERS,
    MAX_TICKERS,
    ViewState,
    controls_for,
    parse_query,
    read_date,
    serialise,
    view_from_controls,
    write_date,
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
    # The URL is written through a Location of its own (URL_PUSH), not the one read (URL):
    # Dash holds back every callback whose input another callback of the same batch writes,
    # so were the URL read and written by the same property, the chart, which reads it, would
    # wait at load for this callback's answer, a round trip more. URL_PUSH announces each new
    # URL to URL, which passes it to this callback and the chart together.
    dash_app.callback(
        output=dict(
            search=Output(ids.URL_PUSH, "search"),
            controls=controls_as(Output),
            options=Output(ids.TICKERS, "options"),
            # In the same answer as the benchmark itself: a dropdown drops a value that none
            # of its options has.
            compare_options=Output(ids.COMPARE, "options"),
            options_version=Output(ids.TICKER_OPTIONS_VERSION, "data"),
            view=Output(ids.VIEW, "data"),
        ),
        inputs=dict(
            search=Input(ids.URL, "search"),
            controls=controls_as(Input),
            quick_clicks=Input(ids.quick_range(ALL), "n_clicks"),
            shown_version=State(ids.TICKER_OPTIONS_VERSION, "data"),
        ),
    )(sync_view)
    # The chart reads the URL itself rather than the view store, so that on the first load
    # (and on back/forward) it is drawn in one round trip, beside `sync_view` instead of after
    # it. A control's change reaches it through the URL that `sync_view` writes. The theme is
    # an input, not a state: at load Dash then waits for `readTheme` (in the browser, at once)
    # before asking for the chart, which is drawn in the right theme from the start; a switch
    # later draws it again (a Patch of the template alone could be overtaken by a figure
    # asked for before the switch, and undone).
    dash_app.callback(
        output=dict(
            figure=Output(ids.PRICE_CHART, "figure"),
            notices=Output(ids.NOTICES, "children"),
            csv_off=Output(ids.DOWNLOAD_BUTTON, "disabled"),
            **notes_outputs(),
        ),
        inputs=dict(search=Input(ids.URL, "search"), theme=Input(ids.THEME, "data")),
    )(update_chart)
    # The summary is a callback of its own so that the chart never waits for it.
    dash_app.callback(
        Output(ids.SUMMARY_DATA, "data"),
        inputs=dict(store=Input(ids.VIEW, "data")),
        prevent_initial_call=True,
    )(update_summary)
    # A zoom changes the view's dates through the URL (a history entry, so Back undoes it),
    # and from there the date picker, the chart, the summary and the CSV follow, as after any
    # other change of range. It is a callback of its own: were it part of `sync_view`, the
    # relayout event of the first draw (autosize) would supersede the request that resolves
    # the URL, and Dash would drop that answer.
    dash_app.callback(
        output=dict(
            search=Output(ids.URL_PUSH, "search", allow_duplicate=True),
            base=Output(ids.ZOOM_BASE, "data"),
        ),
        inputs=dict(
            relayout=Input(ids.PRICE_CHART, "relayoutData"),
            store=State(ids.VIEW, "data"),
            base=State(ids.ZOOM_BASE, "data"),
        ),
        prevent_initial_call=True,
    )(zoom_view)
    # Not called at load: the layout holds the empty table, and the first load's requests are
    # the ones that draw the chart.
    dash_app.callback(
        Output(ids.SUMMARY_TABLE, "children"),
        inputs=dict(rows=Input(ids.SUMMARY_DATA, "data"), sort=Input(ids.SUMMARY_SORT, "data")),
        prevent_initial_call=True,
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
        inputs=dict(clicks=Input(ids.DOWNLOAD_BUTTON, "n_clicks"), store=State(ids.VIEW, "data")),
        prevent_initial_call=True,
    )(download_csv)
    dash_app.callback(
        Output(ids.NOTES_DOWNLOAD, "data"),
        inputs=dict(
            clicks=Input(ids.NOTES_DOWNLOAD_BUTTON, "n_clicks"), store=State(ids.VIEW, "data")
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


def sync_view(search, controls, quick_clicks, shown_version=None):
    """Keep the URL and the controls in step, both ways, and publish the resolved view.

    A change of URL (first load, a pasted link, back/forward, and every URL written here or
    by a zoom) sets the controls and the `view` store, and the ticker options when the page
    does not hold these ones yet (`shown_version`, their digest); a change of a control writes
    the URL (a new history entry), which comes back here as a change of URL.
    """
    infos = list_tickers()
    trigger = ctx.triggered_id
    if trigger in (None, ids.URL):
        view = resolve_view(parse_query(search), infos, users_watchlist)
        options = [ticker_option(info) for info in infos]
        version = options_digest(options)
        if version == shown_version:  # each control change comes back here
            options = version = no_update
        return {"search": no_update, "controls": controls_for(view), "options": options,
                "compare_options": options, "options_version": version,
                "view": view_store(view)}
    view = view_from_controls(controls)
    if isinstance(trigger, dict) and trigger.get("range") in QUICK_RANGES:
        first, last = quick_range(trigger["range"], view.tickers, infos)
        view = replace(view, start=first, end=last)
    view = resolve_view(view, infos, users_watchlist)
    return {"search": serialise(view), "controls": controls_for(view), "options": no_update,
            "compare_options": no_update, "options_version": no_update, "view": no_update}


def options_digest(options: list[dict]) -> str:
    """A short digest of the ticker options: equal digests, equal options."""
    encoded = json.dumps(options, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.blake2b(encoded, digest_size=12).hexdigest()


def view_store(view: ViewState) -> dict:
    """What the callbacks that follow the view need: its canonical query."""
    return {"query": serialise(view)}


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


def update_chart(search, theme):
    """Draw the view in the URL: the chart with its notes' markers, the notices, whether the
    CSV buttons are off (nothing to download), and the notes' notice."""
    view = resolve_view(parse_query(search), list_tickers(), users_watchlist)
    series = chart_series(view, lookback_start(view), view.end)
    notes = shown_notes(view, view.start, view.end)
    shown_from = first_shown(view)
    notices = [sendable(notice) for notice in view.notices]
    missing = [t for t in view.tickers
               if t not in series or (shown_from and series[t].time[-1] < shown_from)]
    if view.tickers and missing:
        notices.append(f"No prices in this date range for: {', '.join(missing)}.")
    if view.normalize and view.log_scale:
        notices.append("Log scale is not used with % change (it can be negative).")
    notices += compare_notices(view, series, shown_from)
    figure = build_figure(series, view, theme_name(theme), shown_from, notes.notes)
    return {"figure": figure, "notices": notice_alerts(notices),
            "csv_off": not has_bars(shown_tickers_of(view, series), shown_from),
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


def sendable(text: str) -> str:
    """`text` as valid Unicode: what JSON parsing let through but UTF-8 cannot encode (a lone
    surrogate, which a forged URL can carry into a notice) is replaced."""
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


def shown_tickers_of(view: ViewState, series: dict[str, PriceSeries]) -> dict[str, PriceSeries]:
    """The series of the tickers `view` shows, without a benchmark that is not one of them:
    with no bar of its own the chart is empty, and so is its CSV."""
    return {ticker: bars for ticker, bars in series.items() if ticker in view.tickers}


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


def zoom_days(zoom: tuple[datetime, datetime]) -> tuple[date, date]:
    """The days a zoom's x range covers: from the day it starts in to the day it ends in.

    The range of a view is in whole days (the URL's and the date picker's), so a zoom is
    widened to them: a daily bar is drawn at midnight, so the day the zoom starts in holds a
    bar just left of it, and the day it ends in one inside it. A zoom within a day of intraday
    bars is that whole day.
    """
    low, high = zoom
    return low.date(), high.date()


def zoom_view(relayout, store, base):
    """A zoom sets the view's dates to the days zoomed to; resetting the zoom (autorange,
    e.g. a double click) brings back the dates from before the first of a run of zooms.

    `base` remembers those dates together with the days the last zoom set: it is only used
    while the view still shows those days, so after any other change of range (a control,
    back or forward) a reset changes nothing, and Plotly just fits the chart to its data.
    A zoom that stays within the days shown already (inside one day of intraday bars) changes
    nothing either: the chart has every bar of those days, and Plotly's zoom shows them.
    Other relayout events (autosize, pan mode, a y-only zoom) change nothing.
    """
    unchanged = {"search": no_update, "base": no_update}
    zoom = visible_range(relayout)
    if zoom is None or not isinstance(store, dict):
        return unchanged
    view = read_view(store)
    shown = [write_date(view.start), write_date(view.end)]
    in_zoom = isinstance(base, dict) and base.get("zoomed") == shown
    if zoom is True:
        if not in_zoom:
            return unchanged
        # Read as a URL's dates are: the store can be forged.
        start, end = (read_date(base[key], key, []) if isinstance(base.get(key), str) else None
                      for key in ("start", "end"))
        return {"search": serialise(replace(view, start=start, end=end)), "base": None}
    start, end = zoom_days(zoom)
    zoomed = replace(view, start=start, end=end)
    if zoomed == view:
        return unchanged
    before = (base.get("start"), base.get("end")) if in_zoom else shown
    return {"search": serialise(zoomed),
            "base": {"start": before[0], "end": before[1],
                     "zoomed": [write_date(start), write_date(end)]}}


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


def download_csv(clicks, store):
    """The bars the chart shows, as CSV; nothing when there are none (the button is off then,
    but a request can be sent anyway)."""
    view = read_view(store)
    series = chart_series(view, view.start, view.end)
    if not has_bars(shown_tickers_of(view, series)):
        return no_update
    name = "-".join(view.tickers) or "prices"
    return dcc.send_string(series_csv(series), f"stockdash-{name}.csv", type="text/csv")


def download_notes(clicks, store):
    """The notes the chart shows, as CSV; nothing when it shows none (the button is off then,
    but a request can be sent anyway)."""
    view = read_view(store)
    notes = shown_notes(view, view.start, view.end)
    if not notes.notes:
        return no_update
    name = "-".join(view.tickers)
    return dcc.send_string(notes_csv(notes.notes), f"stockdash-notes-{name}.csv",
                           type="text/csv")
