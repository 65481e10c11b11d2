"""The security headers of every response: the Content-Security-Policy and its companions."""

from __future__ import annotations

from flask import Flask, request, session

# The headers every answer carries besides its Content-Security-Policy.
BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# The policy of an answer that loads and runs nothing (gunicorn's own error answers).
BARE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


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
        keep_private(response.headers)
        return response


def keep_private(headers) -> None:
    """`Cache-Control: no-store` on every answer that depends on the session (a logged-in page,
    a form with its CSRF token, a Dash callback answering a user), unless the view chose its own
    caching (static files and Dash's fingerprinted assets do): no browser or proxy cache keeps
    account data for the next person at the same computer or behind the same proxy."""
    if session.accessed and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"


def set_security_headers(app: Flask, headers, is_secure: bool) -> None:
    """The headers every response carries (those a view set itself are kept)."""
    headers.setdefault("Content-Security-Policy", app.extensions["stockdash_csp"])
    for name, value in BASE_HEADERS.items():
        headers.setdefault(name, value)
    if is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
