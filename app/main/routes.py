"""Home page and the healthcheck polled by Docker and uptime monitors."""

from __future__ import annotations

import time

from flask import current_app, jsonify, make_response, render_template, request

from app.extensions import db, limiter
from app.health import HEALTH_OK, check_database
from app.main import bp


@bp.route("/")
def index():
    """Home page: links to log in and register, or to the dashboard."""
    return render_template("index.html", title="Home")


@bp.route("/healthcheck/", methods=["GET", "HEAD"], strict_slashes=False)
@limiter.exempt
def healthcheck():
    """200 when `stock_prices` can be queried, else 503; never a redirect, cookie or trace.

    `strict_slashes=False` serves `/healthcheck` too, without the redirect a monitor could
    mistake for success.
    """
    started = time.monotonic()
    problem = check_database(db.engine)
    elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    if problem is not None:
        current_app.logger.warning("healthcheck failed: %s", problem)
    status = 200 if problem is None else 503

    if wants_health_json():
        body = {
            "status": "pass" if problem is None else "fail",
            "checks": {
                "database:query": [
                    {
                        "componentType": "datastore",
                        "status": "pass" if problem is None else "fail",
                        "observedValue": elapsed_ms,
                        "observedUnit": "ms",
                        **({"output": problem} if problem else {}),
                    }
                ]
            },
        }
        response = jsonify(body)
        response.mimetype = "application/health+json"
    else:
        text = HEALTH_OK if problem is None else f"Database check failed: {problem}"
        response = make_response(text + "\n")
        response.mimetype = "text/plain"
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def wants_health_json() -> bool:
    """JSON for `?format=json` or an Accept header naming application/health+json."""
    if request.args.get("format") == "json":
        return True
    return "application/health+json" in request.headers.get("Accept", "")
