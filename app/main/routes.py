"""The home page. (`/healthcheck/` is answered before Flask: see app.health.)"""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    """Home page: links to log in and register, or to the dashboard."""
    return render_template("index.html", title="Home")
