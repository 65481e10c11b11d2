"""Login and registration limits: atomic under concurrency (memory and Redis), shared across
processes, device cookies against lock-outs, and Redis going away (on a closed port, and killed
mid-run)."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import threading
import time
import uuid

import pytest
import redis
from limits import parse_many

from app.auth.devices import DEVICE_COOKIE
from app.auth.limits import AttemptCounters, counters
from tests.support.ci import require
from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, csrf_token_from

REDIS_URL = "redis://127.0.0.1:6379/12"
WRONG = "wrong password"
GUESSED = "nobody@example.com"  # guesses at an account that is not the user's


def redis_up(url: str = REDIS_URL) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["memory", "redis"])
def storage_uri(request) -> str:
    """Each storage in turn; Redis is the shared one on 6379 (keys made unique per test)."""
    if request.param == "redis":
        require(redis_up(), "Redis is not running on 127.0.0.1:6379")
        return REDIS_URL
    return "memory://"


def unique_address() -> str:
    """A client address no other test uses (Redis keeps counters between test runs)."""
    number = uuid.uuid4().int
    return f"10.{number % 250}.{number // 250 % 250}.{number // 62500 % 250 + 1}"


class Browser:
    """A test client at one client address, submitting the real login form."""

    def __init__(self, app, address: str | None = None):
        self.client = app.test_client()
        self.address = address or unique_address()

    def form(self, email: str, password: str) -> dict:
        page = self.client.get("/login/", environ_base={"REMOTE_ADDR": self.address})
        return {"csrf_token": csrf_token_from(page), "email": email, "password": password}

    def post(self, form: dict):
        return self.client.post("/login/", data=form, environ_base={"REMOTE_ADDR": self.address})

    def login(self, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD):
        return self.post(self.form(email, password))

    def logout(self):
        page = self.client.get("/logout/", environ_base={"REMOTE_ADDR": self.address})
        self.client.post(
            "/logout/",
            data={"csrf_token": csrf_token_from(page)},
            environ_base={"REMOTE_ADDR": self.address},
        )


def verified(response) -> bool:
    """True when the password was actually checked (and found wrong)."""
    return response.status_code == 200 and "Invalid e-mail or password." in response.get_data(
        as_text=True
    )


def concurrent_posts(browsers_and_forms) -> list:
    """POST every prepared form at once (one thread each, released by a barrier)."""
    barrier = threading.Barrier(len(browsers_and_forms))
    responses = [None] * len(browsers_and_forms)

    def post(index, browser, form):
        barrier.wait()
        responses[index] = browser.post(form)

    threads = [
        threading.Thread(target=post, args=(i, b, f)) for i, (b, f) in enumerate(browsers_and_forms)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return responses


# --- atomic counting ------------------------------------------------------------------------


def test_30_concurrent_wrong_passwords_from_one_address_let_exactly_5_through(
    make_app, user, storage_uri
):
    # Before: Flask-Limiter tested the limit before the request and counted after it, so
    # concurrent tries all passed the test (6 of 30 got through on Redis).
    app = make_app(LOGIN_RATE_LIMIT="5 per minute", RATELIMIT_STORAGE_URI=storage_uri)
    address = unique_address()
    email = f"{uuid.uuid4().hex}@example.com"
    prepared = []
    for _ in range(30):
        browser = Browser(app, address)
        prepared.append((browser, browser.form(email, WRONG)))
    responses = concurrent_posts(prepared)
    assert sum(verified(r) for r in responses) == 5
    assert sum(r.status_code == 429 for r in responses) == 25
    assert all(r.headers["Retry-After"].isdigit() for r in responses if r.status_code == 429)


def test_30_concurrent_tries_on_one_account_from_many_addresses_let_5_through(
    make_app, user, storage_uri
):
    app = make_app(LOGIN_RATE_LIMIT="5 per minute", RATELIMIT_STORAGE_URI=storage_uri)
    email = f"{uuid.uuid4().hex}@example.com"
    prepared = []
    for _ in range(30):
        browser = Browser(app)
        prepared.append((browser, browser.form(email, WRONG)))
    responses = concurrent_posts(prepared)
    assert sum(verified(r) for r in responses) == 5
    assert sum(r.status_code == 429 for r in responses) == 25


def test_two_processes_on_redis_share_one_allowance(make_app, user):
    # Two apps stand for two gunicorn workers: on Redis they count together.
    require(redis_up(), "Redis is not running on 127.0.0.1:6379")
    first, second = (
        make_app(LOGIN_RATE_LIMIT="5 per minute", RATELIMIT_STORAGE_URI=REDIS_URL)
        for _ in range(2)
    )
    address = unique_address()
    email = f"{uuid.uuid4().hex}@example.com"
    responses = [Browser(app, address).login(email, WRONG) for app in (first, second) * 5]
    assert sum(verified(r) for r in responses) == 5
    assert [r.status_code for r in responses[5:]] == [429] * 5


def test_refused_and_refunded_attempts_leave_nothing_counted(make_app, user, storage_uri):
    app = make_app(RATELIMIT_STORAGE_URI=storage_uri)
    items = parse_many("2 per minute")
    keys = [f"address:{unique_address()}", f"account:{uuid.uuid4().hex}"]
    with app.app_context():
        limits = counters()
        first = limits.check_and_count(items, keys)
        limits.refund(first)  # a correct password: given back
        allowed = [limits.check_and_count(items, keys).allowed for _ in range(3)]
        assert allowed == [True, True, False]
        refused = limits.check_and_count(items, keys)
        assert not refused.allowed and refused.refused_key == keys[0]
        assert 1 <= refused.retry_after <= 60
        # The refusals counted nothing: the address's counter is exactly at its allowance.
        storage = limits.primary
        assert storage.get(items[0].key_for("attempts", keys[0])) == 2


# --- lock-outs --------------------------------------------------------------------------------


def test_the_owners_browser_is_not_locked_out_by_guesses_from_elsewhere(make_app, user):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    owner = Browser(app)
    assert owner.login().status_code == 302  # this browser is now a known device
    assert owner.client.get_cookie(DEVICE_COOKIE, path="/login/") is not None
    owner.logout()
    # Guesses from three addresses use up the account's allowance for unknown browsers...
    for _ in range(3):
        assert verified(Browser(app).login(password=WRONG))
    attacker = Browser(app).login()  # ...so even the right password from a fourth is refused
    assert attacker.status_code == 429
    assert "browser where you logged in before" in attacker.get_data(as_text=True)
    # Before: the owner got 429 too. Their browser has its own allowance.
    assert owner.login().status_code == 302


def test_a_known_device_has_an_allowance_of_its_own(make_app, user):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    owner = Browser(app)
    assert owner.login().status_code == 302
    owner.logout()
    cookie = owner.client.get_cookie(DEVICE_COOKIE, path="/login/").value
    # A stolen device cookie, used from several addresses, still gets 3 guesses in all.
    results = []
    for _ in range(4):
        thief = Browser(app)
        thief.client.set_cookie(DEVICE_COOKIE, cookie, path="/login/")
        results.append(thief.login(password=WRONG).status_code)
    assert results == [200, 200, 200, 429]
    # The account's allowance for unknown browsers was not touched.
    assert Browser(app).login().status_code == 302


def test_a_device_cookie_for_another_login_or_forged_is_ignored(make_app, user):
    app = make_app(LOGIN_RATE_LIMIT="2 per minute")
    forged = Browser(app)
    forged.client.set_cookie(DEVICE_COOKIE, "eyJsb2dpbiI6ImFkYUBleGFtcGxlLmNvbSJ9.x.y", path="/")
    for _ in range(2):
        assert verified(forged.login(password=WRONG))
    # The forged cookie counted as an unknown browser: the account is now closed to those.
    assert Browser(app).login().status_code == 429


def test_the_address_limit_holds_for_known_devices_too(make_app, user):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    owner = Browser(app)
    assert owner.login().status_code == 302
    owner.logout()
    for number in range(3):
        assert verified(owner.login(email=f"other{number}@example.com", password=WRONG))
    assert owner.login().status_code == 429  # the address is spent, whatever the cookie


# --- registration -----------------------------------------------------------------------------


def test_registration_is_limited_per_address(make_app, auth):
    app = make_app(REGISTER_RATE_LIMIT="3 per hour")
    client = app.test_client()
    statuses = []
    for number in range(4):
        page = client.get("/register/")
        data = {
            "csrf_token": csrf_token_from(page),
            "email": f"probe{number}@example.com",
            "first_name": "Pro",
            "last_name": "Be",
            "password": "long enough",
            "password2": "long enough",
        }
        statuses.append(client.post("/register/", data=data))
    assert [r.status_code for r in statuses] == [302, 302, 302, 429]
    assert "too many registrations" in statuses[-1].get_data(as_text=True)


# --- Redis down -------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health_json(app) -> dict:
    response = app.test_client().get("/healthcheck/?format=json")
    assert response.status_code == 200  # Redis alone never fails the healthcheck
    return response.get_json(force=True)


def test_redis_on_a_closed_port_keeps_logins_working_and_limited(make_app, user, caplog):
    # Before: every POST /login/ answered 500.
    app = make_app(
        LOGIN_RATE_LIMIT="3 per minute",
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{closed_port()}/0",
    )
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        started = time.monotonic()
        assert Browser(app).login().status_code == 302
        assert time.monotonic() - started < 3
        browser = Browser(app)
        results = [browser.login(password=WRONG).status_code for _ in range(4)]
    assert results == [200, 200, 200, 429]  # limited in this process meanwhile
    errors = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(errors) == 1 and errors[0].levelno == logging.ERROR  # loud, and once
    body = health_json(app)
    assert body["status"] == "warn"
    (check,) = body["checks"]["ratelimit:storage"]
    assert check["status"] == "warn" and "in this process only" in check["output"]
    assert app.test_client().get("/healthcheck/").status_code == 200


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, on a free port, which the test may kill."""
    binary = shutil.which("redis-server")
    require(binary is not None, "redis-server is not installed")
    port = closed_port()

    def start() -> subprocess.Popen:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not redis_up(f"redis://127.0.0.1:{port}/0"):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        return process

    servers = []

    class Handle:
        url = f"redis://127.0.0.1:{port}/0"

        def start(self):
            servers.append(start())

        def kill(self):
            servers[-1].kill()
            servers[-1].wait(10)

    handle = Handle()
    handle.start()
    yield handle
    for process in servers:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_redis_going_away_mid_run_falls_back_and_comes_back(make_app, user, own_redis, caplog):
    app = make_app(
        LOGIN_RATE_LIMIT="4 per minute",
        RATELIMIT_STORAGE_URI=own_redis.url,
        RATELIMIT_STORAGE_RECHECK_S=0.2,
    )
    browser = Browser(app)
    assert [browser.login(GUESSED, WRONG).status_code for _ in range(2)] == [200, 200]
    assert health_json(app)["status"] == "pass"
    keys = redis.Redis.from_url(own_redis.url).keys("LIMITS*")
    assert keys  # the counters really are in this Redis

    own_redis.kill()
    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        # Counting goes on in the process (from zero: the shared counts are out of reach).
        results = [browser.login(GUESSED, WRONG).status_code for _ in range(5)]
        assert results == [200, 200, 200, 200, 429]
        assert Browser(app).login().status_code == 302
        time.sleep(1.1)  # past the healthcheck's shared result
        assert health_json(app)["checks"]["ratelimit:storage"][0]["status"] == "warn"

        own_redis.start()  # empty: a restarted Redis keeps nothing (no persistence)
        time.sleep(0.3)  # past the recheck interval
        assert browser.login(GUESSED, WRONG).status_code == 200  # counted in Redis again
        time.sleep(1.1)
        assert health_json(app)["status"] == "pass"
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unreachable" in m for m in messages) == 1
    assert sum("reachable again" in m for m in messages) == 1
    assert redis.Redis.from_url(own_redis.url).keys("LIMITS*")


def test_a_bad_storage_uri_or_allowance_stops_the_start(make_app):
    with pytest.raises(ValueError, match="RATELIMIT_STORAGE_URI"):
        make_app(RATELIMIT_STORAGE_URI="nosuchscheme://x")
    with pytest.raises(ValueError, match="LOGIN_RATE_LIMIT"):
        make_app(LOGIN_RATE_LIMIT="five a minute")


def test_attempt_counters_name_the_storage_without_its_password():
    limits = AttemptCounters("redis://:secret@127.0.0.1:6390/3", logging.getLogger("t"))
    assert limits.name == "redis://127.0.0.1:6390/3"
