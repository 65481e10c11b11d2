"""The Dash app mounted at /dash/ inside the Flask server."""

from __future__ import annotations

import dash
from flask import Flask, jsonify, redirect, request, url_for
from flask_login import current_user

from app.security.headers import allow_inline_scripts
from dashapp.callbacks import register_callbacks
from dashapp.compression import init_static_compression
from dashapp.layout import serve_layout
from dashapp.page import SitePageDash

URL_PREFIX = "/dash/"
CALLBACK_PATH = URL_PREFIX + "_dash-update-component"


def init_dashboard(server: Flask) -> dash.Dash:
    """Create the Dash app on `server`, behind login, and return it."""
    protect_dashboard(server, URL_PREFIX)
    # The page's <head> (Bootstrap, the site's CSS, the theme script) is the site's own: see
    # dashapp.page and templates/dashboard.html.
    dash_app = SitePageDash(
        __name__,
        server=server,
        url_base_pathname=URL_PREFIX,
        serve_locally=True,
        compress=True,
        title="Dashboard",
        update_title=None,
    )
    init_static_compression(server)
    dash_app.layout = serve_layout
    register_callbacks(dash_app)
    server.extensions["dash_app"] = dash_app
    check_callback_payloads(server, dash_app)
    # Dash writes a few inline <script>s into its page; the CSP allows exactly those by hash.
    allow_inline_scripts(server, list(dash_app.csp_hashes()))
    # `/dash` (no slash) is not a Dash route; send it where the user meant to go.
    server.add_url_rule(
        URL_PREFIX.rstrip("/"), "dashboard_redirect", lambda: redirect(URL_PREFIX, code=308)
    )
    return dash_app


def protect_dashboard(server: Flask, prefix: str) -> None:
    """One check on the path guards every route under `prefix`, whatever Dash adds later.

    Anonymous users asking for the page itself are sent to log in and brought back to the same
    view; anything else (layout, callbacks, component suites, assets) answers 401 JSON, because a
    redirect to an HTML form is of no use to the Dash renderer's fetch calls.
    """

    @server.before_request
    def require_login_for_dashboard():
        if not request.path.startswith(prefix) or current_user.is_authenticated:
            return None
        if request.path == prefix and request.method in ("GET", "HEAD"):
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        response = jsonify(error="authentication required", login=url_for("auth.login"))
        response.status_code = 401
        return response


def check_callback_payloads(server: Flask, dash_app: dash.Dash) -> None:
    """Answer malformed callback requests 400 before Dash reads them.

    Dash trusts the renderer: a body that is not the expected JSON, or names an output no
    callback has, raises inside Dash and would become a 500.
    """

    @server.before_request
    def validate_callback_payload():
        if request.path != CALLBACK_PATH or request.method != "POST":
            return None
        problem = callback_payload_problem(request.get_json(silent=True), dash_app.callback_map)
        if problem is None:
            return None
        response = jsonify(error=f"bad callback request: {problem}")
        response.status_code = 400
        return response


def callback_payload_problem(body, callback_map) -> str | None:
    """What is wrong with a callback request body, or None if Dash can handle it."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        return "unknown output"
    for key in ("inputs", "state"):
        items = body.get(key, [])
        if not isinstance(items, list):
            return f"{key} must be a list"
        for item in items:
            entries = item if isinstance(item, list) else [item]
            if not all(isinstance(e, dict) and "id" in e and "property" in e for e in entries):
                return f"each of {key} needs an id and a property"
    if not isinstance(body.get("outputs"), dict | list):
        return "outputs must be an object or a list"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "changedPropIds must be a list of strings"
    expected = len(callback_map[output]["inputs"])
    if len(body.get("inputs", [])) != expected:
        return f"expected {expected} inputs"
    return None
