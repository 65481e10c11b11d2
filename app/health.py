"""`/healthcheck/`: proof that the app can query `stock_prices`, for Docker and uptime monitors.

It is answered by a thin WSGI layer in front of Flask. Monitors poll it often and it must stay
cheap and side-effect free: no session, no cookie, no login lookup, no rate limit, no CSRF; so
none of Flask's per-request hooks have anything to do for it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable

from psycopg import DatabaseError
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.wrappers import Request, Response

HEALTH_PATHS = frozenset({"/healthcheck/", "/healthcheck"})  # no redirect for either
HEALTH_OK = "The app and database are working fine"
HEALTH_QUERY = text("SELECT ticker FROM stock_prices LIMIT 1")
# A healthcheck must answer well within the 5 s monitors allow, even when the engine-wide
# statement timeout (meant for real work) is longer.
HEALTH_STATEMENT_TIMEOUT_MS = 2000


def check_database(engine: Engine) -> str | None:
    """Run the health query; None when it works, else a one-line reason safe to show anyone.

    The reason names the kind of failure only: exception texts can carry host names or SQL.
    """
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                run_postgres_health_query(connection)
            else:
                connection.execute(HEALTH_QUERY).first()
    except PoolTimeoutError:
        return "no database connection free (pool exhausted)"
    except (SQLAlchemyError, DatabaseError) as error:
        # Unreachable server, timeout and missing table all mean the same to a monitor.
        return f"query on stock_prices failed ({type(error).__name__})"
    return None


def run_postgres_health_query(connection: Connection) -> None:
    """The health query under its own short statement timeout, in one round trip.

    Sent as one simple-protocol string in autocommit mode, PostgreSQL runs both statements in
    one implicit transaction, so SET LOCAL covers the SELECT and nothing else: no BEGIN, no
    ROLLBACK, no separate SET, which would each cost a round trip on every poll.
    """
    connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(
            f"SET LOCAL statement_timeout = {HEALTH_STATEMENT_TIMEOUT_MS}; {HEALTH_QUERY.text}"
        )
        cursor.nextset()
        cursor.fetchone()


class HealthcheckMiddleware:
    """Answer HEALTH_PATHS itself; pass every other request to the Flask app."""

    def __init__(
        self,
        wsgi_app: Callable,
        engine: Engine,
        add_headers: Callable[[Response, bool], None],
        logger: logging.Logger,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.engine = engine
        self.add_headers = add_headers
        self.logger = logger

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") not in HEALTH_PATHS:
            return self.wsgi_app(environ, start_response)
        request = Request(environ)
        if request.method not in ("GET", "HEAD"):
            response = Response("Method not allowed\n", status=405, mimetype="text/plain",
                                headers={"Allow": "GET, HEAD"})
        else:
            response = self.health_response(request)
        response.headers["Cache-Control"] = "no-store"
        self.add_headers(response, request.is_secure)
        return response(environ, start_response)

    def health_response(self, request: Request) -> Response:
        """200 or 503, as text, or as application/health+json when asked for."""
        started = time.monotonic()
        problem = check_database(self.engine)
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        status = 200 if problem is None else 503
        if problem is not None:
            self.logger.warning("healthcheck failed: %s", problem)
        wants_json = request.args.get("format") == "json" or (
            "application/health+json" in request.headers.get("Accept", "")
        )
        if not wants_json:
            text_body = HEALTH_OK if problem is None else f"Database check failed: {problem}"
            return Response(text_body + "\n", status=status, mimetype="text/plain")
        verdict = "pass" if problem is None else "fail"
        check = {
            "componentType": "datastore",
            "status": verdict,
            "observedValue": elapsed_ms,
            "observedUnit": "ms",
        }
        if problem is not None:
            check["output"] = problem
        body = {"status": verdict, "checks": {"database:query": [check]}}
        return Response(json.dumps(body), status=status, mimetype="application/health+json")
