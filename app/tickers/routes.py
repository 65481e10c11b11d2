"""/tickers/ (the directory), /tickers/<ticker>/ and the watch / unwatch POSTs."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.notes.forms import empty_note_form
from app.notes.queries import note_page, ticker_notes_query
from app.prices.tickers import InvalidTicker, parse_ticker
from app.security.redirects import safe_next
from app.tickers.directory import DEFAULT_SORT, SORTS, NoSuchPage, ticker_page, ticker_row
from app.tickers.watchlist import UnknownTicker, ticker_exists, unwatch, watch

bp = Blueprint("tickers", __name__)


def stored_ticker_or_404(text: str) -> str:
    """The stored ticker that the URL names, or a 404 (also for text that is no symbol)."""
    try:
        ticker = parse_ticker(text)
    except InvalidTicker:
        abort(404)
    if not ticker_exists(ticker):
        abort(404)
    return ticker


@bp.route("/tickers/")
@login_required
def directory():
    """Every ticker, searched by `q`, in `sort` order, a page at a time."""
    q = request.args.get("q", "")
    sort = request.args.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    try:
        page = ticker_page(
            q,
            sort,
            current_user.id,
            current_app.config["PER_PAGE"],
            before=request.args.get("before"),
            after=request.args.get("after"),
        )
    except NoSuchPage:
        abort(404)
    return render_template(
        "tickers/directory.html", page=page, q=q, sort=sort, sorts=SORTS, title="Tickers"
    )


@bp.route("/tickers/<ticker>/")
@login_required
def ticker(ticker: str):
    """One ticker's facts, its chart link and the watch toggle."""
    row = ticker_row(stored_ticker_or_404(ticker), current_user.id)
    if row is None:
        abort(404)
    return render_template(
        "tickers/ticker.html",
        row=row,
        page=note_page(ticker_notes_query(row.ticker)),
        form=empty_note_form(request.path, row.ticker),
        title=row.ticker,
    )


def back(ticker: str):
    """To the form's `next` when it is a path of this site, else to the ticker's page."""
    return redirect(safe_next(request.form.get("next"), url_for("tickers.ticker", ticker=ticker)))


@bp.route("/tickers/<ticker>/watch", methods=["POST"])
@login_required
def watch_ticker(ticker: str):
    """Add the ticker to the watchlist (again: nothing changes)."""
    symbol = stored_ticker_or_404(ticker)
    try:
        watch(current_user.id, [symbol])
    except UnknownTicker:  # deleted since the lookup
        abort(404)
    return back(symbol)


@bp.route("/tickers/<ticker>/unwatch", methods=["POST"])
@login_required
def unwatch_ticker(ticker: str):
    """Remove the ticker from the watchlist (not on it: nothing changes)."""
    symbol = stored_ticker_or_404(ticker)
    unwatch(current_user.id, [symbol])
    return back(symbol)
