"""Error pages in the site's layout."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db

PAGE_TEXTS = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Please log in", "You need to be logged in to see this."),
    403: ("Forbidden", "You are not allowed to do this."),
    404: ("Page not found", "There is nothing at this address."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "The data sent was larger than this site accepts."),
    429: (
        "Too many attempts",
        "There were too many failed attempts. Please wait a minute and try again.",
    ),
    500: ("Something went wrong", "An unexpected error occurred. It has been logged."),
}


def render_error(code: int, detail: str | None = None):
    """Render the error page for `code` with the right status."""
    title, text = PAGE_TEXTS.get(code, ("Error", "The request could not be completed."))
    if request_ctx.url_adapter is None:
        # No URL adapter (e.g. a Host outside TRUSTED_HOSTS): the layout cannot build its links.
        return f"{title}: {detail or text}\n", code, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("error.html", code=code, title=title, text=detail or text), code


def init_errorhandlers(app: Flask) -> None:
    """Register the site's error pages; the 500 handler rolls back the failed transaction."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, "The form was out of date or incomplete. Please try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith("/dash/_") or error.code is None:
            return error  # Dash's own JSON routes keep their plain answers
        return render_error(error.code)

    @app.errorhandler(500)
    def internal_error(error):
        db.session.rollback()
        return render_error(500)
