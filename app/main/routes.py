"""The home page. (`/healthcheck/` is answered before Flask: see app.health.)"""

from __future__ import annotations

from flask import render_template

from app.main import bp


@bp.route("/")
def index():
    """Home page: links to log in and register, or to the dashboard."""
    return render_template("index.html", title="Home")
