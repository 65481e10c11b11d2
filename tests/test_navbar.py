"""One navbar (templates/_navbar.html, items from app.navigation) on the Flask pages and on the
Dash page, and both pages under the 'self' CSP: no inline script but Dash's hashed ones."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from app import navigation
from app.navigation import NavItem

NAVBAR_RE = re.compile(r'<nav class="navbar.*?</nav>', re.S)
ACTIVE_LINK = 'class="nav-link active" aria-current="page"'
LOGOUT_TOKEN_RE = re.compile(
    r'<form method="post" action="/logout/">\s*'
    r'<input type="hidden" name="csrf_token" value="([^"]+)">'
)


CSRF_VALUE_RE = re.compile(r'(name="csrf_token" value=")[^"]+"')


def navbar(page: str) -> str:
    """The navbar's markup in a page, its CSRF token's value blanked: a token carries the second
    it was made in, so two page loads a second apart differ there and only there."""
    match = NAVBAR_RE.search(page)
    assert match, "no navbar in the page"
    return CSRF_VALUE_RE.sub(r'\1"', match.group(0))


def dash_page_for_visitors(app) -> str:
    """The Dash page as it renders for someone not logged in (the login check would send them
    to the login form before Dash is reached; this renders the page itself)."""
    with app.test_request_context("/dash/"):
        return app.extensions["dash_app"].index()


def test_the_same_navbar_on_flask_pages_and_the_dashboard(client, auth, user):
    auth.login()
    home = navbar(client.get("/").get_data(as_text=True))
    dash = navbar(client.get("/dash/").get_data(as_text=True))
    assert "Ada Lovelace" in dash and 'id="nav-logout"' in dash and 'id="theme-switch"' in dash
    assert ACTIVE_LINK not in home
    assert dash.count(ACTIVE_LINK) == 1  # "Dashboard", and only there
    assert dash.replace(ACTIVE_LINK, 'class="nav-link"') == home


def test_the_same_navbar_for_visitors(app, client):
    home = navbar(client.get("/").get_data(as_text=True))
    dash = navbar(dash_page_for_visitors(app))
    assert "Log in" in home and "nav-logout" not in home and 'id="theme-switch"' in home
    assert dash == home


def test_logout_from_the_dashboards_navbar_is_a_post_with_its_csrf_token(client, auth, user):
    auth.login()
    token = LOGOUT_TOKEN_RE.search(client.get("/dash/").get_data(as_text=True)).group(1)
    assert client.post("/logout/").status_code == 400  # the token is what makes it work
    response = client.post("/logout/", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/dash/").status_code == 302  # logged out


def test_a_user_menu_item_is_one_line_in_app_navigation(monkeypatch, client, auth, user):
    monkeypatch.setattr(navigation, "USER_MENU", (NavItem("Profile", "/profile/"),))
    auth.login()
    item = '<li><a class="dropdown-item" href="/profile/">Profile</a></li>'
    for path in ("/", "/dash/"):
        bar = navbar(client.get(path).get_data(as_text=True))
        assert item in bar, path
        assert bar.index(item) < bar.index('id="nav-logout"'), path  # above "Log out"


def inline_scripts(page: str) -> list[str]:
    """The bodies of a page's inline scripts that browsers run (JSON data blocks excluded)."""
    return [
        match.group("body")
        for match in re.finditer(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", page, re.S)
        if "src=" not in match.group("attrs") and "application/json" not in match.group("attrs")
    ]


@pytest.mark.parametrize("path", ["/", "/login/", "/dash/"])
def test_no_inline_code_but_dashs_hashed_scripts(client, auth, user, path):
    auth.login()
    response = client.get(path)
    page = response.get_data(as_text=True)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page), "an inline event handler"
    policy = response.headers["Content-Security-Policy"]
    scripts = inline_scripts(page)
    assert bool(scripts) == (path == "/dash/")  # only Dash writes inline scripts
    for body in scripts:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
