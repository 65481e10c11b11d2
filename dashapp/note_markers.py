"""Research notes on the chart: marker traces on the price line, their hover text, and the notes
CSV. Pure functions of the notes and the bars drawn (no database, no request).

Note text is the user's: Plotly reads a subset of HTML in hover text (`<b>`, `<br>`, `<a href>`,
`<span style>`...), so every piece of it is escaped before it goes near a figure, and it reaches
Plotly only as data (`customdata`), never inside a hovertemplate, which has a syntax of its own.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Sequence

import numpy as np

from app.notes.markers import NoteMarker

# A hover label is a few lines wide and a few notes tall: more notes on one bar are counted.
HOVER_WIDTH = 60
NOTES_PER_MARKER = 5
NOTES_CSV_COLUMNS = ("ticker", "as_of", "author", "created_at", "body")
# What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def plotly_text(text: str) -> str:
    """`text` escaped for Plotly's hover labels, where it shows literally.

    `&`, `<` and `>` become entities, and the quotes numeric ones: Plotly decodes `&lt;`,
    `&gt;`, `&amp;` and numeric entities, but shows `&quot;` as it is written.
    """
    return html.escape(text, quote=False).replace('"', "&#34;").replace("'", "&#39;")


def wrap(text: str, width: int = HOVER_WIDTH) -> list[str]:
    """`text` in lines of at most `width` characters, broken at blanks (a longer word is cut);
    every run of whitespace, line breaks included, becomes one space.

    One regular expression rather than textwrap, which takes some ten times longer: 300 notes
    a chart make that noticeable.
    """
    flat = " ".join(text.split())
    line = re.compile(rf"\S(?:.{{0,{width - 2}}}\S)?(?= |$)|\S{{{width}}}")
    return line.findall(flat) or [""]


def note_hover(note: NoteMarker) -> str:
    """One note in a hover label: author and date in bold, then its text in short lines.

    The text is wrapped before it is escaped, so that no line break falls inside an entity.
    """
    # Wrapped text holds no line feed but those between its lines: one escape for them all.
    text = plotly_text("\n".join(wrap(note.body))).replace("\n", "<br>")
    return f"<b>{plotly_text(note.author)}</b> · {note.as_of.isoformat()}<br>{text}"


def marker_hover(notes: Sequence[NoteMarker]) -> str:
    """The hover text of one marker: its notes, newest first, at most NOTES_PER_MARKER."""
    parts = [note_hover(note) for note in notes[:NOTES_PER_MARKER]]
    if len(notes) > NOTES_PER_MARKER:
        parts.append(f"… and {len(notes) - NOTES_PER_MARKER} more notes on this bar")
    return "<br><br>".join(parts)


def day_ends_ms(notes: Sequence[NoteMarker]) -> np.ndarray:
    """The first instant after each note's day, in epoch milliseconds (the chart's x units).

    Counted in numpy, whose dates go past 9999-12-31 (the day after which is no `date`).
    """
    days = np.array([note.as_of for note in notes], dtype="datetime64[D]")
    return (days + np.timedelta64(1, "D")).astype("datetime64[ms]").astype(np.int64)


def note_trace(
    ticker: str, notes: Sequence[NoteMarker], times: np.ndarray, values: np.ndarray, colour: str
) -> dict | None:
    """The markers of `ticker`'s notes on its line: `times` (epoch ms, ascending) and `values`
    are the bars drawn, as drawn (normalised, if so; the close of a candle).

    A note sits on the bar at or before its date: the day's bar for daily bars, the bucket
    holding the day for aggregated ones. Its x is that bar's, not the note's date, so that the
    marker is on the line and never inside a range break (a note written on a Saturday). Notes
    before the first bar drawn have no bar and are not drawn. Notes on one bar share a marker.
    None when no note has a bar. `x` and `y` are numpy arrays, for the caller to encode as the
    figure's other arrays are.
    """
    if not len(times) or not notes:
        return None
    bars = np.searchsorted(times, day_ends_ms(notes), side="left") - 1
    by_bar: dict[int, list[NoteMarker]] = {}
    for note, bar in zip(notes, bars.tolist(), strict=True):
        if bar >= 0 and np.isfinite(values[bar]):
            by_bar.setdefault(bar, []).append(note)
    if not by_bar:
        return None
    order = sorted(by_bar)
    return {
        "type": "scatter", "mode": "markers",
        "x": times[order], "y": values[order],
        "customdata": [marker_hover(by_bar[bar]) for bar in order],
        "hovertemplate": "%{customdata}<extra></extra>",
        "hoverlabel": {"align": "left"},
        "name": f"{ticker} notes", "legendgroup": ticker, "showlegend": False,
        "marker": {"symbol": "diamond", "size": 11, "color": colour,
                   "line": {"width": 1.5, "color": "#ffffff"}},
        "xaxis": "x", "yaxis": "y",
    }


def csv_cell(value) -> str:
    """A CSV cell that no spreadsheet runs as a formula: text starting like one gets a leading
    apostrophe, which spreadsheets show as text and do not display."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def notes_csv(notes: Sequence[NoteMarker]) -> str:
    """The notes shown, newest first, one CSV row each (ticker, as_of, author, created_at,
    body), as plain text: nothing in it is markup."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(NOTES_CSV_COLUMNS)
    for note in notes:
        writer.writerow([
            csv_cell(cell) for cell in (note.ticker, note.as_of.isoformat(), note.author,
                                        note.created_at.isoformat(sep=" "), note.body)
        ])
    return buffer.getvalue()
