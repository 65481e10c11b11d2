"""Analysts following analysts: the writes (each harmless to repeat), the counts a profile shows
and the two lists, newest follow first.

Every list is read through an index ending in (created_at, the other user's id): followers of X
through ix_follows_followed_id_created_at, those X follows through
ix_follows_follower_id_created_at, so that app.pagination.time_keyset_page reads a page as one
index range, however deep it is, and the counts are index-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Follow, User, utcnow
from app.pagination import Page, time_keyset_page

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class SelfFollow(ValueError):
    """An analyst asked to follow themselves (the database refuses it too: ck_follows_not_self)."""


class UnknownUser(LookupError):
    """The analyst to follow is not stored (or was deleted meanwhile)."""


@dataclass(frozen=True)
class FollowCounts:
    """How many analysts follow a user, and how many that user follows."""

    followers: int
    following: int


def follow(follower_id: int, followed_id: int) -> None:
    """`follower_id` follows `followed_id`, committed; already following: nothing changes (the
    first follow keeps its time, so the lists do not reorder). SelfFollow for oneself,
    UnknownUser (nothing written) when either user is not stored."""
    if follower_id == followed_id:
        raise SelfFollow(follower_id)
    insert = _INSERTS[db.engine.dialect.name](Follow).on_conflict_do_nothing()
    try:
        db.session.execute(
            insert,
            [{"follower_id": follower_id, "followed_id": followed_id, "created_at": utcnow()}],
        )
        db.session.commit()
    except IntegrityError:  # a foreign key: the user was deleted since the route looked
        db.session.rollback()
        raise UnknownUser(followed_id) from None


def unfollow(follower_id: int, followed_id: int) -> None:
    """`follower_id` stops following `followed_id`, committed; not following: nothing changes."""
    db.session.execute(
        delete(Follow).where(Follow.follower_id == follower_id, Follow.followed_id == followed_id)
    )
    db.session.commit()


def is_following(follower_id: int, followed_id: int) -> bool:
    """Whether `follower_id` follows `followed_id` (a primary-key lookup)."""
    found = db.session.scalar(
        select(Follow.follower_id).where(
            Follow.follower_id == follower_id, Follow.followed_id == followed_id
        )
    )
    return found is not None


def follow_counts(user_id: int) -> FollowCounts:
    """The user's follower and following counts, in one round trip (two index-only counts)."""
    followers = select(func.count()).where(Follow.followed_id == user_id).scalar_subquery()
    following = select(func.count()).where(Follow.follower_id == user_id).scalar_subquery()
    row = db.session.execute(select(followers, following)).one()
    return FollowCounts(followers=row[0], following=row[1])


def _with_viewer(query: Select, viewer_id: int) -> Select:
    """`query` (users) with `viewer_follows`: whether `viewer_id` follows each listed user, for
    its Follow / Unfollow button (a primary-key probe per row of the page)."""
    mine = aliased(Follow)
    viewer_follows = exists().where(mine.follower_id == viewer_id, mine.followed_id == User.id)
    return query.add_columns(viewer_follows.label("viewer_follows"))


def followers_query(user_id: int, viewer_id: int) -> Select:
    """The analysts following `user_id`, newest follow first: rows of (User, followed_at,
    viewer_follows), to be paged by (Follow.created_at, Follow.follower_id)."""
    query = (
        select(User, Follow.created_at.label("followed_at"))
        .join(Follow, Follow.follower_id == User.id)
        .where(Follow.followed_id == user_id)
    )
    return _with_viewer(query, viewer_id)


def following_query(user_id: int, viewer_id: int) -> Select:
    """The analysts `user_id` follows, newest follow first: rows of (User, followed_at,
    viewer_follows), to be paged by (Follow.created_at, Follow.followed_id)."""
    query = (
        select(User, Follow.created_at.label("followed_at"))
        .join(Follow, Follow.followed_id == User.id)
        .where(Follow.follower_id == user_id)
    )
    return _with_viewer(query, viewer_id)


def _key(row) -> tuple:
    """A listed row's place in its list: (when the follow was made, the listed user's id)."""
    return row.followed_at, row.User.id


def followers_page(user_id: int, viewer_id: int) -> Page:
    """The page of `user_id`'s followers the request asks for (`?before=` / `?after=`)."""
    query = followers_query(user_id, viewer_id)
    return time_keyset_page(query, Follow.created_at, Follow.follower_id, _key, scalars=False)


def following_page(user_id: int, viewer_id: int) -> Page:
    """The page of the analysts `user_id` follows that the request asks for."""
    query = following_query(user_id, viewer_id)
    return time_keyset_page(query, Follow.created_at, Follow.followed_id, _key, scalars=False)
