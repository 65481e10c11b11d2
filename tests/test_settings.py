"""The account's settings (/settings/*): the real forms, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import LoginEvent, LoginOutcome, User
from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, AuthActions, create_user, submit

NEW_PASSWORD = "difference engine"


def stored(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id)


def outcomes(app, user_id):
    with app.app_context():
        return db.session.scalars(
            select(LoginEvent.outcome).where(LoginEvent.user_id == user_id).order_by(LoginEvent.id)
        ).all()


def logged_in(client) -> bool:
    return client.get("/settings/profile/").status_code == 200


# --- profile ------------------------------------------------------------------------------


def test_edit_profile_saves_and_shows_the_profile(app, client, auth, user):
    auth.login()
    form = client.get("/settings/profile/").get_data(as_text=True)
    assert 'value="Ada"' in form and 'data-counter="about_me-count"' in form
    response = submit(
        client,
        "/settings/profile/",
        {"first_name": " Augusta Ada ", "last_name": "King", "about_me": "Poetical\r\nscience"},
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/users/{user}/"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your profile has been saved." in page and "Augusta Ada King" in page
    assert stored(app, user).about_me == "Poetical\nscience"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"about_me": "x" * 141}, "At most 140 characters"),
        ({"about_me": "bell\x07"}, "control characters"),
        ({"first_name": ""}, "This field is required."),
        ({"last_name": "x" * 65}, "longer than 64"),
    ],
)
def test_edit_profile_errors_beside_the_field(app, client, auth, user, fields, message):
    auth.login()
    data = {"first_name": "Ada", "last_name": "Lovelace", "about_me": "", **fields}
    response = submit(client, "/settings/profile/", data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    name = next(iter(fields))
    assert f'id="{name}-errors"' in page and message in page
    assert stored(app, user).first_name == "Ada"


def test_about_me_of_140_characters_with_line_breaks_fits(app, client, auth, user):
    auth.login()
    about = "\r\n".join(["x" * 34] * 4)  # 142 sent, 139 once each CRLF is one character
    data = {"first_name": "Ada", "last_name": "Lovelace", "about_me": about}
    assert submit(client, "/settings/profile/", data).status_code == 302
    assert len(stored(app, user).about_me) == 139


# --- password -----------------------------------------------------------------------------


def change_password(client, current=DEFAULT_PASSWORD, new=NEW_PASSWORD, repeat=None):
    data = {"current_password": current, "password": new, "password2": repeat or new}
    return submit(client, "/settings/password/", data)


def test_change_password_ends_other_sessions_and_keeps_this_one(app, client, auth, user):
    auth.login(remember=True)
    copied_session = client.get_cookie("session").value
    copied_remember = client.get_cookie("remember_token").value
    other_browser = app.test_client()
    AuthActions(other_browser).login(remember=True)
    assert logged_in(other_browser)

    response = change_password(client)
    assert response.status_code == 302
    assert "Your password has been changed." in client.get("/settings/password/").get_data(
        as_text=True
    )
    assert logged_in(client)  # this one goes on
    assert client.get_cookie("remember_token").value != copied_remember  # renewed, not lost
    assert not logged_in(other_browser)
    for name, value in (("session", copied_session), ("remember_token", copied_remember)):
        thief = app.test_client()
        thief.set_cookie(name, value)
        assert not logged_in(thief), name
    # This browser's renewed remember cookie alone logs in again (a restarted browser).
    restarted = app.test_client()
    restarted.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert logged_in(restarted)

    fresh = app.test_client()
    assert AuthActions(fresh).login(password=NEW_PASSWORD).status_code == 302
    assert AuthActions(app.test_client()).login().status_code == 200  # the old one is refused


def test_wrong_current_password_is_an_error_counted_as_a_login(make_app):
    app = make_app(LOGIN_RATE_LIMIT="2 per minute")
    user = create_user(app)
    client = app.test_client()
    AuthActions(client).login()
    response = change_password(client, current="not my password")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="current_password-errors"' in page and "This is not your password." in page
    assert change_password(client, current="nor this").status_code == 200
    refused = change_password(client, current=DEFAULT_PASSWORD)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert outcomes(app, user) == [
        LoginOutcome.SUCCESS,
        LoginOutcome.WRONG_PASSWORD,
        LoginOutcome.WRONG_PASSWORD,
        LoginOutcome.RATE_LIMITED,
    ]
    assert logged_in(client)  # a refused change logs nobody out


@pytest.mark.parametrize(
    ("new", "repeat", "field", "message"),
    [("short", "short", "password", "between 8 and 128"),
     (NEW_PASSWORD, "something else", "password2", "do not match")],
)  # fmt: skip
def test_new_password_errors_beside_the_field(client, auth, user, new, repeat, field, message):
    auth.login()
    response = change_password(client, new=new, repeat=repeat)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'id="{field}-errors"' in page and message in page


# --- sign-in history ----------------------------------------------------------------------


def test_security_page_lists_attempts_newest_first(app, client, auth, user):
    client.environ_base["HTTP_USER_AGENT"] = "TestBrowser/2.0"
    auth.login(password="wrong password")
    auth.login(remember=True)
    page = client.get("/settings/security/").get_data(as_text=True)
    assert page.index("Success") < page.index("Wrong password")
    assert "TestBrowser/2.0" in page and "127.0.0.1" in page
    assert 'id="logout-others"' in page


def test_security_pages_link_both_ways_and_stay_stable(make_app):
    app = make_app(PER_PAGE=2, RATELIMIT_ENABLED=False)
    user = create_user(app)
    client = app.test_client()
    for agent in ("one", "two", "three", "four"):
        client.environ_base["HTTP_USER_AGENT"] = f"agent-{agent}"
        AuthActions(client).login(password="wrong password")
    client.environ_base["HTTP_USER_AGENT"] = "agent-five"
    AuthActions(client).login()  # five events: five, four | three, two | one

    def agents(page):
        return [a for a in ("one", "two", "three", "four", "five") if f"agent-{a}<" in page]

    first = client.get("/settings/security/").get_data(as_text=True)
    assert agents(first) == ["four", "five"] and 'rel="prev"' not in first
    next_url = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    AuthActions(app.test_client()).login(password="written while reading")
    second = client.get(next_url).get_data(as_text=True)
    assert agents(second) == ["two", "three"]  # nothing repeated or skipped
    prev_url = second.split('rel="prev" href="')[1].split('"')[0]
    back = client.get(prev_url).get_data(as_text=True)
    assert agents(back) == ["four", "five"]
    third_url = second.split('rel="next" href="')[1].split('"')[0]
    third = client.get(third_url).get_data(as_text=True)
    assert agents(third) == ["one"] and 'rel="next"' not in third
    assert outcomes(app, user).count(LoginOutcome.WRONG_PASSWORD) == 5


@pytest.mark.parametrize(
    "query",
    ["before=abc", "before=-1", "before=99999999999999999999", "after=1e3", "before=1&after=2",
     "before=%C2%B2", "before="],
)  # fmt: skip
def test_malformed_page_parameters_are_404(client, auth, user, query):
    auth.login()
    assert client.get(f"/settings/security/?{query}").status_code == 404


def test_a_page_past_the_end_is_empty(client, auth, user):
    auth.login()
    page = client.get("/settings/security/?before=1").get_data(as_text=True)
    assert 'id="login-events-empty"' in page


def test_logout_others_keeps_this_browser(app, client, auth, user):
    auth.login()
    other = app.test_client()
    AuthActions(other).login(remember=True)
    assert client.post("/settings/security/logout-others").status_code == 400  # no CSRF token
    assert logged_in(other)
    response = submit(client, "/settings/security/logout-others", form_page="/settings/security/")
    assert response.status_code == 302
    assert logged_in(client) and not logged_in(other)


# --- delete -------------------------------------------------------------------------------


def test_delete_account_needs_the_password(app, client, auth, user):
    auth.login()
    response = submit(client, "/settings/delete/", {"password": "not mine"})
    assert response.status_code == 200
    assert 'id="password-errors"' in response.get_data(as_text=True)
    assert stored(app, user) is not None


def test_delete_account_removes_it_with_its_rows_and_logs_out(app, client, auth, user):
    other = create_user(app, email="grace@example.com")
    AuthActions(app.test_client()).login(email="grace@example.com")
    auth.login(remember=True)
    response = submit(client, "/settings/delete/", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Your account has been deleted." in client.get("/").get_data(as_text=True)
    assert client.get_cookie("remember_token") is None
    assert not logged_in(client)
    with app.app_context():
        assert db.session.get(User, user) is None
        assert db.session.scalars(select(LoginEvent.user_id)).all() == [other]
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert AuthActions(app.test_client()).login().status_code == 200  # the login is gone


# --- what every settings page shares ------------------------------------------------------

SETTINGS_PAGES = ["/settings/profile/", "/settings/password/", "/settings/security/",
                  "/settings/delete/"]  # fmt: skip


@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_settings_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/")


@pytest.mark.parametrize(
    "path", ["/settings/profile/", "/settings/password/", "/settings/delete/",
             "/settings/security/logout-others"],
)  # fmt: skip
def test_settings_posts_need_their_csrf_token(app, client, auth, user, path):
    auth.login()
    data = {"password": DEFAULT_PASSWORD, "current_password": DEFAULT_PASSWORD,
            "first_name": "Eve", "last_name": "X"}  # fmt: skip
    assert client.post(path, data=data).status_code == 400
    assert stored(app, user).first_name == "Ada" and logged_in(client)


def test_settings_act_on_the_logged_in_user_only(app, client, auth, user):
    other = create_user(app, email="grace@example.com", first_name="Grace")
    auth.login()
    data = {"first_name": "Eve", "last_name": "X", "about_me": "", "user_id": str(other),
            "id": str(other), "email": "grace@example.com"}  # fmt: skip
    submit(client, "/settings/profile/", data)
    assert stored(app, other).first_name == "Grace" and stored(app, user).first_name == "Eve"
    assert stored(app, user).email == DEFAULT_EMAIL
