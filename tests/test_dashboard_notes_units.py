"""Notes on the chart without a database: where the markers sit on the line drawn, the hover text
escaped so that note text never becomes Plotly markup, and the notes CSV safe in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from app.notes.markers import NoteMarker
from app.prices.queries import PriceSeries
from dashapp.figures import build_figure
from dashapp.note_markers import NOTES_PER_MARKER, csv_cell, notes_csv, plotly_text, wrap
from dashapp.urlstate import ViewState
from tests.support.dash_client import plotly_values
from tests.test_dashboard_units import daily, values

HOSTILE = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<b>bold</b>",
    "it's \"quoted\" & <span style='color:red'>red</span>",
)
CREATED = datetime(2016, 2, 1, 12, 0, tzinfo=UTC)


def note(ticker="AAPL", as_of=date(2016, 1, 6), body="a note", author="Ada Lovelace", id=1,
         created_at=CREATED) -> NoteMarker:
    return NoteMarker(id=id, ticker=ticker, as_of=as_of, author=author, body=body,
                      created_at=created_at)


def ms(day: date) -> float:
    """Midnight UTC of `day` in epoch milliseconds, the chart's x."""
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp() * 1000


def marker_traces(figure: dict) -> list[dict]:
    """The figure's notes traces, their x and y decoded from the binary form sent."""
    return [{**t, "x": plotly_values(t["x"]), "y": plotly_values(t["y"])}
            for t in figure["data"] if t["name"].endswith(" notes")]


def test_markers_sit_on_the_bar_at_or_before_their_date():
    # Mon 4 .. Fri 8 January 2016, closes 10..14; then Mon 11 (15).
    series = {"AAPL": daily("AAPL", [10, 11, 12, 13, 14, 15])}
    notes = [note(as_of=date(2016, 1, 6), id=1),  # Wednesday: its own bar
             note(as_of=date(2016, 1, 9), id=2),  # Saturday: Friday's bar
             note(as_of=date(2016, 1, 3), id=3)]  # before the first bar: not drawn
    (trace,) = marker_traces(build_figure(series, ViewState(volume=False), notes=notes))
    assert trace["x"] == [ms(date(2016, 1, 6)), ms(date(2016, 1, 8))]
    assert trace["y"] == [12.0, 14.0]
    assert trace["mode"] == "markers" and trace["yaxis"] == "y"


def test_markers_follow_normalisation_and_candles_use_the_close():
    series = {"AAPL": daily("AAPL", [10, 11, 12, 15])}
    normalised = build_figure(series, ViewState(normalize=True, volume=False),
                              notes=[note(as_of=date(2016, 1, 7))])
    (trace,) = marker_traces(normalised)
    assert trace["y"] == pytest.approx([50.0])  # 15 is +50 % on the first close, 10
    candles = build_figure(series, ViewState(chart="candlestick"), notes=[note()])
    (trace,) = marker_traces(candles)
    assert trace["y"] == [12.0]  # the close, not the open (11) or the high (14)
    price = next(t for t in candles["data"] if t["type"] == "candlestick")
    assert values(price, "close")[2] == 12.0


def test_an_aggregated_chart_puts_the_note_in_the_bucket_that_holds_its_date():
    weekly = PriceSeries("AAPL", bucket=timedelta(days=7))
    for week, close in enumerate([10.0, 20.0, 30.0]):
        weekly.append((datetime(2016, 1, 4) + timedelta(weeks=week), 9, 31, 8, close, 100))
    (trace,) = marker_traces(build_figure({"AAPL": weekly}, ViewState(),
                                          notes=[note(as_of=date(2016, 1, 14))]))
    assert trace["x"] == [ms(date(2016, 1, 11))] and trace["y"] == [20.0]


def test_bars_before_the_first_shown_take_no_markers():
    series = {"AAPL": daily("AAPL", [10, 11, 12, 13, 14])}
    figure = build_figure(series, ViewState(moving_averages=(2,), volume=False),
                          shown_from=datetime(2016, 1, 6), notes=[note(as_of=date(2016, 1, 5))])
    assert marker_traces(figure) == []


def test_notes_on_one_bar_share_a_marker_and_each_ticker_gets_its_own():
    series = {"AAPL": daily("AAPL", [10, 11, 12]), "MSFT": daily("MSFT", [50, 51, 52])}
    notes = [note(body=f"note {i}", id=i) for i in range(NOTES_PER_MARKER + 2)]
    notes.append(note(ticker="MSFT", as_of=date(2016, 1, 4), id=99))
    notes.append(note(ticker="GOOGL", id=100))  # not on the chart
    aapl, msft = marker_traces(build_figure(series, ViewState(volume=False), notes=notes))
    assert aapl["name"] == "AAPL notes" and msft["name"] == "MSFT notes"
    assert len(aapl["x"]) == 1 and msft["y"] == [50.0]
    hover = aapl["customdata"][0]
    assert "note 0" in hover and f"note {NOTES_PER_MARKER - 1}" in hover
    assert f"note {NOTES_PER_MARKER}" not in hover and "and 2 more notes" in hover


def test_notes_on_the_first_and_last_dates_python_knows():
    series = PriceSeries("OLD")
    for when in (datetime(1, 1, 3), datetime(2016, 1, 4), datetime(9999, 12, 31, 23, 59)):
        series.append((when, 1, 1, 1, 5.0, 1))
    notes = [note(ticker="OLD", as_of=date.min, id=1), note(ticker="OLD", as_of=date.max, id=2)]
    (trace,) = marker_traces(build_figure({"OLD": series}, ViewState(), notes=notes))
    assert len(trace["x"]) == 1 and trace["x"][0] == ms(date(9999, 12, 31)) + 1439 * 60_000


def test_no_notes_no_marker_trace():
    figure = build_figure({"AAPL": daily("AAPL", [10, 11])}, ViewState(volume=False))
    assert [t["name"] for t in figure["data"]] == ["AAPL"]


@pytest.mark.parametrize("body", HOSTILE)
def test_hover_text_is_escaped_so_no_note_becomes_markup(body):
    series = {"AAPL": daily("AAPL", [10, 11, 12])}
    hostile = note(body=body, author="<b>Eve</b> <img src=x onerror=alert(1)>")
    (trace,) = marker_traces(build_figure(series, ViewState(volume=False), notes=[hostile]))
    # The text reaches Plotly as data, never as part of the template.
    assert trace["hovertemplate"] == "%{customdata}<extra></extra>"
    (hover,) = trace["customdata"]
    # The only tags are the ones the figure writes itself.
    assert set(re.findall(r"<[^>]*>", hover)) <= {"<b>", "</b>", "<br>"}
    assert hover.startswith("<b>&lt;b&gt;Eve&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt;</b>")
    assert plotly_text(body) in hover


def test_plotly_text_uses_the_entities_plotly_decodes():
    assert plotly_text("<a href=\"x\">&'") == "&lt;a href=&#34;x&#34;&gt;&amp;&#39;"


def test_long_notes_wrap_without_splitting_an_entity():
    body = "&" * 200
    (trace,) = marker_traces(build_figure({"AAPL": daily("AAPL", [10])}, ViewState(),
                                          notes=[note(as_of=date(2016, 1, 4), body=body)]))
    lines = trace["customdata"][0].split("<br>")[1:]
    assert len(lines) > 1 and all(re.fullmatch("(&amp;)+", line) for line in lines)


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", [""]),
        ("short", ["short"]),
        ("a\nb\t c", ["a b c"]),
        ("word " * 13, ["word " * 11 + "word", "word"]),
        ("x" * 130, ["x" * 60, "x" * 60, "x" * 10]),
        ("ab " + "x" * 61, ["ab", "x" * 60, "x"]),
    ],
)
def test_wrap_breaks_at_blanks_and_cuts_long_words(text, lines):
    assert wrap(text, 60) == lines
    assert all(len(line) <= 60 for line in wrap(text * 5, 60))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
        ("a=b", "a=b"), ("<script>", "<script>"), ("", ""), (None, ""),
    ],
)
def test_csv_cells_never_start_a_formula(value, cell):
    assert csv_cell(value) == cell


def test_notes_csv_is_the_notes_as_written_and_formula_safe():
    notes = [note(body=body, id=i) for i, body in enumerate(HOSTILE)]
    notes.append(note(body='=HYPERLINK("http://evil")', author="=cmd", id=50))
    rows = list(csv.reader(io.StringIO(notes_csv(notes))))
    assert rows[0] == ["ticker", "as_of", "author", "created_at", "body"]
    assert [row[4] for row in rows[1:-1]] == list(HOSTILE)  # literal text: no escaping
    assert rows[-1] == ["AAPL", "2016-01-06", "'=cmd", "2016-02-01 12:00:00+00:00",
                        '\'=HYPERLINK("http://evil")']
    assert all(len(row) == 5 for row in rows)
