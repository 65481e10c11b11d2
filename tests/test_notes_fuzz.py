"""No paging key and no note form input, however odd, gives a 500 (Hypothesis)."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.extensions import db
from app.models import Note, StockTicker
from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, create_user
from tests.test_accounts_fuzz import field_text, fuzz_settings

# Keys that look almost right as well as any text: digits, dots, signs, huge numbers.
key_text = st.one_of(
    field_text,
    st.from_regex(r"-?[0-9]{0,25}\.?-?[0-9]{0,25}", fullmatch=True),
    st.sampled_from(["1.1", "0.0", "-1.1", "9" * 19 + ".1", "1." + "9" * 12, ".", "1.1.1"]),
)
PATHS = ("/", "/explore/", "/users/{user}/", "/tickers/AAA/")


@pytest.fixture
def fuzz_app(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, PER_PAGE=2)
    user = create_user(app)
    with app.app_context():
        db.session.add(StockTicker(ticker="AAA"))
        db.session.flush()
        db.session.add_all(
            Note(user_id=user, ticker="AAA", as_of=date(2020, 1, 3),
                 body=f"note {i}") for i in range(5)
        )  # fmt: skip
        db.session.commit()
    app.config["FUZZ_USER"] = user
    return app


@pytest.fixture
def fuzz_client(fuzz_app):
    client = fuzz_app.test_client()
    login = {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD}  # CSRF is off here
    assert client.post("/login/", data=login).status_code == 302
    return client


@fuzz_settings
@given(
    before=key_text,
    after=key_text,
    which=st.sampled_from(["before", "after", "both"]),
    path=st.sampled_from(PATHS),
)
def test_page_keys_never_500(fuzz_app, fuzz_client, before, after, which, path):
    query = {"before": before, "after": after}
    if which != "both":
        query = {which: query[which]}
    url = path.format(user=fuzz_app.config["FUZZ_USER"])
    assert fuzz_client.get(url, query_string=query).status_code in (200, 404)


@fuzz_settings
@given(
    ticker=st.one_of(field_text, st.sampled_from(["AAA", "aaa", " AAA ", "ZZZ"])),
    as_of=st.one_of(field_text, st.dates().map(str), st.just("")),
    body=field_text,
    next_=field_text,
)
def test_note_form_never_500s(fuzz_client, ticker, as_of, body, next_):
    data = {"ticker": ticker, "as_of": as_of, "body": body, "next": next_}
    response = fuzz_client.post("/notes/", data=data)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/")
        assert not response.headers["Location"].startswith("//")


@fuzz_settings
@given(note_id=st.one_of(st.integers(min_value=0, max_value=10**30), st.text(max_size=30)))
def test_delete_ids_never_500(fuzz_client, note_id):
    response = fuzz_client.post(f"/notes/{quote(str(note_id), safe='')}/delete")
    assert response.status_code in (302, 403, 404, 405, 308)
