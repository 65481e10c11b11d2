"""The dashboard's view, as it is written in the query string of /dash/.

`/dash/?tickers=AAPL,MSFT&start=2016-01-01&end=2017-12-31&chart=candlestick&normalize=1&ma=20,50&log=1`

Parsing never fails: anything it cannot use is dropped and described in a notice for the user.
Serialising writes every field in a fixed order, so `parse(serialise(view)) == view`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import parse_qs, urlencode

CHART_TYPES = ("line", "candlestick", "ohlc")
MOVING_AVERAGE_CHOICES = (20, 50, 200)
MAX_TICKERS = 10
MAX_QUERY_LENGTH = 2000
TICKER_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")
DEFAULT_TICKERS = ("AAPL", "MSFT", "GOOGL")


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
    notices: tuple[str, ...] = field(default=(), compare=False)

    def with_notices(self, *notices: str) -> ViewState:
        """The same view with more notices for the user."""
        return replace(self, notices=self.notices + tuple(notices))


def _flag(value: str, name: str, notices: list[str]) -> bool | None:
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    notices.append(f"Ignored {name}={value[:20]!r}: use 1 or 0.")
    return None


def _date(value: str, name: str, notices: list[str]) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        notices.append(f"Ignored {name}={value[:20]!r}: dates are written YYYY-MM-DD.")
        return None


def parse_tickers(raw: str, notices: list[str]) -> tuple[str, ...]:
    """Upper-case, de-duplicated, well-formed ticker symbols, at most MAX_TICKERS of them."""
    tickers: list[str] = []
    for part in raw.split(","):
        symbol = part.strip().upper()
        if not symbol:
            continue
        if not TICKER_RE.match(symbol):
            notices.append(f"Ignored ticker {part.strip()[:20]!r}: not a ticker symbol.")
        elif symbol not in tickers:
            tickers.append(symbol)
    if len(tickers) > MAX_TICKERS:
        notices.append(f"Showing the first {MAX_TICKERS} tickers only.")
        tickers = tickers[:MAX_TICKERS]
    return tuple(tickers)


def parse_query(query: str | None) -> ViewState:
    """Read a view from a query string (with or without the leading `?`)."""
    notices: list[str] = []
    query = (query or "").lstrip("?")
    if len(query) > MAX_QUERY_LENGTH:
        return ViewState(notices=("The link was too long and has been ignored.",))
    values = {key: items[-1] for key, items in parse_qs(query, keep_blank_values=True).items()}
    state: dict = {}

    if "tickers" in values:
        state["tickers"] = parse_tickers(values["tickers"], notices)
    for name in ("start", "end"):
        if values.get(name):
            parsed = _date(values[name], name, notices)
            if parsed is not None:
                state[name] = parsed
    if "start" in state and "end" in state and state["start"] > state["end"]:
        notices.append("The start date was after the end date; they have been swapped.")
        state["start"], state["end"] = state["end"], state["start"]
    if "chart" in values:
        if values["chart"] in CHART_TYPES:
            state["chart"] = values["chart"]
        else:
            notices.append(
                f"Ignored chart={values['chart'][:20]!r}: use one of {', '.join(CHART_TYPES)}."
            )
    if "ma" in values:
        averages = []
        for part in values["ma"].split(","):
            if part.strip().isdigit() and int(part) in MOVING_AVERAGE_CHOICES:
                averages.append(int(part))
            elif part.strip():
                notices.append(
                    f"Ignored moving average {part.strip()[:10]!r}: choose from "
                    f"{', '.join(map(str, MOVING_AVERAGE_CHOICES))}."
                )
        state["moving_averages"] = tuple(sorted(set(averages)))
    for name, attribute in (("normalize", "normalize"), ("log", "log_scale"), ("volume", "volume")):
        if name in values:
            flag = _flag(values[name], name, notices)
            if flag is not None:
                state[attribute] = flag
    return ViewState(**state, notices=tuple(notices))


def serialise(view: ViewState) -> str:
    """The query string (with `?`) for a view; a fixed order keeps URLs comparable."""
    pairs = [("tickers", ",".join(view.tickers))]
    if view.start:
        pairs.append(("start", view.start.isoformat()))
    if view.end:
        pairs.append(("end", view.end.isoformat()))
    pairs.append(("chart", view.chart))
    pairs.append(("normalize", "1" if view.normalize else "0"))
    if view.moving_averages:
        pairs.append(("ma", ",".join(map(str, view.moving_averages))))
    pairs.append(("log", "1" if view.log_scale else "0"))
    pairs.append(("volume", "1" if view.volume else "0"))
    return "?" + urlencode(pairs, safe=",")
