"""Registration, login and logout through the real forms, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, create_user, csrf_token_from


def get_user(app, email=DEFAULT_EMAIL) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def test_register_creates_user_and_redirects_to_login(app, client, auth):
    response = auth.register(email="  Ada@Example.COM ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/"
    user = get_user(app)
    assert user is not None
    assert user.email == DEFAULT_EMAIL  # stored lower-case and stripped
    assert user.password_hash.startswith("$argon2id$")
    assert user.login_count == 0
    assert user.created_at is not None
    page = client.get("/login/").get_data(as_text=True)
    assert "Your account has been created" in page


def test_each_user_gets_its_own_created_at(app, auth):
    # cookiecutter-flask's `default=now()` gave every row the import time; ours is per row.
    create_user(app, email="first@example.com")
    time.sleep(1.1)
    create_user(app, email="second@example.com")
    first, second = get_user(app, "first@example.com"), get_user(app, "second@example.com")
    assert first.created_at != second.created_at


def test_register_duplicate_email_is_a_form_error(app, auth):
    create_user(app)
    response = auth.register(email="ADA@example.com")
    assert response.status_code == 200
    assert "already registered" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "valid e-mail"),
        ({"email": "a" * 10_000 + "@example.com"}, "cannot be longer than 254"),
        ({"password": "short"}, "between 8 and 128"),
        ({"password": "x" * 129}, "between 8 and 128"),
        ({"password2": "something else"}, "do not match"),
        ({"first_name": "x" * 65}, "cannot be longer than 64"),
        ({"last_name": ""}, "This field is required"),
        ({"first_name": "Ada\x00"}, "control characters"),
    ],
)
def test_register_rejects_bad_input_beside_the_field(app, auth, fields, message):
    response = auth.register(**fields)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert message in body
    assert "invalid-feedback" in body
    assert get_user(app) is None


def test_password_of_128_characters_is_accepted(app, auth):
    response = auth.register(password="p" * 128)
    assert response.status_code == 302


def test_registration_off_answers_404(make_app):
    app = make_app(ALLOW_REGISTRATION=False)
    client = app.test_client()
    assert client.get("/register/").status_code == 404
    assert client.post("/register/", data={}).status_code in (400, 404)
    assert "/register/" not in client.get("/").get_data(as_text=True)


def test_login_redirects_to_dashboard_and_counts(app, client, auth, user):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/dash/"
    stored = get_user(app)
    assert stored.login_count == 1
    assert stored.last_login_at is not None
    auth.logout()
    auth.login()
    assert get_user(app).login_count == 2


def test_login_follows_safe_next(client, auth, user):
    response = auth.login(next="/dash/?tickers=AAPL,MSFT&start=2016-01-01")
    assert response.headers["Location"] == "/dash/?tickers=AAPL,MSFT&start=2016-01-01"


def test_unknown_email_and_wrong_password_answer_the_same(client, auth, user):
    wrong_password = auth.login(password="wrong password")
    unknown_email = auth.login(email="nobody@example.com")
    assert wrong_password.status_code == unknown_email.status_code == 200
    for response in (wrong_password, unknown_email):
        assert "Invalid e-mail or password." in response.get_data(as_text=True)
    # Apart from the e-mail echoed back into its field and the CSRF token, the pages are equal.
    def normalise(response, email):
        return (
            response.get_data(as_text=True)
            .replace(email, "EMAIL")
            .replace(csrf_token_from(response), "TOKEN")
        )

    unknown = normalise(unknown_email, "nobody@example.com")
    assert normalise(wrong_password, DEFAULT_EMAIL) == unknown


def test_logged_in_user_visiting_login_is_redirected(client, auth, user):
    auth.login()
    response = client.get("/login/?next=/dash/?chart=ohlc")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dash/?chart=ohlc"
    response = client.get("/login/?next=//evil.example")
    assert response.headers["Location"] == "/dash/"


def test_session_is_cleared_at_login(client, auth, user):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login()
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session


def test_logout_needs_post_with_csrf(client, auth, user):
    auth.login()
    page = client.get("/logout/")
    assert page.status_code == 200
    assert "Log out?" in page.get_data(as_text=True)
    assert client.post("/logout/").status_code == 400  # no token
    assert client.get("/dash/").status_code == 200  # still logged in
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/dash/").status_code == 302


def test_logout_invalidates_copies_of_the_session_cookie(app, client, auth, user):
    auth.login()
    stolen = client.get_cookie("session").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/dash/").status_code == 302


def test_logout_invalidates_copies_of_the_remember_cookie(app, client, auth, user):
    auth.login(remember=True)
    stolen = client.get_cookie("remember_token").value
    auth.logout()
    assert client.get_cookie("remember_token") is None
    thief = app.test_client()
    thief.set_cookie("remember_token", stolen)
    assert thief.get("/dash/").status_code == 302


def test_rotated_token_after_password_change_ends_old_logins(app, client, auth, user):
    auth.login()
    with app.app_context():
        stored = db.session.get(User, user)
        stored.rotate_session_token()
        db.session.commit()
    assert client.get("/dash/").status_code == 302


def test_logout_get_when_anonymous_goes_to_login(client):
    response = client.get("/logout/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ["/login/", "/register/", "/logout/"])
def test_forms_without_csrf_token_answer_400(client, auth, user, path):
    if path == "/logout/":
        auth.login()
    response = client.post(path, data={"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert "out of date" in response.get_data(as_text=True)


def test_trailing_slash_forms_redirect(client):
    for path in ("/login", "/register", "/logout"):
        response = client.get(path)
        assert response.status_code == 308
        assert response.headers["Location"].endswith(path + "/")


def test_oversize_body_is_413(client):
    response = client.post("/login/", data={"email": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "larger than this site accepts" in response.get_data(as_text=True)


def test_navbar_knows_the_user(client, auth, user):
    assert "Log in" in client.get("/").get_data(as_text=True)
    auth.login()
    page = client.get("/").get_data(as_text=True)
    assert "Ada Lovelace" in page
    assert 'id="nav-logout"' in page
