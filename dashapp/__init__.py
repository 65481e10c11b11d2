"""The Dash app mounted at /dash/ inside the Flask server."""

from __future__ import annotations

import dash
from flask import Flask, jsonify, redirect, request, url_for
from flask_login import current_user

from dashapp.callbacks import register_callbacks
from dashapp.layout import serve_layout

URL_PREFIX = "/dash/"
BOOTSTRAP_CSS = "/static/vendor/bootstrap/bootstrap.min.css"


def init_dashboard(server: Flask) -> dash.Dash:
    """Create the Dash app on `server`, behind login, and return it."""
    protect_dashboard(server, URL_PREFIX)
    dash_app = dash.Dash(
        __name__,
        server=server,
        url_base_pathname=URL_PREFIX,
        external_stylesheets=[BOOTSTRAP_CSS],
        serve_locally=True,
        title="stockdash",
        update_title=None,
    )
    dash_app.layout = serve_layout
    register_callbacks(dash_app)
    # Dash writes a few inline <script>s into its page; the CSP allows exactly those by hash.
    server.extensions["stockdash_csp_hashes"] = list(dash_app.csp_hashes())
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
