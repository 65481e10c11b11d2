"""The query-string format of /dash/ (dashapp.urlstate): one table of fields behind parsing,
writing and the controls, and the one ticker rule (app.prices.tickers) in `?tickers=`."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given

from dashapp.callbacks import CONTROLS
from dashapp.urlstate import (
    CONTROL_NAMES,
    FIELDS,
    ViewState,
    controls_for,
    parse_query,
    serialise,
    view_from_controls,
)
from tests.test_dashboard_units import views


@pytest.mark.parametrize(
    ("query", "tickers"),
    [
        ("tickers=^GSPC,BRK.B,BRK-B", ("^GSPC", "BRK.B", "BRK-B")),
        ("tickers=%5Egspc,brk.b", ("^GSPC", "BRK.B")),  # as a browser encodes it; any case
        ("tickers=ES%3DF", ("ES=F",)),
        # A comma always separates: `C,M` is two tickers, which is why the rule refuses commas.
        ("tickers=C,M", ("C", "M")),
        ("tickers=C%2CM", ("C", "M")),
    ],
)
def test_symbols_of_the_ticker_rule_work_in_the_url(query, tickers):
    view = parse_query(query)
    assert view.tickers == tickers
    assert view.notices == ()


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("tickers=BRK/B", "Ignored ticker 'BRK/B': not a ticker symbol: a slash is not allowed"),
        ("tickers=%C3%84PPL", "Ignored ticker 'ÄPPL': not a ticker symbol: only ASCII"),
        ("tickers=A%20B", "Ignored ticker 'A B': not a ticker symbol: blanks are not allowed"),
        ("tickers=A%00B", r"Ignored ticker 'A\x00B': not a ticker symbol: it contains control"),
        ("tickers=%3Cscript%3E", "Ignored ticker '<script>': not a ticker symbol: use letters"),
        ("tickers=" + "A" * 17, f"Ignored ticker {'A' * 17!r}: ticker longer than 16"),
    ],
)
def test_garbage_gets_the_rules_reason(query, reason):
    view = parse_query(query + ",AAPL")
    assert view.tickers == ("AAPL",)
    assert any(reason in notice for notice in view.notices), view.notices


def test_index_symbols_are_written_encoded_and_read_back():
    view = ViewState(tickers=("^GSPC", "BRK.B", "ES=F"))
    assert serialise(view).startswith("?tickers=%5EGSPC,BRK.B,ES%3DF&chart=line")
    assert parse_query(serialise(view)) == view


def test_every_field_is_shown_by_a_control_the_callbacks_know():
    assert set(CONTROL_NAMES) == set(CONTROLS)
    assert len({f.name for f in FIELDS}) == len(FIELDS)


def test_controls_show_the_spec_view():
    view = parse_query("?tickers=AAPL,MSFT&start=2016-01-01&end=2017-12-31&chart=candlestick"
                       "&normalize=1&ma=20,50&log=1")
    assert controls_for(view) == {
        "tickers": ["AAPL", "MSFT"], "start": "2016-01-01", "end": "2017-12-31",
        "chart": "candlestick", "options": ["normalize", "log", "volume", "notes"],
        "averages": [20, 50], "indicators": [], "compare": None,
    }


@given(views)
def test_controls_of_a_view_read_back_as_that_view(view):
    assert view_from_controls(controls_for(view)) == view


def test_controls_are_read_like_a_url():
    view = view_from_controls({"tickers": ["aapl", "BRK/B"], "start": "2017-01-01",
                               "end": "2016-01-01", "chart": "pie", "options": ["log"],
                               "averages": [20, 7]})
    assert view == ViewState(tickers=("AAPL",), start=date(2016, 1, 1), end=date(2017, 1, 1),
                             log_scale=True, volume=False, notes=False, moving_averages=(20,))
    assert len(view.notices) == 4  # the slash, the swap, the chart and the average


def test_oversized_controls_are_refused_like_a_long_link():
    view = view_from_controls({"tickers": ["A"] * 5000})
    assert view.tickers == () and "too long" in view.notices[0]


def test_notes_are_shown_unless_notes_0():
    assert parse_query("?tickers=AAPL").notes is True
    assert parse_query("?tickers=AAPL&notes=1").notes is True
    hidden = parse_query("?tickers=AAPL&notes=0")
    assert hidden.notes is False and hidden.notices == ()
    assert serialise(hidden) == "?tickers=AAPL&chart=line&normalize=0&log=0&volume=1&notes=0"
    assert parse_query(serialise(hidden)) == hidden
    assert "notes" not in controls_for(hidden)["options"]
    assert "notes" in controls_for(parse_query(""))["options"]


@pytest.mark.parametrize("value", ["2", "maybe", "<script>", "1,0"])
def test_an_unknown_notes_value_is_dropped_with_a_notice(value):
    view = parse_query(f"?tickers=AAPL&notes={value}")
    assert view.notes is True  # the default
    assert view.notices == (f"Ignored notes={value!r}: use 1 or 0.",)
