"""Cross-cutting security: safe redirects, login identities, CSRF scope and response headers."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_login import AnonymousUserMixin

from app.extensions import csrf, db, login_manager

DEFAULT_NEXT = "/dash/"
IDENTITY_SEPARATOR = ":"


def safe_next(target: str | None, default: str = DEFAULT_NEXT) -> str:
    """Return `target` if it is a same-site path, else `default`.

    Browsers are lenient: they strip leading blanks and tabs, read backslashes as slashes and
    `//host` as another site. So only a value that starts with exactly one `/` and contains no
    backslash, control character or blank at the start is followed.
    """
    if not target:
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target) or "\\" in target:
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def login_identity(user_id: int, session_token: str, issued_at: float | None = None) -> str:
    """The string stored in the session and the remember cookie for a login.

    It carries the user's current session token (so that logout and password changes invalidate
    every copy of old cookies) and the time of login (so that the server, not only the browser,
    enforces REMEMBER_DAYS: Flask-Login's remember cookie has no timestamp of its own). The cookie
    is signed by Flask-Login, so none of the parts can be forged.
    """
    issued = int(time.time() if issued_at is None else issued_at)
    return IDENTITY_SEPARATOR.join((str(user_id), session_token, str(issued)))


def parse_login_identity(identity: str) -> tuple[int, str, int] | None:
    """Split a login identity into (user id, session token, issued at); None if malformed."""
    parts = identity.split(IDENTITY_SEPARATOR)
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    return int(parts[0]), parts[1], int(parts[2])


def load_user_from_identity(identity: str):
    """Flask-Login user loader: the user, or None if the login was revoked or is too old."""
    from app.models import User

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


def init_csrf(app: Flask, exempt_prefix: str) -> None:
    """CSRF-check every unsafe request except those under `exempt_prefix` (Dash's JSON API).

    Dash callbacks are POSTs with `Content-Type: application/json`, which another site cannot send
    without a CORS preflight that we never grant, and the session cookie is SameSite=Lax; so they
    are not forgeable, while a CSRF token check would answer every one of them 400.
    """
    csrf.init_app(app)

    @app.before_request
    def check_csrf():
        if app.config.get("WTF_CSRF_ENABLED", True) and not request.path.startswith(exempt_prefix):
            csrf.protect()


def content_security_policy(script_hashes: list[str]) -> str:
    """A CSP allowing only this origin's scripts plus the hashed inline scripts Dash writes.

    Styles allow 'unsafe-inline' because plotly.js injects <style> elements while drawing.
    """
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def allow_inline_scripts(app: Flask, script_hashes: list[str]) -> None:
    """Let the CSP admit exactly these inline scripts (by hash); the header is built once."""
    app.extensions["stockdash_csp"] = content_security_policy(script_hashes)


def init_security_headers(app: Flask) -> None:
    """Add the security headers to every response, errors and static files included."""
    allow_inline_scripts(app, [])

    @app.after_request
    def add_security_headers(response):
        set_security_headers(app, response.headers, request.is_secure)
        return response


def set_security_headers(app: Flask, headers, is_secure: bool) -> None:
    """The headers every response carries (those a view set itself are kept)."""
    headers.setdefault("Content-Security-Policy", app.extensions["stockdash_csp"])
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
