"""The dashboard's view, as it is written in the query string of /dash/.

`/dash/?tickers=AAPL,MSFT&start=2016-01-01&end=2017-12-31&chart=candlestick&normalize=1&ma=20,50&log=1`
(and `notes=0` to hide the research notes drawn on the price line, shown by default;
`indicators=rsi,macd,bollinger` for the indicator panels and bands; `compare=SPY` to draw every
ticker's performance relative to that one)

The format is described once, by FIELDS: each parameter, the ViewState attribute it sets, how its
text is read and written, and which control shows it. Reading a URL, writing one, and reading or
setting the controls all walk that one table, so a new parameter is one more Field.

Reading never fails: anything it cannot use is dropped and described in a notice for the user.
Writing puts every field in a fixed order, so `parse_query(serialise(view)) == view`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode

from app.prices.queries import FIRST_DAY, LAST_DAY
from app.prices.tickers import InvalidTicker, parse_ticker
from dashapp.indicators import INDICATORS

CHART_TYPES = ("line", "candlestick", "ohlc")
MOVING_AVERAGE_CHOICES = (20, 50, 200)
MAX_TICKERS = 10
MAX_QUERY_LENGTH = 2000
DEFAULT_TICKERS = ("AAPL", "MSFT", "GOOGL")
TOO_LONG = "The link was too long and has been ignored."
UNREADABLE = "The link could not be read and has been ignored."


@dataclass(frozen=True)
class ViewState:
    """Everything a copy of the URL must reproduce."""

    tickers: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    chart: str = "line"
    normalize: bool = False
    moving_averages: tuple[int, ...] = ()
    log_scale: bool = False
    volume: bool = True
    notes: bool = True
    indicators: tuple[str, ...] = ()
    compare: str | None = None
    notices: tuple[str, ...] = field(default=(), compare=False)

    def with_notices(self, *notices: str) -> ViewState:
        """The same view with more notices for the user."""
        return replace(self, notices=self.notices + tuple(notices))


# A reader turns a parameter's text into a value, or None to keep the default; what it cannot
# use it describes in `notices`. A writer gives the text, or None to leave the parameter out.
Reader = Callable[[str, str, list[str]], Any]
Writer = Callable[[Any], str | None]


def read_tickers(text: str, name: str, notices: list[str]) -> tuple[str, ...]:
    """Symbols by the one ticker rule (app.prices.tickers), de-duplicated, at most MAX_TICKERS.

    A comma always separates two tickers: that is why the rule refuses commas in a symbol.
    """
    tickers: list[str] = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            symbol = parse_ticker(part)
        except InvalidTicker as reason:
            notices.append(f"Ignored ticker {part.strip()[:20]!r}: {reason}.")
            continue
        if symbol not in tickers:
            tickers.append(symbol)
    if len(tickers) > MAX_TICKERS:
        notices.append(f"Showing the first {MAX_TICKERS} tickers only.")
        tickers = tickers[:MAX_TICKERS]
    return tuple(tickers)


def read_date(text: str, name: str, notices: list[str]) -> date | None:
    """An ISO date from FIRST_DAY to LAST_DAY, the days the query layer serves (one outside
    them becomes the nearer of the two, with a notice); empty means unbounded."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        notices.append(f"Ignored {name}={text[:20]!r}: dates are written YYYY-MM-DD.")
        return None
    if FIRST_DAY <= day <= LAST_DAY:
        return day
    nearer = min(max(day, FIRST_DAY), LAST_DAY)
    notices.append(f"{name}={day} is outside the dates shown ({FIRST_DAY} to {LAST_DAY}); "
                   f"using {nearer}.")
    return nearer


def read_chart(text: str, name: str, notices: list[str]) -> str | None:
    """One of CHART_TYPES."""
    if text in CHART_TYPES:
        return text
    notices.append(f"Ignored {name}={text[:20]!r}: use one of {', '.join(CHART_TYPES)}.")
    return None


def read_averages(text: str, name: str, notices: list[str]) -> tuple[int, ...]:
    """Moving-average windows from MOVING_AVERAGE_CHOICES, sorted, each once."""
    averages = set()
    for part in text.split(","):
        if part.strip().isdigit() and int(part) in MOVING_AVERAGE_CHOICES:
            averages.add(int(part))
        elif part.strip():
            notices.append(
                f"Ignored moving average {part.strip()[:10]!r}: choose from "
                f"{', '.join(map(str, MOVING_AVERAGE_CHOICES))}."
            )
    return tuple(sorted(averages))


def read_indicators(text: str, name: str, notices: list[str]) -> tuple[str, ...]:
    """Indicators from INDICATORS, each once, in INDICATORS' order (so a URL has one spelling)."""
    chosen = set()
    for part in (part.strip() for part in text.split(",")):
        if part.lower() in INDICATORS:
            chosen.add(part.lower())
        elif part:
            notices.append(f"Ignored indicator {part[:20]!r}: choose from "
                           f"{', '.join(INDICATORS)}.")
    return tuple(each for each in INDICATORS if each in chosen)


def read_benchmark(text: str, name: str, notices: list[str]) -> str | None:
    """One symbol by the ticker rule; empty means no comparison. Whether prices are stored for
    it is for the caller to check (callbacks.resolve_view)."""
    if not text.strip():
        return None
    try:
        return parse_ticker(text)
    except InvalidTicker as reason:
        notices.append(f"Ignored {name}={text.strip()[:20]!r}: {reason}.")
        return None


def read_flag(text: str, name: str, notices: list[str]) -> bool | None:
    """1 or 0 (and the usual spellings of yes and no)."""
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    notices.append(f"Ignored {name}={text[:20]!r}: use 1 or 0.")
    return None


def write_list(values: tuple) -> str:
    """Values separated by commas (the separator the readers split on)."""
    return ",".join(map(str, values))


def write_optional_list(values: tuple) -> str | None:
    """Like write_list, but no parameter at all for no values."""
    return write_list(values) if values else None


def write_date(value: date | None) -> str | None:
    """An ISO date; no parameter for an unbounded end."""
    return value.isoformat() if value else None


def write_optional(value: str | None) -> str | None:
    """The text itself; no parameter for None."""
    return value or None


def write_flag(value: bool) -> str:
    """1 or 0."""
    return "1" if value else "0"


@dataclass(frozen=True)
class Field:
    """One parameter of the query string: its name, the ViewState attribute it sets, how it is
    read and written, and the control that shows it (`control` names an entry of the controls'
    values; `member` is set when the field is one option of a checklist)."""

    name: str
    attribute: str
    read: Reader
    write: Writer
    control: str
    member: str | None = None

    def text_from_controls(self, controls: Mapping[str, Any]) -> str | None:
        """This field's text from the controls' values, as a URL would carry it; None when the
        control holds nothing of the right type (a forged payload)."""
        value = controls.get(self.control)
        if self.member is not None:
            return write_flag(isinstance(value, list) and self.member in value)
        if isinstance(value, list):
            return write_list(tuple(value))
        return value if isinstance(value, str) else None


# In the order URLs are written.
FIELDS = (
    Field("tickers", "tickers", read_tickers, write_list, control="tickers"),
    Field("start", "start", read_date, write_date, control="start"),
    Field("end", "end", read_date, write_date, control="end"),
    Field("chart", "chart", read_chart, str, control="chart"),
    Field("normalize", "normalize", read_flag, write_flag, control="options", member="normalize"),
    Field("ma", "moving_averages", read_averages, write_optional_list, control="averages"),
    Field("log", "log_scale", read_flag, write_flag, control="options", member="log"),
    Field("volume", "volume", read_flag, write_flag, control="options", member="volume"),
    Field("notes", "notes", read_flag, write_flag, control="options", member="notes"),
    Field("indicators", "indicators", read_indicators, write_optional_list,
          control="indicators"),
    Field("compare", "compare", read_benchmark, write_optional, control="compare"),
)
CONTROL_NAMES = tuple(dict.fromkeys(f.control for f in FIELDS))


def read_fields(texts: Mapping[str, str]) -> ViewState:
    """The view that these parameter texts describe; what is missing keeps its default."""
    notices: list[str] = []
    state: dict[str, Any] = {}
    for each in FIELDS:
        if each.name in texts:
            value = each.read(texts[each.name], each.name, notices)
            if value is not None:
                state[each.attribute] = value
    if "start" in state and "end" in state and state["start"] > state["end"]:
        notices.append("The start date was after the end date; they have been swapped.")
        state["start"], state["end"] = state["end"], state["start"]
    return ViewState(**state, notices=tuple(notices))


def parse_query(query: str | None) -> ViewState:
    """Read a view from a query string (with or without the leading `?`); anything but text
    (a forged callback payload) is read as an empty query, with a notice."""
    if query is not None and not isinstance(query, str):
        return ViewState(notices=(UNREADABLE,))
    query = (query or "").lstrip("?")
    if len(query) > MAX_QUERY_LENGTH:
        return ViewState(notices=(TOO_LONG,))
    return read_fields(
        {key: items[-1] for key, items in parse_qs(query, keep_blank_values=True).items()}
    )


def view_from_controls(controls: Mapping[str, Any]) -> ViewState:
    """The view the controls show (keyed by CONTROL_NAMES), read exactly as a URL is: the
    renderer's payload can be forged."""
    texts = {}
    for each in FIELDS:
        text = each.text_from_controls(controls)
        if text is not None:
            texts[each.name] = text
    if sum(map(len, texts.values())) > MAX_QUERY_LENGTH:
        return ViewState(notices=(TOO_LONG,))
    return read_fields(texts)


def controls_for(view: ViewState) -> dict[str, Any]:
    """The control values (keyed by CONTROL_NAMES) that show `view`."""
    controls: dict[str, Any] = {}
    for each in FIELDS:
        value = getattr(view, each.attribute)
        if each.member is not None:
            members = controls.setdefault(each.control, [])
            if value:
                members.append(each.member)
        elif isinstance(value, tuple):
            controls[each.control] = list(value)
        else:
            controls[each.control] = write_date(value) if isinstance(value, date) else value
    return controls


def serialise(view: ViewState) -> str:
    """The query string (with `?`) for a view; a fixed order keeps URLs comparable."""
    pairs = []
    for each in FIELDS:
        text = each.write(getattr(view, each.attribute))
        if text is not None:
            pairs.append((each.name, text))
    return "?" + urlencode(pairs, safe=",")
