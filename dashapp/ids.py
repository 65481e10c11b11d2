"""Every Dash component id of the dashboard, named once.

The layout builds components with these ids and the callbacks listen to them, so a rename is one
line here. Tests and benchmarks that talk to callbacks over HTTP name the same strings.
"""

from __future__ import annotations

from dash.dependencies import Wildcard

# Page state, not drawn.
URL = "url"  # dcc.Location: the query string is the view (see dashapp.urlstate)
URL_PUSH = "url-push"  # a dcc.Location that only writes URLs (see callbacks.register_callbacks)
VIEW = "view"  # the resolved view: {"query": canonical query string, "notices": [...]}
# The dates shown before a run of zooms, so that resetting the zoom brings them back:
# {"start": ..., "end": ..., "zoomed": [the last zoom's start, end]}, or None.
ZOOM_BASE = "zoom-base"
# A digest of the ticker options the page holds, so that a new URL resends them only when
# they changed (an import): for 505 tickers with names and industries, both menus are 130 kB.
TICKER_OPTIONS_VERSION = "ticker-options-version"
THEME = "theme"  # "light" or "dark", set from the navbar's switch (static/js/theme.js)
DOWNLOAD = "download"
NOTES_DOWNLOAD = "notes-csv"  # the notes shown, as CSV
SUMMARY_DATA = "summary-data"  # the summary rows as the query layer gives them
SUMMARY_SORT = "summary-sort"  # {"column": ..., "descending": ...}

# Page structure: no callback uses them, Bootstrap's script and stockdash.css do.
CONTROLS_PANEL = "controls-panel"  # the side column, or on a small screen a panel sliding in
CONTROLS_TITLE = "controls-title"  # its heading, shown when it slides in
CONTROLS_TOGGLE = "controls-toggle"  # unfolds it on a small screen

# Controls.
TICKERS = "tickers"
STAR = "watch-star"  # adds the shown tickers to the watchlist, or removes them
DATES = "dates"
CHART_TYPE = "chart-type"
OPTIONS = "options"
MOVING_AVERAGES = "moving-averages"
INDICATORS = "indicators"  # RSI, MACD and Bollinger bands
COMPARE = "compare"  # the benchmark every ticker is compared with, or none
QUICK_RANGE = "quick-range"  # the `type` of each quick-range button's id
DOWNLOAD_BUTTON = "download-button"
NOTES_DOWNLOAD_BUTTON = "notes-csv-button"  # disabled while the chart shows no notes

# Output.
NOTICES = "notices"
NOTES_NOTICE = "notes-notice"  # beside NOTICES: says when a range has more notes than drawn
FRESHNESS = "freshness"  # "Prices up to <date>"
PRICE_CHART = "price-chart"
SUMMARY_TABLE = "summary-table"
SUMMARY = "summary"  # the table inside SUMMARY_TABLE
SORT = "sort"  # the `type` of each summary heading's id


def quick_range(name: str | Wildcard) -> dict:
    """The id of the quick-range button `name` (ALL: every one of them)."""
    return {"type": QUICK_RANGE, "range": name}


def sort_heading(column: str | Wildcard) -> dict:
    """The id of the summary heading that sorts by `column` (ALL: every one of them)."""
    return {"type": SORT, "column": column}
