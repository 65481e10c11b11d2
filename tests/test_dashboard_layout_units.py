"""The dashboard's layout pieces on their own: ticker options, the chart's toolbar config, the
phone-sized summary and the figure templates."""

from __future__ import annotations

from datetime import datetime

import pytest
from dash import html

from app.prices.queries import TickerInfo
from dashapp import ids
from dashapp.figures import template
from dashapp.layout import GRAPH_CONFIG, compact_number, serve_layout, summary_table, ticker_option

FIRST, LAST = datetime(2013, 2, 8), datetime(2018, 2, 7)


def test_a_ticker_option_shows_the_symbol_and_searches_name_and_industry():
    option = ticker_option(TickerInfo("AAPL", "Apple Inc.", "Information Technology", FIRST, LAST))
    assert option == {"label": "AAPL", "value": "AAPL",
                      "title": "Apple Inc. · Information Technology",
                      "search": "Apple Inc. · Information Technology"}
    assert ticker_option(TickerInfo("XYZ", None, None, FIRST, LAST)) == {
        "label": "XYZ", "value": "XYZ"}
    assert ticker_option(TickerInfo("XYZ", None, "Energy", FIRST, LAST))["search"] == "Energy"


def test_the_toolbar_has_no_button_that_sends_the_chart_away():
    assert GRAPH_CONFIG["showSendToCloud"] is False
    assert GRAPH_CONFIG["plotlyServerURL"] == ""
    assert GRAPH_CONFIG["showEditInChartStudio"] is False
    assert GRAPH_CONFIG["showLink"] is False


def find(component, wanted):
    """Every component under `component` (itself included) for which `wanted` holds."""
    found = [component] if wanted(component) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found += find(child, wanted)
    return found


def test_the_page_has_the_graph_with_that_config_and_the_controls_in_their_panel():
    page = serve_layout()
    (graph,) = find(page, lambda c: getattr(c, "id", None) == ids.PRICE_CHART)
    assert graph.config is GRAPH_CONFIG
    (panel,) = find(page, lambda c: getattr(c, "id", None) == ids.CONTROLS_PANEL)
    assert "offcanvas-lg" in panel.className
    assert find(panel, lambda c: getattr(c, "id", None) == ids.TICKERS)
    (toggle,) = find(page, lambda c: getattr(c, "id", None) == ids.CONTROLS_TOGGLE)
    assert getattr(toggle, "data-bs-target") == "#" + ids.CONTROLS_PANEL


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (999, "999"), (1000, "1.00K"), (9999, "10.0K"), (123_456, "123K"),
    (999_999, "1.00M"), (31_234_567, "31.2M"), (1.2e9, "1.20B"), (-2e6, "-2.00M"),
])
def test_compact_numbers(value, text):
    assert compact_number(value) == text


def test_on_a_phone_the_summary_abbreviates_headings_and_volumes():
    row = {"ticker": "AAPL", "last_close": 115.82, "period_return": 9.94, "volatility": 23.42,
           "max_drawdown": -19.41, "average_volume": 38_412_345}
    table = summary_table([row], {"column": "ticker", "descending": False})
    short = find(table, lambda c: isinstance(c, html.Abbr))
    assert [(a.children, a.title) for a in short] == [
        ("Close", "Last close"), ("Ret. %", "Return %"), ("Volat. %", "Volatility % (ann.)"),
        ("Max DD %", "Max drawdown %"), ("Avg. vol.", "Avg. volume"), ("38.4M", "38,412,345")]
    assert all(a.className == "d-sm-none" for a in short)
    full = find(table, lambda c: isinstance(c, html.Span) and c.className == "d-none d-sm-inline")
    assert len(full) == len(short)
    missing = summary_table([{**row, "average_volume": None}], {})
    assert len(find(missing, lambda c: isinstance(c, html.Abbr))) == 5  # a missing volume is not


def test_the_dark_template_keeps_its_gridlines_visible_on_the_page():
    dark = template("dark")["layout"]
    assert dark["xaxis"]["gridcolor"] == dark["yaxis"]["gridcolor"] == "#3b4148"
    assert template("unknown") is template("light")
