"""Symbols with punctuation end to end: `flask prices import` -> dropdown -> URL -> chart -> CSV.

`^GSPC` (an index), `BRK.B` and `BRK-B` (share classes) are what the ticker rule
(app.prices.tickers) exists for: each must be stored, offered, linked, drawn and downloaded as
written. Runs on SQLite and PostgreSQL, through the real callbacks (tests/support/dash_client.py).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from dashapp import ids
from tests.support.apps import load_prices
from tests.support.dash_client import call, callback_key
from tests.test_dashboard_callbacks import sync

SYMBOLS = ("^GSPC", "BRK.B", "BRK-B")
DAYS = 20
FIRST_DAY = date(2016, 1, 4)


def trading_days(count: int = DAYS, first: date = FIRST_DAY) -> list[date]:
    """`count` weekdays from `first` on."""
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def write_symbol_prices(path, symbols=SYMBOLS) -> None:
    """A small CSV in the real file's layout: DAYS daily bars for each of `symbols`."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["date", "open", "high", "low", "close", "volume", "Name"])
        for offset, symbol in enumerate(symbols):
            for number, day in enumerate(trading_days()):
                close = 100 + 10 * offset + number
                writer.writerow([day.isoformat(), close - 1, close + 1, close - 2, close,
                                 1000 + number, symbol])


@pytest.fixture
def symbol_client(app, client, auth, user, tmp_path):
    """A logged-in client, with SYMBOLS imported through the real `flask prices import`."""
    path = tmp_path / "symbols.csv"
    write_symbol_prices(path)
    load_prices(app, path)
    auth.login()
    return client


def test_import_offers_the_symbols_in_the_dropdown(app, symbol_client):
    result = sync(app, symbol_client, "")
    assert [option["value"] for option in result[ids.TICKERS]["options"]] == sorted(SYMBOLS)


@pytest.mark.parametrize("search", ["?tickers=^GSPC,BRK.B,BRK-B", "?tickers=%5Egspc,brk.b,Brk-B"])
def test_a_link_with_the_symbols_selects_them(app, symbol_client, search):
    result = sync(app, symbol_client, search)
    assert result[ids.TICKERS]["value"] == list(SYMBOLS)
    chart = chart_of(app, symbol_client, search)
    assert "Ignored" not in str(chart[ids.NOTICES]["children"])


def test_choosing_them_in_the_dropdown_writes_a_link_that_reads_back(app, symbol_client):
    result = sync(app, symbol_client, "", controls={"tickers": list(SYMBOLS)},
                  changed=(ids.TICKERS, "value"))
    search = result[ids.URL_PUSH]["search"]
    assert search == "?tickers=%5EGSPC,BRK.B,BRK-B&chart=line&normalize=0&log=0&volume=1&notes=1"
    assert sync(app, symbol_client, search)[ids.TICKERS]["value"] == list(SYMBOLS)


def test_garbage_next_to_them_gets_the_rules_reason(app, symbol_client):
    query = "?tickers=^GSPC,BRK/B,%3Cb%3E"
    assert sync(app, symbol_client, query)[ids.TICKERS]["value"] == ["^GSPC"]
    notices = [alert["props"]["children"]
               for alert in chart_of(app, symbol_client, query)[ids.NOTICES]["children"]]
    assert notices[0] == ("Ignored ticker 'BRK/B': not a ticker symbol: a slash is not allowed "
                          "(write BRK/B as BRK.B).")
    assert notices[1].startswith("Ignored ticker '<b>': not a ticker symbol: use letters")


def view_of(app, client, query: str) -> dict:
    """The view store that `sync_view` makes of `query` (its canonical query)."""
    return sync(app, client, query)[ids.VIEW]["data"]


def chart_of(app, client, query: str) -> dict:
    """What `update_chart` answers for the URL's `query`."""
    response = call(client, app, callback_key(app, "price-chart.figure", "notices"),
                    [(ids.URL, "search", query), (ids.THEME, "data", "light")])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def test_the_chart_and_the_csv_have_each_symbol(app, symbol_client):
    view = view_of(app, symbol_client, "?tickers=^GSPC,BRK.B,BRK-B&chart=candlestick")
    result = chart_of(app, symbol_client, view["query"])
    candles = [t for t in result[ids.PRICE_CHART]["figure"]["data"] if t["type"] == "candlestick"]
    assert [t["name"] for t in candles] == list(SYMBOLS)
    assert "No prices" not in str(result[ids.NOTICES]["children"])

    summary = call(symbol_client, app, callback_key(app, "summary-data.data"),
                   [(ids.VIEW, "data", view)]).get_json()["response"]
    assert [row["ticker"] for row in summary[ids.SUMMARY_DATA]["data"]] == sorted(SYMBOLS)

    download = call(symbol_client, app, callback_key(app, "download.data"),
                    [(ids.DOWNLOAD_BUTTON, "n_clicks", 1)],
                    state=[(ids.VIEW, "data", view)])
    data = download.get_json()["response"][ids.DOWNLOAD]["data"]
    assert data["filename"] == "stockdash-^GSPC-BRK.B-BRK-B.csv"
    rows = list(csv.DictReader(io.StringIO(data["content"])))
    assert len(rows) == DAYS * len(SYMBOLS)
    for offset, symbol in enumerate(SYMBOLS):
        mine = [row for row in rows if row["ticker"] == symbol]
        assert len(mine) == DAYS
        assert mine[0]["time"] == f"{FIRST_DAY} 00:00:00"
        assert float(mine[0]["close"]) == 100 + 10 * offset
