"""Fixtures in the style of Flask's tutorial: `app`, `client`, `runner` and an `auth` helper.

Every test that uses the database runs twice: on a SQLite file and on a fresh PostgreSQL database
created for this test session (dropped at its end). The schema is made by the real migrations.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import shutil
import threading
import uuid
from pathlib import Path

import flask_migrate
import psycopg
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from sqlalchemy import text
from werkzeug.serving import make_server

from app import create_app
from app.config import engine_options, normalise_database_url
from app.extensions import db
from app.models import User
from app.passwords import hash_password

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
TABLES = ("users", "stock_prices", "stock_tickers")
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

ROOT = Path(__file__).resolve().parents[1]
REAL_FILE = ROOT.parent / "shared" / "data" / "sp500_daily_2013_2018.csv.gz"
SUBSET_TICKERS = ("AAPL", "MSFT", "GOOGL")

DEFAULT_EMAIL = "ada@example.com"
DEFAULT_PASSWORD = "analytical engine"


def postgres_admin_connection() -> psycopg.Connection:
    """A connection to the server's maintenance database; skips (fails on CI) without one."""
    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        message = f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error}"
        if IN_CI:
            pytest.fail(message + " (CI must run the PostgreSQL tests)")
        pytest.skip(message)


def url_for_database(name: str) -> str:
    """POSTGRES_ADMIN_URL with its database name replaced."""
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def postgresql_database():
    """URL of a PostgreSQL database created for this test session."""
    admin = postgres_admin_connection()
    name = f"stockdash_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_for_database(name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory):
    """URL of a SQLite file for this test session."""
    return "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "stockdash.db")


def make_config(database_url: str, **overrides) -> dict:
    """Test configuration for `database_url`, with `overrides` applied last."""
    url = normalise_database_url(database_url)
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(url, {}),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOG_LEVEL": "WARNING",
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request):
    """Each backend in turn, migrated to the latest schema once per test session."""
    url = request.getfixturevalue(f"{request.param}_database")
    app = create_app(make_config(url))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


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


def create_user(app, email=DEFAULT_EMAIL, password=DEFAULT_PASSWORD, **fields) -> int:
    """Insert a user directly (quicker than the form) and return its id."""
    with app.app_context():
        user = User(
            email=email,
            first_name=fields.get("first_name", "Ada"),
            last_name=fields.get("last_name", "Lovelace"),
            password_hash=hash_password(password),
        )
        db.session.add(user)
        db.session.commit()
        return user.id


@pytest.fixture
def user(app):
    """The id of a registered user with DEFAULT_EMAIL / DEFAULT_PASSWORD."""
    return create_user(app)


def csrf_token_from(response) -> str:
    """The CSRF token of the first form in an HTML response."""
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, "no CSRF token in the page"
    return match.group(1)


class AuthActions:
    """Submit the real forms, CSRF token included, as a browser would."""

    def __init__(self, client):
        self._client = client

    def register(self, email=DEFAULT_EMAIL, password=DEFAULT_PASSWORD, **fields):
        token = csrf_token_from(self._client.get("/register/"))
        data = {
            "csrf_token": token,
            "email": email,
            "first_name": fields.get("first_name", "Ada"),
            "last_name": fields.get("last_name", "Lovelace"),
            "password": password,
            "password2": fields.get("password2", password),
        }
        return self._client.post("/register/", data=data)

    def login(self, email=DEFAULT_EMAIL, password=DEFAULT_PASSWORD, remember=False, next=None):
        query = {"next": next} if next is not None else {}
        token = csrf_token_from(self._client.get("/login/", query_string=query))
        data = {"csrf_token": token, "email": email, "password": password}
        if remember:
            data["remember_me"] = "y"
        return self._client.post("/login/", data=data, query_string=query)

    def logout(self):
        token = csrf_token_from(self._client.get("/logout/"))
        return self._client.post("/logout/", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    """The form-submitting helper bound to `client`."""
    return AuthActions(client)


@pytest.fixture(scope="session")
def real_file() -> Path:
    """The real S&P 500 file in ../shared/data; skipped without it, except on CI."""
    if not REAL_FILE.exists():
        message = f"the real data file is not at {REAL_FILE}"
        if IN_CI:
            pytest.fail(message + " (CI must run this test)")
        pytest.skip(message)
    return REAL_FILE


@pytest.fixture(scope="session")
def sp500_subset(real_file, tmp_path_factory) -> Path:
    """A CSV with the real rows of SUBSET_TICKERS (about 3,800 rows), for dashboard tests."""
    path = tmp_path_factory.mktemp("prices") / "subset.csv"
    with gzip.open(real_file, "rt", newline="") as source, path.open("w", newline="") as target:
        reader = csv.reader(source)
        writer = csv.writer(target)
        header = next(reader)
        writer.writerow(header)
        name = header.index("Name")
        writer.writerows(row for row in reader if row[name] in SUBSET_TICKERS)
    return path


def load_prices(app, path: Path) -> None:
    """Import a CSV through the real `flask prices import` command."""
    result = app.test_cli_runner().invoke(args=["prices", "import", str(path)])
    assert result.exit_code == 0, result.output


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


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
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        message = "chromium and chromium-driver are not installed (apt-get install them)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def fill(driver, values: dict[str, str]) -> None:
    """Type `values` into the form fields of those names."""
    for name, value in values.items():
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def console_problems(driver) -> list[str]:
    """Console errors and CSP violations the page produced so far."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]
    ]
