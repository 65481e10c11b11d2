"""The dashboard's layout: controls, chart and summary (the navbar is the site's, drawn around it
by dashapp.page). Component ids come from dashapp.ids."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from app.prices.queries import TickerInfo
from dashapp import ids
from dashapp.urlstate import CHART_TYPES, MOVING_AVERAGE_CHOICES

QUICK_RANGES = ("1M", "6M", "YTD", "1Y", "5Y", "All")
CHART_LABELS = {"line": "Line", "candlestick": "Candlestick", "ohlc": "OHLC"}
INDICATOR_LABELS = {"rsi": "RSI 14", "macd": "MACD 12/26/9", "bollinger": "Bollinger 20/2"}
# (column id, heading); every column but the ticker is numeric.
SUMMARY_COLUMNS = (
    ("ticker", "Ticker"),
    ("last_close", "Last close"),
    ("period_return", "Return %"),
    ("volatility", "Volatility % (ann.)"),
    ("max_drawdown", "Max drawdown %"),
    ("average_volume", "Avg. volume"),
)
SUMMARY_SORT_DEFAULT = {"column": "ticker", "descending": False}


def ticker_option(info: TickerInfo) -> dict:
    """A dropdown option: the symbol, then name and industry so that search finds either."""
    details = " · ".join(part for part in (info.name, info.industry) if part)
    return {"label": f"{info.ticker} · {details}" if details else info.ticker,
            "value": info.ticker}


def controls() -> dbc.Card:
    """The panel of controls; every one of them is mirrored in the URL."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        dbc.Label("Tickers", html_for=ids.TICKERS, className="mb-0"),
                        # Its label and state come with the view (callbacks.star_state).
                        html.Button("☆ Watch", id=ids.STAR, n_clicks=0, disabled=True,
                                    className="btn btn-sm btn-outline-warning",
                                    title="Add the tickers shown to your watchlist",
                                    **{"aria-pressed": "false"}),
                    ],
                    className="d-flex justify-content-between align-items-center mb-2",
                ),
                # Options come with the first callback: the layout itself never queries, since
                # Dash also builds it for validation on whatever request comes first.
                dcc.Dropdown(id=ids.TICKERS, options=[], multi=True,
                             searchable=True, placeholder="Search by symbol, name or industry"),
                dbc.Label("Dates", className="mt-3 d-block"),
                dcc.DatePickerRange(id=ids.DATES, display_format="YYYY-MM-DD",
                                    start_date_placeholder_text="first",
                                    end_date_placeholder_text="last", clearable=True),
                dbc.ButtonGroup(
                    [
                        dbc.Button(name, id=ids.quick_range(name),
                                   color="secondary", outline=True, size="sm")
                        for name in QUICK_RANGES
                    ],
                    className="mt-2 w-100",
                ),
                dbc.Label("Chart", className="mt-3 d-block"),
                dbc.RadioItems(
                    id=ids.CHART_TYPE,
                    options=[{"label": CHART_LABELS[c], "value": c} for c in CHART_TYPES],
                    value="line",
                    inline=True,
                ),
                dbc.Checklist(
                    id=ids.OPTIONS,
                    options=[
                        {"label": "% change from first day", "value": "normalize"},
                        {"label": "Log scale", "value": "log"},
                        {"label": "Volume panel", "value": "volume"},
                        {"label": "Notes", "value": "notes"},
                    ],
                    value=["volume", "notes"],
                    switch=True,
                    className="mt-3",
                ),
                dbc.Label("Moving averages (days)", className="mt-3 d-block"),
                dbc.Checklist(
                    id=ids.MOVING_AVERAGES,
                    options=[{"label": str(n), "value": n} for n in MOVING_AVERAGE_CHOICES],
                    value=[],
                    inline=True,
                ),
                dbc.Label("Indicators", className="mt-3 d-block"),
                dbc.Checklist(
                    id=ids.INDICATORS,
                    options=[{"label": label, "value": name}
                             for name, label in INDICATOR_LABELS.items()],
                    value=[],
                    inline=True,
                ),
                dbc.Label("Compare with", html_for=ids.COMPARE, className="mt-3 d-block"),
                # Its options come with the ticker dropdown's (callbacks.sync_view).
                dcc.Dropdown(id=ids.COMPARE, options=[], multi=False, searchable=True,
                             clearable=True, placeholder="No benchmark"),
            ]
        ),
        className="mb-3",
    )


def serve_layout() -> html.Div:
    """The whole page."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            # "callback-nav": a URL written here is announced to the Location above.
            dcc.Location(id=ids.URL_PUSH, refresh="callback-nav"),
            dcc.Store(id=ids.VIEW),
            dcc.Store(id=ids.ZOOM_BASE),
            dcc.Store(id=ids.THEME),
            dcc.Download(id=ids.DOWNLOAD),
            dcc.Download(id=ids.NOTES_DOWNLOAD),
            dbc.Container(
                [
                    # The notes' notice has a place of its own, so that a zoom can change it
                    # without bringing back the view's notices the user dismissed.
                    html.Div([html.Div(id=ids.NOTICES), html.Div(id=ids.NOTES_NOTICE)]),
                    dbc.Row(
                        [
                            dbc.Col(controls(), lg=3),
                            dbc.Col(
                                [
                                    dcc.Loading(
                                        dcc.Graph(
                                            id=ids.PRICE_CHART,
                                            # Empty until the first chart arrives.
                                            figure={"data": [], "layout": {}},
                                            config={"displaylogo": False, "responsive": True},
                                            # The figure fills this height (its layout sets
                                            # none): a figure taller than its box would cover
                                            # the summary's heading and buttons.
                                            style={"height": "620px"},
                                        ),
                                        type="default",
                                    ),
                                    # Its line is there before its text arrives: a line appearing
                                    # would push the summary down under a click aimed at it.
                                    html.Small("\u00a0", id=ids.FRESHNESS,
                                               className="text-muted d-block"),
                                    html.Div(
                                        [
                                            html.H2("Summary", className="h5 mb-0"),
                                            html.Div(
                                                [
                                                    # Off until the chart has bars to save.
                                                    dbc.Button("Download CSV",
                                                               id=ids.DOWNLOAD_BUTTON, size="sm",
                                                               color="secondary", outline=True,
                                                               disabled=True),
                                                    dbc.Button("Notes CSV",
                                                               id=ids.NOTES_DOWNLOAD_BUTTON,
                                                               size="sm", color="secondary",
                                                               outline=True, disabled=True,
                                                               title="The notes on the chart"),
                                                ],
                                                className="d-flex gap-2",
                                            ),
                                        ],
                                        className="d-flex justify-content-between "
                                        "align-items-center mt-3 mb-2",
                                    ),
                                    dcc.Store(id=ids.SUMMARY_DATA, data=[]),
                                    dcc.Store(id=ids.SUMMARY_SORT, data=SUMMARY_SORT_DEFAULT),
                                    # Empty until the view's summary arrives (its callback is
                                    # not called at load).
                                    dcc.Loading(
                                        html.Div(summary_table([], SUMMARY_SORT_DEFAULT),
                                                 id=ids.SUMMARY_TABLE),
                                        type="default",
                                    ),
                                ],
                                lg=9,
                            ),
                        ]
                    ),
                ],
                fluid=True,
            ),
        ]
    )


def summary_table(rows: list[dict], sort: dict) -> dbc.Table:
    """The summary as a table whose headings sort it (click again to reverse)."""
    column, descending = sort.get("column", "ticker"), bool(sort.get("descending"))
    head = []
    for key, heading in SUMMARY_COLUMNS:
        arrow = (" ▼" if descending else " ▲") if key == column else ""
        head.append(
            html.Th(
                html.Button(heading + arrow, id=ids.sort_heading(key),
                            className="btn btn-link btn-sm p-0 text-reset fw-bold",
                            n_clicks=0),
                className="text-end" if key != "ticker" else "",
                **{"aria-sort": ("descending" if descending else "ascending")
                   if key == column else "none"},
            )
        )
    body = [
        html.Tr([
            html.Td(format_cell(key, row.get(key)), className="text-end" if key != "ticker" else "")
            for key, _ in SUMMARY_COLUMNS
        ])
        for row in rows
    ]
    return dbc.Table([html.Thead(html.Tr(head)), html.Tbody(body)], hover=True, size="sm",
                     responsive=True, id=ids.SUMMARY)


def format_cell(key: str, value) -> str:
    """A table cell: thousands separators, two decimals, a dash for a missing figure."""
    if value is None:
        return "\u2013"  # an en dash
    if key == "ticker":
        return str(value)
    if key == "average_volume":
        return f"{value:,.0f}"
    return f"{value:,.2f}"
