"""The home page. (`/healthcheck/` is answered before Flask: see app.health.)"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.tickers.directory import watchlist_rows

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    """The public home page; logged in, the analyst's home with their watchlist."""
    if not current_user.is_authenticated:
        return render_template("index.html", title="Home")
    return render_template("home.html", watchlist=watchlist_rows(current_user.id), title="Home")
