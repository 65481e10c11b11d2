"""Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").

A browser that logs in successfully receives a signed cookie naming the login and a random
nonce. On its next login attempts for that login it is a *known device*: its failures count
against that cookie's own allowance, not against the account's allowance for unknown browsers.
So an attacker who exhausts an account's allowance (from anywhere, without the cookie) locks out
unknown browsers only, never the owner's browser; and one who stole a device cookie still gets
only that cookie's allowance (and the per-address one). The cookie carries no power of its own:
it never logs anyone in, the password is always checked.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

DEVICE_COOKIE = "stockdash_device"
DEVICE_COOKIE_MAX_AGE = timedelta(days=365)
DEVICE_COOKIE_PATH = "/login/"  # sent with login attempts only
SALT = "stockdash-device-cookie"


def serializer() -> URLSafeTimedSerializer:
    """Signs and checks device cookies with the app's SECRET_KEY (HMAC-SHA1 by itsdangerous,
    over a salt of their own, so no other signed value of the app passes for one)."""
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def known_device(email: str) -> str | None:
    """The nonce of this request's device cookie if it is valid and issued for `email`."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        payload = serializer().loads(raw, max_age=int(DEVICE_COOKIE_MAX_AGE.total_seconds()))
    except BadSignature:  # also expired ones (SignatureExpired is a BadSignature)
        return None
    if not isinstance(payload, dict) or payload.get("login") != email:
        return None
    nonce = payload.get("nonce")
    return nonce if isinstance(nonce, str) else None


def issue_device_cookie(response: Response, email: str) -> None:
    """Give the browser a new device cookie for `email` (after each successful login, with a
    new nonce, so that a failed-attempt count never carries over to the next login)."""
    value = serializer().dumps({"login": email, "nonce": secrets.token_urlsafe(16)})
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_COOKIE_MAX_AGE,
        path=DEVICE_COOKIE_PATH,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
