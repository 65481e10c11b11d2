"""Deleting tickers: their prices, rollups, names, summaries, watchlist entries and notes go
together, in one transaction.

`delete_tickers` is the one place that knows which tables hold a ticker's rows: a table that
refers to tickers gets its DELETE in TICKER_TABLES (children before parents), and the counts
`prices delete` prints are the rows each statement removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from app.prices.demo import DEMO_INDUSTRY, DEMO_TICKERS
from app.prices.rollups import Runner, delete_levels, refresh_timescale

# The tables holding a ticker's rows besides the rollups, children first; each is deleted from
# by its `ticker` column. notes, watchlist and ticker_stats would also cascade from
# stock_tickers, but deleting them explicitly counts them, and holds where a database does not
# enforce the keys.
TICKER_TABLES = ("notes", "watchlist", "ticker_stats", "stock_prices", "stock_tickers")
KNOWN = text(
    "SELECT ticker FROM stock_tickers WHERE ticker IN :tickers "
    "UNION SELECT DISTINCT ticker FROM stock_prices WHERE ticker IN :tickers"
).bindparams(bindparam("tickers", expanding=True))
BOUNDS = text(
    "SELECT min(time), max(time) FROM stock_prices WHERE ticker IN :tickers"
).bindparams(bindparam("tickers", expanding=True))
DEMO = text(
    "SELECT ticker FROM stock_tickers WHERE ticker IN :tickers AND industry = :industry"
).bindparams(bindparam("tickers", expanding=True))
DELETE_TICKERS = "DELETE FROM {table} WHERE ticker IN :tickers"


class UnknownTickers(LookupError):
    """Some tickers to delete have neither prices nor a name stored; nothing was deleted."""

    def __init__(self, tickers: list[str]):
        super().__init__(", ".join(tickers))
        self.tickers = tickers


@dataclass
class Deleted:
    """What `delete_tickers` removed: the tickers, and the rows removed per table."""

    tickers: list[str]
    rows: dict[str, int] = field(default_factory=dict)


def known_tickers(engine: Engine, tickers: Iterable[str]) -> set[str]:
    """Those of `tickers` that have prices or a name stored."""
    names = list(tickers)
    if not names:
        return set()
    with engine.connect() as connection:
        return {row[0] for row in connection.execute(KNOWN, {"tickers": names})}


def demo_tickers(engine: Engine) -> list[str]:
    """The demo tickers stored (`prices demo`): a demo symbol whose industry says demo data, so
    that a real ticker of the same symbol is never taken for one."""
    with engine.connect() as connection:
        rows = connection.execute(
            DEMO, {"tickers": [ticker for ticker, *_ in DEMO_TICKERS], "industry": DEMO_INDUSTRY}
        )
        return sorted(row[0] for row in rows)


def delete_tickers(engine: Engine, tickers: Iterable[str]) -> Deleted:
    """Delete `tickers` (symbols as stored) from every table, in one transaction, and return the
    rows removed per table. Raises UnknownTickers, deleting nothing, when any of them has
    neither prices nor a name."""
    names = sorted(set(tickers))
    deleted = Deleted(names)
    if not names:
        return deleted
    with engine.begin() as connection:
        known = {row[0] for row in connection.execute(KNOWN, {"tickers": names})}
        if unknown := [name for name in names if name not in known]:
            raise UnknownTickers(unknown)
        first, last = connection.execute(BOUNDS, {"tickers": names}).one()
        run = Runner.for_sqlalchemy(connection)
        deleted.rows |= delete_levels(run, names)
        for table in TICKER_TABLES:
            statement = text(DELETE_TICKERS.format(table=table)).bindparams(
                bindparam("tickers", expanding=True)
            )
            deleted.rows[table] = connection.execute(statement, {"tickers": names}).rowcount
    if run.timescale and first is not None:
        # Continuous aggregates refresh outside a transaction, once the rows are gone.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            refresh_timescale(Runner.for_sqlalchemy(connection), first, last)
    return deleted
