"""Flask-Login bound to our login identities: who the current user is, and when they are not."""

from __future__ import annotations

import time

from flask import Flask, current_app
from flask_login import AnonymousUserMixin

from app.extensions import db, login_manager
from app.models import User
from app.security.identity import parse_login_identity


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


class AnonymousUser(AnonymousUserMixin):
    """The visitor before login; templates can ask for a name without checking first."""

    full_name = ""


def init_login(app: Flask) -> None:
    """Bind Flask-Login with our identity scheme."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.anonymous_user = AnonymousUser
    # login_user() stores what this method returns, in the session and the remember cookie.
    login_manager.id_attribute = "get_login_identity"
    login_manager.user_loader(load_user_from_identity)
