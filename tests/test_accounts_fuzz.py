"""No input to the account forms and URLs, however odd, gives a 500 (Hypothesis)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, create_user

# Any text at all, including control characters, huge strings and non-Latin scripts.
field_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=130, max_size=400),
    st.sampled_from(["", " ", "\x00", "\r\n" * 80, "x" * 141, "x" * 10_000, "ADA@example.com"]),
)
fuzz_settings = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def fuzz_app(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, MAIL_SERVER="127.0.0.1",
                   MAIL_PORT=9)  # fmt: skip (port 9 refuses: mail fails off the request path)
    create_user(app)
    return app


@pytest.fixture
def fuzz_client(fuzz_app):
    client = fuzz_app.test_client()
    login = {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD}  # CSRF is off here
    assert client.post("/login/", data=login).status_code == 302
    return client


@fuzz_settings
@given(first_name=field_text, last_name=field_text, about_me=field_text)
def test_profile_form_never_500s(fuzz_client, first_name, last_name, about_me):
    data = {"first_name": first_name, "last_name": last_name, "about_me": about_me}
    response = fuzz_client.post("/settings/profile/", data=data)
    assert response.status_code in (200, 302)


@fuzz_settings
@given(current=field_text, password=field_text, password2=field_text)
def test_password_form_never_500s(fuzz_client, current, password, password2):
    data = {"current_password": current, "password": password, "password2": password2}
    response = fuzz_client.post("/settings/password/", data=data)
    assert response.status_code in (200, 302)


@fuzz_settings
@given(password=field_text.filter(lambda text: text != DEFAULT_PASSWORD))
def test_delete_form_never_500s(fuzz_client, password):
    assert fuzz_client.post("/settings/delete/", data={"password": password}).status_code == 200


@fuzz_settings
@given(before=field_text, after=field_text, which=st.sampled_from(["before", "after", "both"]))
def test_history_page_parameters_never_500(fuzz_client, before, after, which):
    query = {"before": before, "after": after}
    if which != "both":
        query = {which: query[which]}
    response = fuzz_client.get("/settings/security/", query_string=query)
    assert response.status_code in (200, 404)


@fuzz_settings
@given(email=field_text)
def test_reset_request_never_500s(fuzz_app, email):
    response = fuzz_app.test_client().post("/reset-password/", data={"email": email})
    assert response.status_code in (200, 302)


@fuzz_settings
@given(token=field_text, password=field_text, password2=field_text)
def test_reset_token_page_never_500s(fuzz_app, token, password, password2):
    client = fuzz_app.test_client()
    path = f"/reset-password/{quote(token, safe='')}/"
    assert client.get(path).status_code in (400, 404, 308)
    response = client.post(path, data={"password": password, "password2": password2})
    assert response.status_code in (400, 404, 308)


@fuzz_settings
@given(user_id=st.one_of(st.integers(), field_text))
def test_profile_and_avatar_urls_never_500(fuzz_client, user_id):
    segment = quote(str(user_id), safe="")
    for path in (f"/users/{segment}/", f"/users/{segment}/avatar.svg"):
        assert fuzz_client.get(path).status_code in (200, 308, 404)
