"""`prices tickers`: company names and industries from a CSV of ticker, name and industry, or
from a public constituents list (see TICKER_NAME_ALIASES).

The symbols follow the same rule as the price import (`parse_ticker_field`), so a name can only
be stored for a ticker that could have prices.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import text as text_clause
from sqlalchemy.engine import Connection

from app.models import TICKER_NAME_MAX
from app.prices.importing.fields import RejectedRow, parse_ticker_field, resolve_columns
from app.prices.importing.pipeline import ImportStats
from app.prices.importing.sources import RejectLog, open_text

# The header names of our own layout (ticker,name,industry) and of the common public constituents
# lists: Wikipedia's S&P 500 table (Symbol,Security,GICS Sector,...), the datahub/GitHub
# constituents.csv (Symbol,Name,Sector), Nasdaq's listings (Symbol,Security Name,...) and
# screener (Symbol,Name,...,Sector,Industry), ETF holdings (Ticker,Name,Sector,...). The first
# alias present wins; other columns are ignored.
TICKER_NAME_ALIASES: dict[str, tuple[str, ...]] = {
    "ticker": ("ticker", "symbol", "ticker symbol"),
    "name": ("name", "company", "security", "company name", "security name"),
    "industry": ("industry", "sector", "gics sector"),
}
UPSERT_NAMES = text_clause(
    "INSERT INTO stock_tickers (ticker, name, industry) "
    "VALUES (:ticker, :name, :industry) ON CONFLICT (ticker) DO UPDATE SET "
    "name = COALESCE(excluded.name, stock_tickers.name), "
    "industry = COALESCE(excluded.industry, stock_tickers.industry)"
)


def iterate_records(
    reader: Iterable[list[str]], rejects: RejectLog, source: str, stats: ImportStats
) -> Iterator[list[str]]:
    """The non-blank records of `reader`, each counted in `stats.read`; a record the csv module
    cannot split (e.g. a field over its size limit) is counted as read and rejected instead of
    ending the file."""
    records = iter(reader)
    while True:
        try:
            fields = next(records)
        except StopIteration:
            return
        except csv.Error as error:
            stats.read += 1
            stats.rejected += 1
            rejects.add(source, getattr(reader, "line_num", 0), f"malformed CSV: {error}", [])
            continue
        if fields:
            stats.read += 1
            yield fields


def ticker_name_values(fields: list[str], columns: dict[str, int]) -> dict[str, str | None]:
    """The `stock_tickers` values of one record (None for an empty name or industry); raises
    RejectedRow with the reason when the record cannot be stored."""
    width = max(columns.values()) + 1
    if len(fields) < width:
        raise RejectedRow(f"expected {width} fields, found {len(fields)}")
    values = {field: fields[index].strip() for field, index in columns.items()}
    ticker = parse_ticker_field(values["ticker"])
    if any(len(value) > TICKER_NAME_MAX for value in values.values()):
        raise RejectedRow(f"name or industry longer than {TICKER_NAME_MAX} characters")
    return {
        "ticker": ticker,
        "name": values.get("name") or None,
        "industry": values.get("industry") or None,
    }


def import_ticker_names(path: Path, connection: Connection, rejects: RejectLog) -> tuple[int, int]:
    """Upsert names and industries from a CSV with ticker, name and industry columns; an empty
    name or industry keeps the stored one. Returns (records read, rows stored); the caller
    commits."""
    stats = ImportStats()
    records = []
    text, raw = open_text(path)
    with raw, text:
        reader = csv.reader(text)
        columns = resolve_columns(next(reader, None) or [], TICKER_NAME_ALIASES, ("ticker",))
        for fields in iterate_records(reader, rejects, str(path), stats):
            try:
                records.append(ticker_name_values(fields, columns))
            except RejectedRow as error:
                stats.rejected += 1
                rejects.add(str(path), reader.line_num, str(error), fields)
    if records:
        connection.execute(UPSERT_NAMES, records)
    return stats.read, len(records)
