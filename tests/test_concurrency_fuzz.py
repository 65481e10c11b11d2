"""Concurrent logins are all counted; no form input, however odd, gives a 500."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, create_user, csrf_token_from


def test_concurrent_logins_are_all_counted(make_app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency is tested against PostgreSQL, where requests really overlap")
    app = make_app(RATELIMIT_ENABLED=False)
    create_user(app)
    logins = 8
    clients = [app.test_client() for _ in range(logins)]
    tokens = [csrf_token_from(client.get("/login/")) for client in clients]
    start = threading.Barrier(logins)
    statuses: list[int] = []

    def log_in(client, token):
        start.wait()
        response = client.post(
            "/login/",
            data={"csrf_token": token, "email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD},
        )
        statuses.append(response.status_code)

    pairs = zip(clients, tokens, strict=True)
    threads = [threading.Thread(target=log_in, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * logins
    with app.app_context():
        assert db.session.scalar(select(User.login_count)) == logins


# Any text at all, including control characters, huge strings and non-Latin scripts.
field_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=250, max_size=400),
    st.sampled_from(["", " ", "\x00", "a@b", "ADA@example.com", "x" * 10_000 + "@e.com"]),
)


@pytest.fixture
def fuzz_client(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    create_user(app)
    return app.test_client()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    email=field_text,
    first_name=field_text,
    last_name=field_text,
    password=field_text,
    password2=field_text,
)
def test_register_form_never_500s(fuzz_client, email, first_name, last_name, password, password2):
    response = fuzz_client.post(
        "/register/",
        data={
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "password": password,
            "password2": password2,
        },
    )
    assert response.status_code in (200, 302)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(email=field_text, password=field_text, remember=field_text, next_url=field_text)
def test_login_form_never_500s(fuzz_client, email, password, remember, next_url):
    response = fuzz_client.post(
        "/login/",
        data={"email": email, "password": password, "remember_me": remember},
        query_string={"next": next_url},
    )
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//")
        fuzz_client.post("/logout/")
