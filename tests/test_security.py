"""Redirect safety, dashboard protection, cookies, headers and rate limits."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from werkzeug.routing import Rule

from app import ConfigurationError, create_app
from app.security.identity import login_identity, parse_login_identity
from app.security.redirects import DEFAULT_NEXT, safe_next
from tests.support.apps import make_config
from tests.support.dash_client import call, callback_key
from tests.support.users import DEFAULT_EMAIL, AuthActions, csrf_token_from

EVIL_NEXT = [
    "//evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "evil.example",
    "",
]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_safe_next_refuses_other_sites(target):
    assert safe_next(target) == DEFAULT_NEXT


@pytest.mark.parametrize(
    "target", ["/dash/", "/dash/?tickers=AAPL,MSFT&chart=ohlc", "/", "/dash/?next=//x"]
)
def test_safe_next_keeps_same_site_paths(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_login_never_redirects_off_site(client, auth, user, target):
    response = auth.login(next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == DEFAULT_NEXT
    # and again once logged in, when /login/ is visited directly
    response = client.get("/login/", query_string={"next": target})
    assert response.headers["Location"] == DEFAULT_NEXT


def test_login_identity_round_trip():
    identity = login_identity(7, "abc123", issued_at=1_700_000_000)
    assert parse_login_identity(identity) == (7, "abc123", 1_700_000_000)
    for junk in ["", "7", "x:y:z", "7:abc", "7:abc:1:2", "-1:abc:1"]:
        assert parse_login_identity(junk) is None


def concrete_url(rule: Rule) -> str:
    """A URL matching `rule`, with every variable filled by a plausible value."""
    samples = {"path": "some/page", "package_name": "dash", "fingerprinted_path": "dash.v1.js"}
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: samples.get(m.group(1), "x"), rule.rule)


def test_every_dash_route_is_protected(app, client):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/dash/")]
    # Dash's own routes are all there: if Dash renames one, this list shows it.
    assert {"/dash/", "/dash/_dash-layout", "/dash/_dash-update-component"} <= {
        rule.rule for rule in rules
    }
    assert len(rules) >= 8
    for rule in rules:
        url = concrete_url(rule)
        for method in sorted(rule.methods - {"OPTIONS"}):
            response = client.open(url, method=method, query_string={"tickers": "AAPL"})
            if url == "/dash/" and method in ("GET", "HEAD"):
                assert response.status_code == 302, url
                assert response.headers["Location"] == "/login/?next=/dash/?tickers%3DAAPL"
            else:
                assert response.status_code == 401, (method, url)
                if method != "HEAD":
                    assert response.is_json and response.json["error"], (method, url)


def test_dash_assets_and_unknown_paths_are_protected(client):
    for url in ["/dash/assets/style.css", "/dash/_dash-component-suites/x/y.js", "/dash/anything"]:
        assert client.get(url).status_code == 401


def test_dash_without_slash_redirects_to_dash(client):
    response = client.get("/dash")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/dash/")


def test_dash_page_and_callback_work_when_logged_in(client, auth, user):
    auth.login()
    page = client.get("/dash/")
    assert page.status_code == 200
    assert "_dash-renderer" in page.get_data(as_text=True)
    assert client.get("/dash/_dash-layout").status_code == 200
    # A Dash callback is a JSON POST without a CSRF token: it must not answer 400.
    response = call_chart(client, client.application)
    assert response.status_code == 200
    assert "price-chart" in response.get_json()["response"]


def call_chart(client, app):
    """Draw an (empty) chart through the real callback."""
    key = callback_key(app, "price-chart.figure", "notices")
    return call(client, app, key, [("url", "search", ""), ("theme", "data", "light")])


def test_two_apps_in_one_process_both_have_working_callbacks(app, make_app, user):
    second = make_app()
    for each in (app, second):
        client = each.test_client()
        AuthActions(client).login()
        assert call_chart(client, each).status_code == 200


@pytest.mark.parametrize("path", ["/", "/login/", "/healthcheck/", "/nope", "/dash/"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "script-src 'self' 'sha256-" in csp  # Dash's inline scripts, by hash only
    assert "unsafe-eval" not in csp


def test_pages_with_account_data_are_never_stored(client, auth, user):
    # Before: no Cache-Control at all, so a shared computer's browser cache (or a proxy) could
    # keep the dashboard, the user's name or a form's CSRF token for the next person.
    for path in ["/login/", "/register/"]:
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    response = auth.login()
    assert response.headers["Cache-Control"] == "no-store"
    for path in ["/", "/dash/", "/logout/", "/dash/_dash-layout", "/nope"]:
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    assert call_chart(client, client.application).headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_own_caching(client, auth, user):
    auth.login()
    page = client.get("/dash/").get_data(as_text=True)
    asset = re.search(r'src="(/dash/_dash-component-suites/[^"]+)"', page).group(1)
    for path, expected in [("/static/css/site.css", "no-cache"), (asset, "max-age=")]:
        response = client.get(path)
        assert expected in response.headers["Cache-Control"], path
        response.close()  # a file response holds its file open until closed


def test_pages_load_nothing_from_other_origins(client, auth, user):
    auth.login()
    for path in ["/", "/logout/", "/dash/"]:
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', page), path


def test_cookies_are_httponly_and_lax(client, auth, user):
    response = auth.login(remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    remember_cookie = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session_cookie, remember_cookie):
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
    assert "Expires" not in session_cookie  # ends with the browser


def test_secure_cookies_when_configured(make_app, user):
    app = make_app(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    client = app.test_client()
    response = AuthActions(client).login(remember=True)
    assert all("Secure" in c for c in response.headers.getlist("Set-Cookie"))


def test_remember_cookie_expires_after_remember_days(app, auth, user):
    with time_machine.travel("2026-01-10 12:00:00", tick=False):
        response = auth.login(remember=True)
    remember = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")
    )
    assert "Expires=Sun, 11 Jan 2026 12:00:00 GMT" in remember


def test_server_rejects_remember_cookie_older_than_remember_days(app, client, auth, user):
    with time_machine.travel("2026-01-10 12:00:00", tick=False):
        auth.login(remember=True)
        remember = client.get_cookie("remember_token").value
    # A fresh browser holding only a copy of the remember cookie:
    for delay, expected in [(timedelta(hours=23), 200), (timedelta(days=1, minutes=1), 302)]:
        browser = app.test_client()
        browser.set_cookie("remember_token", remember)
        with time_machine.travel("2026-01-10 12:00:00Z", tick=False) as clock:
            clock.shift(delay)
            assert browser.get("/dash/").status_code == expected, delay


def test_session_login_also_ends_after_remember_days(client, auth, user):
    with time_machine.travel("2026-01-10 12:00:00Z", tick=False) as clock:
        auth.login()
        assert client.get("/dash/").status_code == 200
        clock.shift(timedelta(days=1, seconds=1))
        assert client.get("/dash/").status_code == 302


def test_failed_logins_are_rate_limited_per_address(make_app, user):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    auth = AuthActions(client)
    for i in range(3):
        response = auth.login(email=f"user{i}@example.com", password="wrong password")
        assert response.status_code == 200
    response = auth.login()  # the right password, but the address is blocked now
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    # The healthcheck is never limited.
    assert all(client.get("/healthcheck/").status_code == 200 for _ in range(10))


def test_failed_logins_are_rate_limited_per_account(make_app, user):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    for i in range(3):
        client = app.test_client()
        addr = {"REMOTE_ADDR": f"10.0.0.{i + 1}"}
        token_page = client.get("/login/", environ_base=addr)
        data = {
            "csrf_token": csrf_token_from(token_page),
            "email": DEFAULT_EMAIL,
            "password": "bad password",
        }
        assert client.post("/login/", data=data, environ_base=addr).status_code == 200
    # From a fourth address, the account itself is now protected.
    client = app.test_client()
    addr = {"REMOTE_ADDR": "10.0.0.99"}
    data = {
        "csrf_token": csrf_token_from(client.get("/login/", environ_base=addr)),
        "email": DEFAULT_EMAIL,
        "password": "analytical engine",
    }
    assert client.post("/login/", data=data, environ_base=addr).status_code == 429


def test_successful_logins_and_form_errors_do_not_count(make_app, user):
    app = make_app(LOGIN_RATE_LIMIT="2 per minute")
    client = app.test_client()
    auth = AuthActions(client)
    for _ in range(4):
        assert auth.login(email="not an email").status_code == 200
        assert auth.login().status_code == 302
        auth.logout()


def test_rate_limit_can_be_turned_off(make_app, user):
    app = make_app(LOGIN_RATE_LIMIT="1 per minute", RATELIMIT_ENABLED=False)
    auth = AuthActions(app.test_client())
    assert all(auth.login(password="wrong password").status_code == 200 for _ in range(3))


def test_app_refuses_to_start_without_secret_key(database_url):
    config = make_config(database_url, TESTING=False, SECRET_KEY=None)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(config)


def test_debug_and_testing_get_a_throwaway_key(database_url):
    app = create_app(make_config(database_url, SECRET_KEY=None))
    assert len(app.config["SECRET_KEY"]) >= 32


def test_trusted_hosts(make_app):
    app = make_app(TRUSTED_HOSTS=["stocks.example"])
    client = app.test_client()
    assert client.get("/", headers={"Host": "stocks.example"}).status_code == 200
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_proxy_fix_uses_forwarded_scheme_for_redirects(make_app):
    app = make_app(PROXY_FIX=1)
    response = app.test_client().get(
        "/dash/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "stocks.example"}
    )
    assert response.status_code == 302
    assert "Strict-Transport-Security" in response.headers  # the request was seen as HTTPS


def test_production_passwords_are_hashed_with_argon2id_at_owasp_cost():
    """The suite hashes cheaply (conftest's quick_password_hashing); a hash made by the app in a
    process of its own is argon2id at argon2-cffi's defaults, 64 MiB and 3 passes (OWASP asks for
    at least 19 MiB with 2 passes)."""
    script = "from app.passwords import hash_password; print(hash_password('x'))"
    made = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent,
    ).stdout  # fmt: skip
    kind, _version, parameters = made.split("$")[1:4]
    cost = dict(item.split("=") for item in parameters.split(","))
    assert kind == "argon2id"
    assert int(cost["m"]) >= 65536 and int(cost["t"]) >= 3
