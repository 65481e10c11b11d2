"""The ticker rule (app.prices.tickers): what is a symbol, how it is written, why not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.prices.tickers import (
    TICKER_MAX,
    InvalidTicker,
    is_ticker,
    normalise_ticker,
    parse_ticker,
    ticker_problem,
)


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("AAPL", "AAPL"),
        (" aapl ", "AAPL"),
        ("^gspc", "^GSPC"),
        ("BRK.B", "BRK.B"),
        ("brk-b", "BRK-B"),
        ("ES=F", "ES=F"),
        ("EURUSD=X", "EURUSD=X"),
        ("SHOP.TO", "SHOP.TO"),
        ("3", "3"),
        ("A" * TICKER_MAX, "A" * TICKER_MAX),
    ],
)
def test_symbols_users_expect_are_accepted_and_normalised(text, symbol):
    assert parse_ticker(text) == symbol
    assert is_ticker(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "missing ticker"),
        ("   ", "missing ticker"),
        ("A" * (TICKER_MAX + 1), "longer than"),
        ("BRK/B", "slash"),
        ("C,M", "comma"),
        ("A B", "blanks"),
        ("ÄPPL", "ASCII"),
        ("ﬁ", "ASCII"),  # a ligature whose str.upper() would be "FI"
        ("straße", "ASCII"),  # str.upper() would give STRASSE
        ("<SCRIPT>", "letters, digits"),
        ('A"B', "letters, digits"),
        ("A\x00B", "control"),
        ("A\tB", "control"),
        ("^", "letters, digits"),
        ("A^B", "letters, digits"),
        (".A", "letters, digits"),
        ("A.", "letters, digits"),
        ("-", "letters, digits"),
    ],
)
def test_other_texts_are_refused_with_a_reason(text, reason):
    with pytest.raises(InvalidTicker, match=reason):
        parse_ticker(text)
    assert not is_ticker(text)


def test_non_text_is_not_a_ticker():
    assert not is_ticker(None)
    assert not is_ticker(["AAPL"])
    with pytest.raises(InvalidTicker):
        parse_ticker(42)  # type: ignore[arg-type]


@given(st.text(max_size=30))
def test_any_text_is_either_a_symbol_or_has_a_reason(text):
    symbol = normalise_ticker(text)
    problem = ticker_problem(symbol)
    if problem is None:
        assert parse_ticker(text) == symbol
        assert symbol.isascii() and symbol == symbol.upper() and "," not in symbol
        assert 1 <= len(symbol) <= TICKER_MAX
        assert parse_ticker(symbol) == symbol  # normalising is idempotent
    else:
        assert problem
        with pytest.raises(InvalidTicker):
            parse_ticker(text)
