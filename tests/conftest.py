"""Fixtures in the style of Flask's tutorial: `app`, `client`, `runner` and an `auth` helper.

Every test that uses the database runs twice: on a SQLite file and on a fresh PostgreSQL database
created for this test session (dropped at its end). The schema is made by the real migrations.
The helpers that tests import live in tests/support; this file holds only fixtures.
"""

from __future__ import annotations

import threading
from pathlib import Path

import flask_migrate
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from werkzeug.serving import make_server

from app import create_app, passwords
from app.extensions import db
from tests.support.apps import TABLES, make_config
from tests.support.browser import chromium_installed, start_chromium
from tests.support.ci import require
from tests.support.data import TEST_DATA_VARIABLE, real_price_file, write_subset
from tests.support.databases import postgres_admin_connection, scratch_database
from tests.support.mailbox import SMTPServer
from tests.support.users import AuthActions, create_user

SUBSET_TICKERS = ("AAPL", "MSFT", "GOOGL")


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing():
    """argon2id at its cheapest parameters in this process (a hash still says its parameters,
    so the app verifies it as any other). The tests hash and verify passwords thousands of times,
    and at the production cost (0.1-0.2 s each here) that was a third of the suite's time.
    tests/test_security.py checks the production parameters themselves."""
    with pytest.MonkeyPatch.context() as patch:
        quick = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        patch.setattr(passwords, "_hasher", quick)
        passwords._dummy_hash.cache_clear()
        yield
    passwords._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def postgresql_database():
    """URL of a PostgreSQL database created for this test session."""
    postgres_admin_connection().close()  # skips (fails on CI) without a server
    with scratch_database("stockdash_test") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory):
    """URL of a SQLite file for this test session."""
    return "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "stockdash.db")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request):
    """Each backend in turn, migrated to the latest schema once per test session."""
    url = request.getfixturevalue(f"{request.param}_database")
    app = create_app(make_config(url))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """The URL of a database with no tables yet (for the migration tests)."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "migrations.db")
        return
    postgres_admin_connection().close()
    with scratch_database("stockdash_migrations") as url:
        yield url


@pytest.fixture
def make_app(database_url):
    """Factory for apps on the current backend; tables are emptied after the test."""
    apps = []

    def factory(**overrides):
        app = create_app(make_config(database_url, **overrides))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    cleaner = create_app(make_config(database_url))
    with cleaner.app_context():
        with db.engine.begin() as connection:
            for table in TABLES:
                connection.execute(text(f"DELETE FROM {table}"))
        db.engine.dispose()


@pytest.fixture
def app(make_app):
    """The app on the current backend, with CSRF and rate limiting on as in production."""
    return make_app()


@pytest.fixture
def client(app):
    """A test client for `app`."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for `app`."""
    return app.test_cli_runner()


@pytest.fixture
def user(app):
    """The id of a registered user with DEFAULT_EMAIL / DEFAULT_PASSWORD."""
    return create_user(app)


@pytest.fixture
def auth(client):
    """The form-submitting helper bound to `client`."""
    return AuthActions(client)


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback (aiosmtpd); read what arrived in `.mailbox`."""
    server = SMTPServer()
    yield server
    server.close()


@pytest.fixture
def mail_app(make_app, smtp_server):
    """The app sending its e-mail to `smtp_server`."""
    return make_app(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_FROM="site@example.com"
    )


@pytest.fixture(scope="session")
def real_file() -> Path:
    """The real S&P 500 file (`STOCKDASH_TEST_DATA`); skipped without it, except on CI."""
    path = real_price_file()
    require(path.exists(), f"the real data file is not at {path} (set {TEST_DATA_VARIABLE})")
    return path


@pytest.fixture(scope="session")
def sp500_subset(real_file, tmp_path_factory) -> Path:
    """A CSV with the real rows of SUBSET_TICKERS (about 3,800 rows), for dashboard tests."""
    path = tmp_path_factory.mktemp("prices") / "subset.csv"
    write_subset(real_file, path, SUBSET_TICKERS)
    return path


@pytest.fixture
def live_app(make_app):
    """The app as in production: debug off, CSRF, rate limits and CSP on."""
    return make_app(TESTING=False, DEBUG=False)


@pytest.fixture
def live_server(live_app):
    """`live_app` served on a free loopback port; the fixture's value is its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser():
    """Debian's Chromium through Debian's chromedriver; nothing is downloaded."""
    require(
        chromium_installed(),
        "chromium and chromium-driver are not installed (apt-get install them)",
    )
    driver = start_chromium(window_size="1280,900", logs=("browser",))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
