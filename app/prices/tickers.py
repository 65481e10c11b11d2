"""The one rule for ticker symbols: what a symbol may contain and how it is written.

The importer, the query layer, the dashboard's URL parser and every form use these functions, so
a symbol that can be stored can also be charted, linked, downloaded and typed back in.

A symbol is written in upper case, 1 to TICKER_MAX characters long, of ASCII letters and digits
with the punctuation real exchanges and data vendors use inside symbols:

- `^` at the start of an index (`^GSPC`, `^DJI`);
- `.` and `-` for share classes and exchange suffixes (`BRK.B`, `BRK-B`, `RDS-A`, `SHOP.TO`);
- `=` for futures and currencies as Yahoo writes them (`ES=F`, `EURUSD=X`).

After the optional `^` a symbol starts with a letter or digit and ends with one. Everything else is
refused with a reason: blanks, commas (the URL's separator), slashes (a path separator; `BRK/B` is
written `BRK.B`), quotes and markup, control characters and non-ASCII letters (`ÄPPL`), which no
exchange uses and which look like other symbols.
"""

from __future__ import annotations

import re

TICKER_MAX = 16
TICKER_PATTERN = r"\^?[A-Z0-9](?:[A-Z0-9.=\-]*[A-Z0-9])?"
_TICKER_RE = re.compile(TICKER_PATTERN)
_SEPARATOR_HINTS = {
    "/": "a slash is not allowed (write BRK/B as BRK.B)",
    ",": "a comma is not allowed (it separates tickers)",
}


class InvalidTicker(ValueError):
    """A text that is not a ticker symbol; the message says why, for the user."""


def normalise_ticker(text: str) -> str:
    """The canonical form of what a user or a file wrote: blanks around it removed, upper case.

    Only ASCII letters are upper-cased: `str.upper()` would turn `ß` into `SS` and so make a
    refused text look like an accepted symbol.
    """
    return text.strip().translate(_ASCII_UPPER)


_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def ticker_problem(symbol: str) -> str | None:
    """Why the normalised `symbol` is not a ticker, or None when it is one."""
    if not symbol:
        return "missing ticker"
    if len(symbol) > TICKER_MAX:
        return f"ticker longer than {TICKER_MAX} characters"
    if _TICKER_RE.fullmatch(symbol):
        return None
    for character, hint in _SEPARATOR_HINTS.items():
        if character in symbol:
            return f"not a ticker symbol: {hint}"
    if any(not ch.isprintable() for ch in symbol):
        return "not a ticker symbol: it contains control or unprintable characters"
    if not symbol.isascii():
        return "not a ticker symbol: only ASCII letters, digits and ^ . - = are allowed"
    if any(ch.isspace() for ch in symbol):
        return "not a ticker symbol: blanks are not allowed"
    return (
        "not a ticker symbol: use letters, digits and ^ . - = (^ only first, "
        "a letter or digit first and last)"
    )


def parse_ticker(text: str) -> str:
    """The normalised symbol of `text`; raises InvalidTicker with the reason when it is none."""
    if not isinstance(text, str):
        raise InvalidTicker("not a ticker symbol: not text")
    symbol = normalise_ticker(text)
    problem = ticker_problem(symbol)
    if problem is not None:
        raise InvalidTicker(problem)
    return symbol


def is_ticker(text: object) -> bool:
    """True when `text` is a ticker symbol once normalised."""
    try:
        parse_ticker(text)  # type: ignore[arg-type]
    except InvalidTicker:
        return False
    return True
