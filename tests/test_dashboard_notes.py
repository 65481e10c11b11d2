"""Research notes on the dashboard through its callbacks, on SQLite and PostgreSQL, on the real
AAPL, MSFT and GOOGL prices: markers with notes=1 and none with notes=0, the bounded query and
its notice, the range and the zoom, escaped hover text, notes going with their author or ticker,
and the Notes CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from app.extensions import db
from app.models import Note, StockPrice
from app.notes.markers import MAX_NOTE_MARKERS, chart_notes
from dashapp.callbacks import MORE_NOTES
from tests.support.apps import load_prices
from tests.support.dash_client import call, callback_key, plotly_values
from tests.support.users import AuthActions, create_user, submit
from tests.test_dashboard_callbacks import draw, zoom
from tests.test_dashboard_notes_units import HOSTILE

EVE = {"email": "eve@example.com", "password": "eve's password 1"}
T0 = datetime(2017, 1, 1, tzinfo=UTC)


@pytest.fixture
def noted(app, client, auth, user, sp500_subset):
    """A logged-in client with the real prices, and the id of a second analyst, Eve, who
    writes the notes."""
    load_prices(app, sp500_subset)
    auth.login()
    eve = create_user(app, EVE["email"], EVE["password"], first_name="Eve", last_name="Adams")
    return client, eve


def add_notes(app, user_id: int, notes: list[tuple[str, date, str]]) -> None:
    """Insert (ticker, as_of, body) notes by `user_id`, each a minute newer than the one
    before, in one statement (the POST /notes/ route is not what is tested here)."""
    rows = [{"user_id": user_id, "ticker": ticker, "as_of": as_of, "body": body,
             "created_at": T0 + timedelta(minutes=i)}
            for i, (ticker, as_of, body) in enumerate(notes)]
    with app.app_context():
        db.session.execute(insert(Note), rows)
        db.session.commit()


def trading_days(app, ticker: str, first: date, count: int) -> list[date]:
    with app.app_context():
        times = db.session.scalars(
            select(StockPrice.time).where(StockPrice.ticker == ticker,
                                          StockPrice.time >= datetime.combine(first,
                                                                              datetime.min.time()))
            .order_by(StockPrice.time).limit(count)
        ).all()
    return [t.date() for t in times]


def result_of(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def markers(result: dict) -> dict[str, dict]:
    """The marker traces of a chart callback's figure, by ticker."""
    return {t["name"].removesuffix(" notes"): {**t, "x": plotly_values(t["x"])}
            for t in result["price-chart"]["figure"]["data"] if t["name"].endswith(" notes")}


def notes_notice(result: dict) -> str:
    return " ".join(alert["props"]["children"] for alert in result["notes-notice"]["children"])


def download_notes(app, client, query: str):
    key = callback_key(app, "notes-csv.data")
    return call(client, app, key, [("notes-csv-button", "n_clicks", 1)],
                state=[("view", "data", {"query": query})])


def zoomed_chart(app, client, relayout: dict, query: str, base=None) -> dict:
    """The chart after a zoom: `zoom_view` sets the URL, and the chart is drawn for it."""
    search = zoom(app, client, relayout, query, base)["url-push"]["search"]
    return result_of(draw(app, client, search))


def test_markers_are_on_by_default_and_notes_0_hides_them(app, noted):
    client, eve = noted
    add_notes(app, eve, [("AAPL", date(2016, 3, 1), "AAPL note"),
                         ("MSFT", date(2016, 3, 2), "MSFT note")])
    shown = result_of(draw(app, client, "?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31"))
    assert set(markers(shown)) == {"AAPL", "MSFT"}
    assert "Eve Adams" in markers(shown)["AAPL"]["customdata"][0]
    assert "AAPL note" in markers(shown)["AAPL"]["customdata"][0]
    assert shown["notes-csv-button"]["disabled"] is False
    assert notes_notice(shown) == ""
    hidden = result_of(draw(app, client, "?tickers=AAPL,MSFT&start=2016-01-01&notes=0"))
    assert markers(hidden) == {}
    assert hidden["notes-csv-button"]["disabled"] is True
    assert result_of(download_notes(app, client, "?tickers=AAPL&notes=0")) == {}  # nothing sent


def test_only_the_shown_tickers_and_range_have_markers(app, noted):
    client, eve = noted
    add_notes(app, eve, [("AAPL", date(2015, 12, 31), "before"),
                         ("AAPL", date(2016, 1, 4), "first day"),
                         ("AAPL", date(2016, 12, 30), "last day"),
                         ("AAPL", date(2017, 1, 3), "after"),
                         ("GOOGL", date(2016, 6, 1), "not shown")])
    result = result_of(draw(app, client, "?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31"))
    (trace,) = markers(result).values()
    hovers = " ".join(trace["customdata"])
    assert "first day" in hovers and "last day" in hovers
    assert "before" not in hovers and "after" not in hovers and "not shown" not in hovers
    with app.app_context():  # the bounds are inclusive, by date
        found = chart_notes(["AAPL"], date(2016, 1, 4), datetime(2016, 12, 30, 15, 0))
        # An instant end is excluded, as the prices' range is half-open.
        zoomed = chart_notes(["AAPL"], datetime(2016, 1, 4, 12), datetime(2016, 12, 30))
    assert [n.body for n in found.notes] == ["last day", "first day"] and not found.more
    assert [n.body for n in zoomed.notes] == ["first day"]


def test_a_chart_reads_at_most_the_limit_newest_first_with_a_notice(app, noted):
    client, eve = noted
    days = trading_days(app, "AAPL", date(2013, 2, 8), MAX_NOTE_MARKERS + 1)
    add_notes(app, eve, [("AAPL", day, f"note {i}") for i, day in enumerate(days)])
    with app.app_context():
        found = chart_notes(["AAPL"], None, None)
        exactly = chart_notes(["AAPL"], days[1], None)
    assert found.more and len(found.notes) == MAX_NOTE_MARKERS
    assert found.notes[0].body == f"note {MAX_NOTE_MARKERS}"  # the newest
    assert found.notes[-1].body == "note 1"  # the oldest is left out
    assert not exactly.more and len(exactly.notes) == MAX_NOTE_MARKERS

    result = result_of(draw(app, client, "?tickers=AAPL"))
    (trace,) = markers(result).values()
    assert len(trace["x"]) == MAX_NOTE_MARKERS  # one note per bar here
    assert not any("note 0" in hover for hover in trace["customdata"])
    assert notes_notice(result) == MORE_NOTES
    assert MORE_NOTES.startswith("Showing the newest 300 notes of this range")

    # Zooming in sets the view's days: their notes fit, the notice goes; a reset brings it back.
    relayout = {"xaxis.range": [str(days[0]), str(days[9])]}
    zoom_answer = zoom(app, client, relayout, "?tickers=AAPL")
    zoomed = zoomed_chart(app, client, relayout, "?tickers=AAPL")
    (trace,) = markers(zoomed).values()
    # The days zoomed to are whole days, the one the zoom ends in too.
    assert len(trace["x"]) == 10 and trace["customdata"][0].endswith("<br>note 0")
    assert any(hover.endswith("<br>note 9") for hover in trace["customdata"])
    assert zoomed["notes-notice"]["children"] == []
    reset = zoomed_chart(app, client, {"xaxis.autorange": True}, zoom_answer["url-push"]["search"],
                         zoom_answer["zoom-base"]["data"])
    assert notes_notice(reset) == MORE_NOTES
    assert len(markers(reset)["AAPL"]["x"]) == MAX_NOTE_MARKERS


def test_a_zoom_shows_the_notes_of_the_new_range(app, noted):
    client, eve = noted
    add_notes(app, eve, [("AAPL", date(2016, 3, 10), "in March"),
                         ("AAPL", date(2016, 6, 10), "in June")])
    query = "?tickers=AAPL&start=2016-01-01&end=2016-12-31"
    march = zoomed_chart(app, client, {"xaxis.range[0]": "2016-03-01 00:00:00",
                                       "xaxis.range[1]": "2016-03-31"}, query)
    (trace,) = markers(march).values()
    assert len(trace["x"]) == 1 and "in March" in trace["customdata"][0]
    assert march["notes-csv-button"]["disabled"] is False
    empty = zoomed_chart(app, client, {"xaxis.range": ["2016-04-01", "2016-04-30"]}, query)
    assert markers(empty) == {} and empty["notes-csv-button"]["disabled"] is True
    off = zoomed_chart(app, client, {"xaxis.range": ["2016-03-01", "2016-03-31"]},
                       query + "&notes=0")
    assert markers(off) == {}


def test_hover_text_from_the_callback_is_escaped(app, noted):
    client, eve = noted
    add_notes(app, eve, [("AAPL", date(2016, 3, 1) + timedelta(days=i), body)
                         for i, body in enumerate(HOSTILE)])
    result = result_of(draw(app, client, "?tickers=AAPL&start=2016-03-01&end=2016-03-31"))
    hovers = " ".join(markers(result)["AAPL"]["customdata"])
    for raw in ("<script", "<img", "<a ", "<b>bold", "<span"):
        assert raw not in hovers
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hovers
    assert "&lt;a href=&#34;javascript:alert(1)&#34;&gt;x&lt;/a&gt;" in hovers


def test_notes_go_with_their_author_and_their_ticker(app, noted, runner):
    client, eve = noted
    add_notes(app, eve, [("AAPL", date(2016, 3, 1), "by Eve on AAPL"),
                         ("MSFT", date(2016, 3, 1), "by Eve on MSFT")])
    ada = create_user(app, "ada2@example.com", "another password", first_name="Ada")
    add_notes(app, ada, [("MSFT", date(2016, 3, 2), "by Ada on MSFT")])
    query = "?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31"
    assert set(markers(result_of(draw(app, client, query)))) == {"AAPL", "MSFT"}

    # Eve deletes her account through the real form: her notes leave the chart.
    eves = app.test_client()
    AuthActions(eves).login(EVE["email"], EVE["password"])
    assert submit(eves, "/settings/delete/", {"password": EVE["password"]}).status_code == 302
    left = markers(result_of(draw(app, client, query)))
    assert set(left) == {"MSFT"} and "by Ada on MSFT" in left["MSFT"]["customdata"][0]
    assert "Eve" not in left["MSFT"]["customdata"][0]

    # MSFT is deleted with its prices: its notes go too.
    assert runner.invoke(args=["prices", "delete", "MSFT", "--yes"]).exit_code == 0
    with app.app_context():
        assert chart_notes(["AAPL", "MSFT"], None, None).notes == ()


def test_notes_csv_is_the_notes_shown(app, noted):
    client, eve = noted
    add_notes(app, eve, [("AAPL", date(2016, 3, 1) + timedelta(days=i), body)
                         for i, body in enumerate([*HOSTILE, '=HYPERLINK("http://evil")'])]
              + [("AAPL", date(2017, 5, 1), "outside the range")])
    query = "?tickers=AAPL&start=2016-01-01&end=2016-12-31"
    download = result_of(download_notes(app, client, query))["notes-csv"]["data"]
    assert download["filename"] == "stockdash-notes-AAPL.csv"
    assert download["type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download["content"])))
    assert [row["body"] for row in rows] == ['\'=HYPERLINK("http://evil")', *reversed(HOSTILE)]
    assert {row["author"] for row in rows} == {"Eve Adams"}
    assert list(rows[0]) == ["ticker", "as_of", "author", "created_at", "body"]
    assert rows[-1]["as_of"] == "2016-03-01" and rows[-1]["ticker"] == "AAPL"
    # After a zoom, the notes of the days zoomed to.
    zoomed_query = zoom(app, client, {"xaxis.range": ["2016-03-01", "2016-03-01 23:00"]},
                        query)["url-push"]["search"]
    zoomed = result_of(download_notes(app, client, zoomed_query))
    rows = list(csv.DictReader(io.StringIO(zoomed["notes-csv"]["data"]["content"])))
    assert [row["body"] for row in rows] == [HOSTILE[0]]
    # None in the range: nothing to download.
    assert result_of(download_notes(app, client, "?tickers=GOOGL")) == {}


def test_the_price_csv_stays_prices_only(app, noted):
    client, eve = noted
    add_notes(app, eve, [("AAPL", date(2016, 3, 1), "a note")])
    response = call(client, app, callback_key(app, "download.data"),
                    [("download-button", "n_clicks", 1)],
                    state=[("view", "data", {"query": "?tickers=AAPL&start=2016-03-01"
                                                      "&end=2016-03-31"})])
    content = result_of(response)["download"]["data"]["content"]
    assert content.splitlines()[0] == "ticker,time,open,high,low,close,volume"
    assert "a note" not in content
