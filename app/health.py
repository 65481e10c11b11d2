"""`/healthcheck/`: proof that the app can query `stock_prices`, for Docker and uptime monitors.

It is answered by a thin WSGI layer in front of Flask. Monitors poll it often and it must stay
cheap and side-effect free: no session, no cookie, no login lookup, no rate limit, no CSRF; so
none of Flask's per-request hooks have anything to do for it.

It must also keep its promise of an answer within 5 s however many polls arrive and whatever the
database does (locked table, a host that stopped answering without closing its connections).
So a poll never queries the database itself: one checker thread per process runs the check
(`SharedCheck`), every poll that arrives meanwhile waits for that same check, its result is
shared for HEALTHCHECK_CACHE_SECONDS, and no poll waits longer than HEALTH_WAIT_BUDGET_S: when
the check takes longer, the poll answers 503 at once instead of queueing behind it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

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
# The longest a poll waits for the shared check. Less than the 5 s promise, leaving room for the
# time a request spends queued in gunicorn before this code runs.
HEALTH_WAIT_BUDGET_S = 3.0


@dataclass(frozen=True)
class HealthResult:
    """What one check found: the database's problem (None when it works), how long the query
    took, when it ran, and the other components' checks (name -> health+json check object)."""

    problem: str | None
    elapsed_ms: float
    checked_at: datetime
    components: dict[str, dict] = field(default_factory=dict)


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


class SharedCheck:
    """Run `check` in one background thread per process and share its results.

    `result()` returns the last result if it is at most `ttl` seconds old (starting the next
    check once it is half that old, so that steady polling never waits); else it waits for the
    check in flight (starting one if none is), at most `budget` seconds, and returns None when
    that was not enough. A check already running for `budget` seconds is not waited for at all,
    so a hung database costs every later poll nothing. State is per process: after a fork
    (gunicorn's preloaded master) the child starts its own thread on first use.
    """

    def __init__(self, check: Callable[[], HealthResult], ttl: float, budget: float):
        self.check = check
        self.ttl = ttl
        self.budget = budget
        self._pid: int | None = None

    def _start_if_forked(self) -> None:
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._condition = threading.Condition()
        self._latest: HealthResult | None = None
        self._finished_at = float("-inf")
        self._running_since: float | None = None
        self._generation = 0  # how many checks have finished in this process
        threading.Thread(target=self._run, name="healthcheck", daemon=True).start()

    def result(self) -> HealthResult | None:
        """A result at most `ttl` s old, or the next one within `budget` s, else None."""
        started = time.monotonic()
        with _fork_guard:
            self._start_if_forked()
        with self._condition:
            age = started - self._finished_at
            if self._latest is not None and age <= self.ttl:
                if age >= self.ttl / 2 and self._running_since is None:
                    # Refresh ahead of expiry, so that steady polling never waits for a check.
                    self._running_since = started
                    self._condition.notify_all()
                return self._latest
            if self._running_since is None:
                self._running_since = started
                self._condition.notify_all()
            elif started - self._running_since >= self.budget:
                return None
            awaited = self._generation + 1
            finished = self._condition.wait_for(
                lambda: self._generation >= awaited, timeout=self.budget
            )
            return self._latest if finished else None

    def running_for(self) -> float:
        """Seconds the check in flight has been running (0 when none is)."""
        with self._condition:
            since = self._running_since
        return 0.0 if since is None else time.monotonic() - since

    def _run(self) -> None:
        condition = self._condition
        while True:
            with condition:
                condition.wait_for(lambda: self._running_since is not None)
            result = self.check()
            with condition:
                self._latest = result
                self._finished_at = time.monotonic()
                self._running_since = None
                self._generation += 1
                condition.notify_all()


_fork_guard = threading.Lock()


class HealthcheckMiddleware:
    """Answer HEALTH_PATHS itself; pass every other request to the Flask app.

    `components` are further checks (name -> callable returning a health+json check object)
    that the JSON answer reports; they never turn the plain answer into a 503, which only the
    database does (see README, "Login limits when Redis is down").
    """

    def __init__(
        self,
        wsgi_app: Callable,
        engine: Engine,
        add_headers: Callable[[Response, bool], None],
        logger: logging.Logger,
        cache_seconds: float = 1.0,
        components: dict[str, Callable[[], dict]] | None = None,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.engine = engine
        self.add_headers = add_headers
        self.logger = logger
        self.components = components or {}
        self.shared = SharedCheck(self.run_checks, cache_seconds, HEALTH_WAIT_BUDGET_S)

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

    def run_checks(self) -> HealthResult:
        """One check of the database and the other components (in the checker thread)."""
        checked_at = datetime.now(UTC)
        started = time.monotonic()
        try:
            problem = check_database(self.engine)
        except Exception:  # a bug here must not stop the checker thread for good
            self.logger.exception("healthcheck: the database check itself failed")
            problem = "the database check itself failed"
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        if problem is not None:
            self.logger.warning("healthcheck failed: %s", problem)
        components = {}
        for name, component_check in self.components.items():
            try:
                components[name] = component_check()
            except Exception:
                self.logger.exception("healthcheck: the %s check itself failed", name)
                components[name] = {"status": "warn", "output": "the check itself failed"}
        return HealthResult(problem, elapsed_ms, checked_at, components)

    def health_response(self, request: Request) -> Response:
        """200 or 503, as text, or as application/health+json when asked for."""
        result = self.shared.result()
        if result is None:
            waited = max(self.shared.running_for(), HEALTH_WAIT_BUDGET_S)
            problem = f"no answer from the database within {waited:.0f} s"
            result = HealthResult(problem, round(waited * 1000, 1), datetime.now(UTC))
        status = 200 if result.problem is None else 503
        wants_json = request.args.get("format") == "json" or (
            "application/health+json" in request.headers.get("Accept", "")
        )
        if not wants_json:
            text_body = (
                HEALTH_OK if result.problem is None else f"Database check failed: {result.problem}"
            )
            return Response(text_body + "\n", status=status, mimetype="text/plain")
        return Response(
            json.dumps(health_json(result)), status=status, mimetype="application/health+json"
        )


def health_json(result: HealthResult) -> dict:
    """The application/health+json body: the database check, then the other components'.

    The overall status is `fail` when the database fails, else `warn` when a component warns
    (the site works, something needs attention), else `pass`.
    """
    database = {
        "componentType": "datastore",
        "status": "pass" if result.problem is None else "fail",
        "observedValue": result.elapsed_ms,
        "observedUnit": "ms",
        "time": result.checked_at.isoformat(timespec="milliseconds"),
    }
    if result.problem is not None:
        database["output"] = result.problem
    checks = {"database:query": [database]}
    checks.update({name: [check] for name, check in result.components.items()})
    statuses = {check["status"] for entries in checks.values() for check in entries}
    verdict = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
    return {"status": verdict, "checks": checks}
