"""`/healthcheck/` as the SPEC describes it, on SQLite and PostgreSQL, healthy and not."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.health import HEALTH_OK, HEALTH_WAIT_BUDGET_S, HealthResult, SharedCheck
from tests.rehearsal.postgres import PostgresLink
from tests.support.apps import make_config
from tests.support.databases import postgres_admin_connection, url_for_database


def assert_fast_503(client, path="/healthcheck/", limit=5.0):
    started = time.monotonic()
    response = client.get(path)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert elapsed < limit, f"healthcheck took {elapsed:.1f}s"
    return response


def test_healthcheck_ok(client):
    response = client.get("/healthcheck/")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True).strip() == HEALTH_OK
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_healthcheck_without_slash_does_not_redirect(client):
    response = client.get("/healthcheck")
    assert response.status_code == 200
    assert response.get_data(as_text=True).strip() == HEALTH_OK


def test_healthcheck_head(client):
    response = client.head("/healthcheck/")
    assert response.status_code == 200
    assert response.get_data() == b""


def test_healthcheck_sets_no_cookie_even_for_a_logged_in_browser(client, auth, user):
    auth.login(remember=True)
    response = client.get("/healthcheck/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    ("kwargs"),
    [{"headers": {"Accept": "application/health+json"}}, {"query_string": {"format": "json"}}],
)
def test_healthcheck_json(client, kwargs):
    response = client.get("/healthcheck/", **kwargs)
    assert response.status_code == 200
    assert response.mimetype == "application/health+json"
    body = response.get_json(force=True)
    assert body["status"] == "pass"
    assert body["checks"]["database:query"][0]["status"] == "pass"


def test_healthcheck_json_reports_the_rate_limit_storage(client):
    body = client.get("/healthcheck/?format=json").get_json(force=True)
    (check,) = body["checks"]["ratelimit:storage"]
    assert check["status"] == "pass"  # memory:// is per process, and says so
    assert "in this process only" in check["output"]
    assert body["checks"]["database:query"][0]["time"].endswith("+00:00")


def test_one_result_answers_the_polls_of_a_second(make_app):
    app = make_app(HEALTHCHECK_CACHE_SECONDS=30)
    client = app.test_client()
    first = client.get("/healthcheck/?format=json").get_json(force=True)
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE stock_prices RENAME TO stock_prices_away"))
    try:
        again = client.get("/healthcheck/?format=json")
        assert again.status_code == 200  # the shared result, at most 30 s old here
        assert again.get_json(force=True)["checks"] == first["checks"]
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("ALTER TABLE stock_prices_away RENAME TO stock_prices"))


# --- the shared check itself -----------------------------------------------------------------


def healthy_result() -> HealthResult:
    return HealthResult(None, 1.0, datetime.now(UTC))


def run_at_once(count: int, function) -> list:
    """Call `function` from `count` threads released together; their results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def call(index):
        barrier.wait()
        results[index] = (function(), time.monotonic())

    threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return [(result, at - started) for result, at in results]


def test_concurrent_polls_share_one_check():
    calls = []

    def slow_check():
        calls.append(1)
        time.sleep(0.3)
        return healthy_result()

    shared = SharedCheck(slow_check, ttl=1.0, budget=2.0)
    results = run_at_once(50, shared.result)
    assert len(calls) == 1
    assert all(result is not None and result.problem is None for result, _ in results)
    assert shared.result() is results[0][0]  # within the ttl: no new check


def test_steady_polling_never_waits_for_a_check():
    calls = []

    def slow_check():
        calls.append(1)
        time.sleep(0.1)
        return healthy_result()

    shared = SharedCheck(slow_check, ttl=0.6, budget=2.0)
    first = shared.result()
    time.sleep(0.35)  # past half the ttl: this poll gets the result and starts the next check
    started = time.monotonic()
    assert shared.result() is first
    assert time.monotonic() - started < 0.05
    time.sleep(0.3)
    assert len(calls) == 2
    assert shared.result() is not first  # the refreshed one, without waiting for it


def test_no_poll_waits_longer_than_its_budget_for_a_hung_check():
    release = threading.Event()

    def hung_check():
        release.wait(30)
        return healthy_result()

    shared = SharedCheck(hung_check, ttl=0.0, budget=0.5)
    try:
        results = run_at_once(20, shared.result)
        assert all(result is None for result, _ in results)
        assert max(elapsed for _, elapsed in results) < 1.5
        started = time.monotonic()
        assert shared.result() is None  # the check is past its budget: no wait at all
        assert time.monotonic() - started < 0.1
        assert shared.running_for() >= 0.5
    finally:
        release.set()


def test_the_checker_thread_survives_a_failing_check(make_app):
    app = make_app()
    middleware = app.wsgi_app
    middleware.engine = None  # a bug in the check: AttributeError inside it
    assert app.test_client().get("/healthcheck/").status_code == 503


def test_healthcheck_503_when_table_missing(make_app):
    app = make_app()
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE stock_prices RENAME TO stock_prices_away"))
    try:
        response = assert_fast_503(app.test_client())
        body = response.get_data(as_text=True)
        assert len(body.strip().splitlines()) == 1
        assert "Traceback" not in body and "SELECT" not in body
        json_response = app.test_client().get("/healthcheck/?format=json")
        assert json_response.status_code == 503
        assert json_response.get_json(force=True)["status"] == "fail"
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("ALTER TABLE stock_prices_away RENAME TO stock_prices"))


def test_healthcheck_503_on_an_empty_sqlite_file(tmp_path):
    app = create_app(make_config("sqlite:///" + str(tmp_path / "empty.db")))
    assert_fast_503(app.test_client())


# --- PostgreSQL failure modes ---------------------------------------------------------------


@pytest.fixture
def pg_url(postgresql_database, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL-only failure mode")
    return database_url


def test_healthcheck_503_when_postgres_refuses_connections(pg_url):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(make_config(f"postgresql://postgres@127.0.0.1:{port}/nothing"))
    response = assert_fast_503(app.test_client())
    assert str(port) not in response.get_data(as_text=True)  # no connection string leaks


def test_healthcheck_503_within_5s_when_postgres_never_answers(pg_url):
    # A server that accepts the TCP connection and then says nothing, like a hung host.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    accepted = []
    stop = threading.Event()

    def accept_forever():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    try:
        app = create_app(make_config(f"postgresql://postgres@127.0.0.1:{port}/nothing"))
        assert_fast_503(app.test_client())
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()


def test_healthcheck_503_within_5s_when_the_pool_is_exhausted(pg_url):
    options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 2, "pool_pre_ping": True}
    app = create_app(make_config(pg_url, SQLALCHEMY_ENGINE_OPTIONS=options))
    with app.app_context():
        held = db.engine.connect()  # the only connection, held by a "stuck request"
        try:
            response = assert_fast_503(app.test_client())
            assert "pool" in response.get_data(as_text=True)
        finally:
            held.close()
        assert app.test_client().get("/healthcheck/").status_code == 200
        db.engine.dispose()


def test_healthcheck_503_within_5s_when_the_table_is_locked(pg_url, app):
    name = pg_url.rsplit("/", 1)[1]
    locker = psycopg.connect(url_for_database(name))
    try:
        locker.execute("LOCK TABLE stock_prices IN ACCESS EXCLUSIVE MODE")
        assert_fast_503(app.test_client())
    finally:
        locker.rollback()
        locker.close()
    assert app.test_client().get("/healthcheck/").status_code == 200


def test_polls_answer_within_5s_while_the_database_is_blackholed(pg_url):
    # Pooled connections stay open but nothing answers on them (a frozen host): before, a poll
    # waited on its connection for good. Now each waits for the shared check, within its budget.
    name = pg_url.rsplit("/", 1)[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    link = PostgresLink(port, ("127.0.0.1", 5432))
    link.start()
    try:
        app = create_app(make_config(f"postgresql://postgres@127.0.0.1:{port}/{name}"))
        assert app.test_client().get("/healthcheck/").status_code == 200  # a pooled connection
        link.blackhole()
        results = run_at_once(20, lambda: app.test_client().get("/healthcheck/").status_code)
        assert [status for status, _ in results] == [503] * 20
        assert max(elapsed for _, elapsed in results) < HEALTH_WAIT_BUDGET_S + 1
        link.restore()  # closes the black-holed connections: the hung check ends
        deadline = time.monotonic() + 10
        while app.test_client().get("/healthcheck/").status_code != 200:
            assert time.monotonic() < deadline, "no recovery after the database came back"
            time.sleep(0.2)
        with app.app_context():
            db.engine.dispose()
    finally:
        link.close()


def test_app_recovers_after_server_side_connections_are_terminated(pg_url, client, auth, user):
    assert client.get("/healthcheck/").status_code == 200
    auth.login()
    name = pg_url.rsplit("/", 1)[1]
    admin = postgres_admin_connection()
    try:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()[0]
    finally:
        admin.close()
    assert killed >= 1  # the pooled connection really was cut
    assert client.get("/healthcheck/").status_code == 200
    assert client.get("/dash/").status_code == 200
