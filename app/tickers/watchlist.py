"""The watchlist's writes: watching and unwatching tickers, each harmless to repeat."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import StockTicker, WatchlistEntry, utcnow

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class UnknownTicker(LookupError):
    """A ticker that is not stored (or was deleted meanwhile)."""


def ticker_exists(ticker: str) -> bool:
    """Whether `ticker` is stored (a primary-key lookup)."""
    found = db.session.scalar(select(StockTicker.ticker).where(StockTicker.ticker == ticker))
    return found is not None


def watched_tickers(user_id: int) -> list[str]:
    """The symbols on `user_id`'s watchlist, in order."""
    return list(
        db.session.scalars(
            select(WatchlistEntry.ticker)
            .where(WatchlistEntry.user_id == user_id)
            .order_by(WatchlistEntry.ticker)
        )
    )


def watch(user_id: int, tickers: Iterable[str]) -> None:
    """Add `tickers` to the watchlist and commit; those already on it stay as they were.
    UnknownTicker (nothing added) when one of them is not stored."""
    chosen = sorted(set(tickers))
    if not chosen:
        return
    insert = _INSERTS[db.engine.dialect.name](WatchlistEntry).on_conflict_do_nothing()
    try:
        db.session.execute(
            insert, [{"user_id": user_id, "ticker": t, "added_at": utcnow()} for t in chosen]
        )
        db.session.commit()
    except IntegrityError:  # the foreign key: a ticker that is not (or no longer) stored
        db.session.rollback()
        raise UnknownTicker(", ".join(chosen)) from None


def unwatch(user_id: int, tickers: Iterable[str]) -> None:
    """Remove `tickers` from the watchlist and commit; those not on it are simply skipped."""
    chosen = sorted(set(tickers))
    if chosen:
        db.session.execute(
            delete(WatchlistEntry).where(
                WatchlistEntry.user_id == user_id, WatchlistEntry.ticker.in_(chosen)
            )
        )
        db.session.commit()
