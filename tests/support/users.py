"""The default user, and logging in as a browser does: the real forms with their CSRF tokens."""

from __future__ import annotations

import re

from app.extensions import db
from app.models import User
from app.passwords import hash_password

DEFAULT_EMAIL = "ada@example.com"
DEFAULT_PASSWORD = "analytical engine"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


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


def submit(client, path, data=None, form_page=None):
    """POST `data` to `path` with the CSRF token of the form on `form_page` (default `path`),
    as a browser submitting that form would."""
    token = csrf_token_from(client.get(form_page or path))
    return client.post(path, data={"csrf_token": token, **(data or {})})
