"""The sign-in history: every login attempt against an account, kept within bounds.

Each attempt on a registered address is one row of `login_events` (success, wrong password,
rate limited) with the client address as the app sees it (the real one behind PROXY_FIX), the
browser's User-Agent cut at USER_AGENT_MAX characters, and whether "remember me" was asked for.
Attempts on unknown addresses belong to no account and are not kept.

Retention: recording an event also deletes that account's events beyond the newest
LOGIN_EVENTS_KEPT and those older than LOGIN_EVENTS_DAYS. Both conditions are asked of one
account's rows through the index (user_id, id), so pruning never scans the table, and no
account holds more than LOGIN_EVENTS_KEPT (plus the attempts of one moment) whatever is tried
against it.
"""

from __future__ import annotations

from datetime import timedelta

from flask import request
from sqlalchemy import delete, insert, or_, select

from app.extensions import db
from app.models import ADDRESS_MAX, USER_AGENT_MAX, LoginEvent, utcnow

LOGIN_EVENTS_KEPT = 1000
LOGIN_EVENTS_DAYS = 180


def printable_text(value: str, limit: int) -> str:
    """`value` without control characters (PostgreSQL cannot store NUL), cut at `limit`."""
    return "".join(ch for ch in value if ord(ch) >= 0x20 and ord(ch) != 0x7F)[:limit]


def record_login_event(user_id: int, outcome: str, remember: bool = False) -> None:
    """Add one attempt to `user_id`'s history and prune it; the caller commits."""
    db.session.execute(
        insert(LoginEvent).values(
            user_id=user_id,
            at=utcnow(),
            outcome=outcome,
            address=printable_text(request.remote_addr or "", ADDRESS_MAX),
            user_agent=printable_text(request.headers.get("User-Agent", ""), USER_AGENT_MAX),
            remember=bool(remember),
        )
    )
    prune_login_events(user_id)


def prune_login_events(user_id: int) -> None:
    """Delete `user_id`'s events beyond the newest LOGIN_EVENTS_KEPT or older than
    LOGIN_EVENTS_DAYS (both read through the index (user_id, id))."""
    oldest_kept = (
        select(LoginEvent.id)
        .where(LoginEvent.user_id == user_id)
        .order_by(LoginEvent.id.desc())
        .offset(LOGIN_EVENTS_KEPT - 1)
        .limit(1)
        .scalar_subquery()
    )
    cutoff = utcnow() - timedelta(days=LOGIN_EVENTS_DAYS)
    db.session.execute(
        delete(LoginEvent).where(
            LoginEvent.user_id == user_id,
            or_(LoginEvent.at < cutoff, LoginEvent.id < oldest_kept),
        ),
        execution_options={"synchronize_session": False},
    )
