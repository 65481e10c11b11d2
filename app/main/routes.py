"""The home page. (`/healthcheck/` is answered before Flask: see app.health.)"""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_login import current_user

from app.notes.forms import empty_note_form
from app.notes.routes import home_page

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    """The public home page; logged in, the analyst's home: the note form, their watchlist and
    their feed (a page at a time)."""
    if not current_user.is_authenticated:
        return render_template("index.html", title="Home")
    return home_page(empty_note_form(url_for("main.index")))
