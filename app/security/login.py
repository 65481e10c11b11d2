"""Flask-Login bound to our login identities: who the current user is, and when they are not."""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import AnonymousUserMixin, login_user, logout_user
from werkzeug.wrappers import Response

from app.extensions import db, login_manager
from app.models import User
from app.security.identity import login_identity, parse_login_identity


def load_user_from_identity(identity: str) -> User | None:
    """Flask-Login user loader: the user, or None if the login was revoked or is too old."""
    parsed = parse_login_identity(identity)
    if parsed is None:
        return None
    user_id, token, issued = parsed
    max_age = current_app.config["REMEMBER_DAYS"] * 86400
    if not 0 <= time.time() - issued <= max_age:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_token != token:
        return None
    return user


def renew_login(user: User) -> None:
    """Log this browser in again after `user`'s session token was rotated (password change,
    "log out all other sessions"): every other session and remember cookie stays dead, this one
    goes on, with the time it was first issued (so REMEMBER_DAYS still counts from the real
    login) and a remember cookie again only if it had one."""
    parsed = parse_login_identity(session.get("_user_id") or "")
    issued = parsed[2] if parsed else None
    cookie_name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    login_user(user, remember=cookie_name in request.cookies)
    # login_user() stored an identity issued now; the remember cookie is written from this value.
    session["_user_id"] = login_identity(user.id, user.session_token, issued)


class AnonymousUser(AnonymousUserMixin):
    """The visitor before login; templates can ask for a name without checking first."""

    full_name = ""


def end_login(message: str) -> Response:
    """Log out of this browser (session and remember cookie) and go home, saying `message`.
    The caller has already done what the ending means in the database (rotated the session
    token, deleted the account) and committed it."""
    session.clear()
    logout_user()  # after clear(): it leaves the flag that deletes the remember cookie
    flash(message, "info")
    return redirect(url_for("main.index"))


def init_login(app: Flask) -> None:
    """Bind Flask-Login with our identity scheme."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.anonymous_user = AnonymousUser
    # login_user() stores what this method returns, in the session and the remember cookie.
    login_manager.id_attribute = "get_login_identity"
    login_manager.user_loader(load_user_from_identity)
