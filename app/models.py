"""Database models (SQLAlchemy 2.x typed declarative). Schema changes go through `migrations/`."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.prices.tickers import TICKER_MAX
from app.security.identity import login_identity

# Column sizes, shared with the forms so that a value a form accepts always fits its column.
EMAIL_MAX = 254
NAME_MAX = 64  # a user's first or last name
TICKER_NAME_MAX = 255  # a ticker's company name or industry (`prices tickers` checks it)
PASSWORD_MIN = 8
PASSWORD_MAX = 128
ABOUT_ME_MAX = 140
USER_AGENT_MAX = 200  # a login event keeps this much of the browser's User-Agent
ADDRESS_MAX = 45  # the longest textual IPv6 address (with an embedded IPv4 one)


def utcnow() -> datetime:
    """Current time in UTC; passed as a callable so every row gets its own timestamp."""
    return datetime.now(UTC)


def new_session_token() -> str:
    """A fresh random token; changing a user's token invalidates every cookie issued before."""
    return secrets.token_hex(16)


class User(UserMixin, db.Model):
    """An analyst account, identified by a lower-case e-mail address."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True, index=True)
    first_name: Mapped[str] = mapped_column(String(NAME_MAX))
    last_name: Mapped[str] = mapped_column(String(NAME_MAX))
    password_hash: Mapped[str] = mapped_column(String(255))
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.current_timestamp()
    )
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    login_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    about_me: Mapped[str] = mapped_column(String(ABOUT_ME_MAX), default="", server_default="")
    # Written at most every LAST_SEEN_EVERY (app.accounts.activity), not on every request.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def full_name(self) -> str:
        """First and last name, as shown in the navbar."""
        return f"{self.first_name} {self.last_name}"

    def get_login_identity(self) -> str:
        """What Flask-Login stores for this login (see `app.security.identity`)."""
        return login_identity(self.id, self.session_token)

    def rotate_session_token(self) -> None:
        """Invalidate every session and remember cookie issued to this user so far."""
        self.session_token = new_session_token()

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class StockTicker(db.Model):
    """A listed instrument: its symbol, company name and industry."""

    __tablename__ = "stock_tickers"

    ticker: Mapped[str] = mapped_column(String(TICKER_MAX), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(TICKER_NAME_MAX))
    industry: Mapped[str | None] = mapped_column(String(TICKER_NAME_MAX))


class StockPrice(db.Model):
    """One OHLCV bar. Only `close` is required: real data has bars with missing open/high/low."""

    __tablename__ = "stock_prices"

    ticker: Mapped[str] = mapped_column(String(TICKER_MAX), primary_key=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=False), primary_key=True)
    open: Mapped[float | None] = mapped_column(Double)
    high: Mapped[float | None] = mapped_column(Double)
    low: Mapped[float | None] = mapped_column(Double)
    close: Mapped[float] = mapped_column(Double)
    volume: Mapped[int | None] = mapped_column(BigInteger)


class _RollupLevel:
    """The columns of a pre-aggregated level (`app.prices.rollups`): one bucket of one ticker's
    bars as `price_series` aggregates them, and how many stored rows it holds."""

    ticker: Mapped[str] = mapped_column(String(TICKER_MAX), primary_key=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=False), primary_key=True)
    open: Mapped[float | None] = mapped_column(Double)
    high: Mapped[float | None] = mapped_column(Double)
    low: Mapped[float | None] = mapped_column(Double)
    close: Mapped[float] = mapped_column(Double)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(Integer)


class StockPriceHourly(_RollupLevel, db.Model):
    """A ticker's bars aggregated per hour (bucket start in `time`)."""

    __tablename__ = "stock_prices_hourly"


class StockPriceDaily(_RollupLevel, db.Model):
    """A ticker's bars aggregated per day (bucket start in `time`)."""

    __tablename__ = "stock_prices_daily"


class StockRollupTicker(db.Model):
    """Which levels a ticker has: only those whose buckets hold two rows or more."""

    __tablename__ = "stock_rollup_tickers"

    ticker: Mapped[str] = mapped_column(String(TICKER_MAX), primary_key=True)
    hourly: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    daily: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LoginOutcome(StrEnum):
    """What a login attempt against an account came to (the values of LoginEvent.outcome)."""

    SUCCESS = "success"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 (an outcome's name, not a password)
    RATE_LIMITED = "rate_limited"

    @property
    def label(self) -> str:
        """The outcome as the history page says it."""
        return self.value.replace("_", " ").capitalize()


class LoginEvent(db.Model):
    """One login attempt against an account, for its sign-in history (/settings/security/).

    Deleted with its user by the database (ON DELETE CASCADE); app.accounts.events keeps at most
    the newest LOGIN_EVENTS_KEPT per account, none older than LOGIN_EVENTS_DAYS.
    """

    __tablename__ = "login_events"
    # The history page and the pruning both read one account's events by id, newest first.
    __table_args__ = (Index("ix_login_events_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(ADDRESS_MAX), default="")
    user_agent: Mapped[str] = mapped_column(String(USER_AGENT_MAX), default="")
    remember: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def outcome_label(self) -> str:
        """The outcome as the history page says it."""
        try:
            return LoginOutcome(self.outcome).label
        except ValueError:
            return self.outcome


class TickerStats(db.Model):
    """What the tickers directory shows of each ticker's prices, kept by the importer.

    One row per ticker that has prices, rewritten for the tickers of every imported batch in
    that batch's transaction (app.prices.ticker_stats), so that listing, sorting and counting
    5,000 tickers never reads `stock_prices`. `change_pct` is the last bar's close against the
    one before, in %, stored so that it can be sorted on; None for a single bar.
    """

    __tablename__ = "ticker_stats"
    # "prices up to <date>" is the largest last_time: one index read.
    __table_args__ = (Index("ix_ticker_stats_last_time", "last_time"),)

    ticker: Mapped[str] = mapped_column(
        ForeignKey("stock_tickers.ticker", ondelete="CASCADE"), primary_key=True
    )
    first_time: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    last_time: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    last_close: Mapped[float] = mapped_column(Double)
    previous_close: Mapped[float | None] = mapped_column(Double)
    change_pct: Mapped[float | None] = mapped_column(Double)


class WatchlistEntry(db.Model):
    """A ticker an analyst watches. Goes with its user and with its ticker (ON DELETE CASCADE)."""

    __tablename__ = "watchlist"
    # The primary key serves one user's list; this serves removing a ticker.
    __table_args__ = (Index("ix_watchlist_ticker", "ticker"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    ticker: Mapped[str] = mapped_column(
        ForeignKey("stock_tickers.ticker", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


NOTE_MAX = 280  # the longest note body, in characters


class Follow(db.Model):
    """One analyst following another. Goes with either user (ON DELETE CASCADE); the database
    refuses a self-follow (ck_follows_not_self)."""

    __tablename__ = "follows"
    __table_args__ = (
        CheckConstraint("follower_id <> followed_id", name="not_self"),
        # The primary key serves "whom does X follow" (the feed, the Follow button); these serve
        # both lists newest follow first, and the follower counts.
        Index("ix_follows_followed_id_created_at", "followed_id", "created_at", "follower_id"),
        Index("ix_follows_follower_id_created_at", "follower_id", "created_at", "followed_id"),
    )

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followed_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Note(db.Model):
    """A research note: plain text (at most NOTE_MAX characters) on a ticker at a date.

    Goes with its author and with its ticker (ON DELETE CASCADE). Every list of notes is newest
    first and paged by the keyset (created_at, id), so each list has an index ending in those
    two columns; (ticker, as_of) serves the chart's markers for a date range.
    """

    __tablename__ = "notes"
    __table_args__ = (
        Index("ix_notes_created_at_id", "created_at", "id"),
        Index("ix_notes_user_id_created_at_id", "user_id", "created_at", "id"),
        Index("ix_notes_ticker_created_at_id", "ticker", "created_at", "id"),
        Index("ix_notes_ticker_as_of", "ticker", "as_of"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ticker: Mapped[str] = mapped_column(ForeignKey("stock_tickers.ticker", ondelete="CASCADE"))
    as_of: Mapped[date] = mapped_column(Date)
    body: Mapped[str] = mapped_column(String(NOTE_MAX))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
