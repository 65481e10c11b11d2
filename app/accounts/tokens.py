"""Password-reset tokens: signed, dated, and bound to the account's current password hash.

The token names the user and a digest of their password hash when it was made. Setting a new
password changes the hash (argon2 salts every hash afresh, even for the same password), so a
link works once, and every link dies when the password changes by any means. It also expires
after RESET_TOKEN_HOURS. Signed with SECRET_KEY under a salt of its own, so no other signed value
of the app (session, device cookie) passes for one.
"""

from __future__ import annotations

import hashlib
from enum import Enum

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.extensions import db
from app.models import User

SALT = "stockdash-password-reset"


class TokenProblem(Enum):
    """Why a reset link does not work, as the page tells it."""

    INVALID = "This reset link is not valid. Please check that you copied all of it."
    EXPIRED = "This reset link has expired."
    USED = (
        "This reset link has already been used, or the password was changed after it was sent."
    )
    NO_ACCOUNT = "The account this reset link was sent for no longer exists."


def serializer() -> URLSafeTimedSerializer:
    """Signs and checks reset tokens with the app's SECRET_KEY."""
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def password_digest(user: User) -> str:
    """A digest of the current password hash (the hash itself never goes into a link)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def reset_token(user: User) -> str:
    """A token that lets its holder set a new password for `user`, once."""
    return serializer().dumps({"user": user.id, "password": password_digest(user)})


def user_for_token(token: str) -> User | TokenProblem:
    """The user a token is for, or why it does not work (never an exception)."""
    max_age = current_app.config["RESET_TOKEN_HOURS"] * 3600
    try:
        payload = serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return TokenProblem.EXPIRED
    except BadSignature:
        return TokenProblem.INVALID
    if not isinstance(payload, dict):
        return TokenProblem.INVALID
    user_id, digest = payload.get("user"), payload.get("password")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not isinstance(digest, str):
        return TokenProblem.INVALID
    user = db.session.get(User, user_id) if 0 < user_id <= 2**31 - 1 else None
    if user is None:
        return TokenProblem.NO_ACCOUNT
    if digest != password_digest(user):
        return TokenProblem.USED
    return user
