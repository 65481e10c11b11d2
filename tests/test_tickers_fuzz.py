"""No value of the directory's parameters, or of a ticker in a URL, gives a 500 (Hypothesis)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, create_user

any_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["", " ", "\x00", "%", "_", "\\", "AAA", "aaa", "ZZZ", "x" * 10_000,
                     "'; --", "\ud800", "AAA,BBB", "../", "1e308", "-1"]),
)  # fmt: skip
fuzz_settings = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def fuzz_client(make_app, tmp_path):
    app = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, PER_PAGE=2)
    prices = tmp_path / "p.csv"
    prices.write_text("date,close,ticker\n2020-01-02,1,AAA\n2020-01-03,2,AAA\n2020-01-02,3,BBB\n"
                      "2020-01-02,4,CCC\n")  # fmt: skip
    assert app.test_cli_runner().invoke(args=["prices", "import", str(prices)]).exit_code == 0
    create_user(app)
    client = app.test_client()
    login = {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD}  # CSRF is off here
    assert client.post("/login/", data=login).status_code == 302
    return client


@fuzz_settings
@given(q=any_text, sort=any_text, after=st.none() | any_text, before=st.none() | any_text)
def test_directory_parameters_never_500(fuzz_client, q, sort, after, before):
    query = {"q": q, "sort": sort}
    if after is not None:
        query["after"] = after
    if before is not None:
        query["before"] = before
    encoded = "&".join(f"{k}={quote(v, safe='', errors='surrogatepass')}" for k, v in query.items())
    assert fuzz_client.get("/tickers/?" + encoded).status_code in (200, 404)


@fuzz_settings
@given(ticker=any_text, next_=any_text)
def test_ticker_urls_never_500(fuzz_client, ticker, next_):
    path = quote(ticker, safe="", errors="surrogatepass") or "%20"
    assert fuzz_client.get(f"/tickers/{path}/").status_code in (200, 404)
    for action in ("watch", "unwatch"):
        response = fuzz_client.post(f"/tickers/{path}/{action}", data={"next": next_})
        assert response.status_code in (302, 404)
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/")
