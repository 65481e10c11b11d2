"""Writing (POST /notes/) and deleting (POST /notes/<id>/delete) notes, and /explore/."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from app.auth.limits import check_and_count, refund
from app.notes.forms import NoteForm, as_of_last
from app.notes.links import chart_url
from app.notes.queries import default_as_of, explore_query, feed_query, note_page
from app.notes.writes import NoteNotFound, NotTheAuthor, UnknownTicker, create_note, delete_note
from app.security.redirects import safe_next
from app.tickers.directory import watchlist_rows

bp = Blueprint("notes", __name__)


def home_page(form: NoteForm, status: int = 200, limit_message: str | None = None):
    """The logged-in home page: the note form (as submitted, with its errors), the watchlist
    and the first page of the feed. The pager's links are the home page's, whichever route
    renders it."""
    watchlist = watchlist_rows(current_user.id)
    page = note_page(feed_query(current_user.id))
    html = render_template(
        "home.html",
        form=form,
        watchlist=watchlist,
        page=page,
        pager_endpoint="main.index",
        limit_message=limit_message,
        title="Home",
    )
    return html, status


def rate_limited_message(retry_after: int) -> str:
    """What the form says when the account has written as many notes as NOTE_RATE_LIMIT
    allows."""
    minutes = max(1, round(retry_after / 60))
    return (
        f"You have written as many notes as allowed ({current_app.config['NOTE_RATE_LIMIT']}); "
        f"please try again in {minutes} minute{'s' if minutes > 1 else ''}."
    )


@bp.route("/notes/", methods=["POST"])
@login_required
def create():
    """Store a note and go back to a safe `next` (default home); a form with errors is shown
    again on the home page (400), and one over NOTE_RATE_LIMIT with a message (429)."""
    form = NoteForm()
    if not form.validate_on_submit():
        return home_page(form, 400)
    attempt = check_and_count("NOTE_RATE_LIMIT", [f"notes:{current_user.id}"])
    if not attempt.allowed:
        body, status = home_page(form, 429, rate_limited_message(attempt.retry_after))
        return body, status, {"Retry-After": str(attempt.retry_after)}
    ticker = form.ticker.data
    try:
        as_of = form.as_of.data or default_as_of(ticker)
        create_note(current_user.id, ticker, as_of, form.body.data)
    except UnknownTicker:
        refund(attempt)  # nothing was written
        form.ticker.errors.append(f"There is no ticker {ticker}.")
        return home_page(form, 400)
    flash(f"Your note on {ticker} has been posted.", "success")
    return redirect(safe_next(form.next.data, url_for("main.index")))


@bp.route("/notes/<int:note_id>/delete", methods=["POST"])
@login_required
def delete(note_id: int):
    """Delete one's own note (another's: 403, unknown: 404) and go back to a safe `next`."""
    try:
        delete_note(current_user.id, note_id)
    except NoteNotFound:
        abort(404)
    except NotTheAuthor:
        abort(403)
    flash("Your note has been deleted.", "success")
    return redirect(safe_next(request.form.get("next"), url_for("main.index")))


@bp.route("/explore/")
@login_required
def explore():
    """Every analyst's notes, newest first, a page at a time."""
    return render_template("notes/explore.html", page=note_page(explore_query()), title="Explore")


# What templates/notes/_note.html needs: the chart link of a note, the date field's maximum.
bp.add_app_template_global(chart_url, "note_chart_url")
bp.add_app_template_global(as_of_last, "note_as_of_last")
