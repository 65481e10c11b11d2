"""Which requests must carry a CSRF token: every unsafe one, except Dash's JSON callbacks."""

from __future__ import annotations

from flask import Flask, request

from app.extensions import csrf


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
