"""What is compressed, how, and what is not (on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import pytest

from dashapp import compression
from dashapp.compression import STATIC_PREFIXES, warm_static_cache

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = "/static/vendor/bootstrap/bootstrap.min.css"
BOOTSTRAP_FILE = ROOT / "app" / "static" / "vendor" / "bootstrap" / "bootstrap.min.css"


@pytest.mark.parametrize(("accept", "encoding"), [("br", "br"), ("gzip", "gzip"),
                                                  ("gzip, deflate, br, zstd", "br")])
def test_static_files_are_served_precompressed(client, accept, encoding):
    original = BOOTSTRAP_FILE.read_bytes()
    first = client.get(BOOTSTRAP, headers={"Accept-Encoding": accept})
    second = client.get(BOOTSTRAP, headers={"Accept-Encoding": accept})
    assert first.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in first.headers["Vary"]
    assert first.data == second.data  # compressed once, then served from memory
    decode = brotli.decompress if encoding == "br" else gzip.decompress
    assert decode(first.data) == original
    assert len(first.data) < len(original) / 6
    assert first.headers["ETag"].startswith('W/"')


def test_conditional_requests_still_answer_304(client):
    first = client.get(BOOTSTRAP, headers={"Accept-Encoding": "br"})
    headers = {"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]}
    with client.get(BOOTSTRAP, headers=headers) as again:  # closes the file send_file opened
        assert again.status_code == 304


def test_without_accept_encoding_the_file_is_sent_as_is(client):
    with client.get(BOOTSTRAP, headers={"Accept-Encoding": "identity"}) as response:
        assert "Content-Encoding" not in response.headers
        assert len(response.data) == BOOTSTRAP_FILE.stat().st_size


def test_dash_scripts_are_compressed_and_html_pages_are_not(client, auth, user):
    auth.login()
    page = client.get("/dash/", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in page.headers  # HTML with tokens: no BREACH oracle
    login_page = client.get("/", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in login_page.headers
    bundle = client.get("/dash/assets/plotly-stockdash.min.js",
                        headers={"Accept-Encoding": "gzip, br"})
    assert bundle.headers["Content-Encoding"] == "br"
    layout = client.get("/dash/_dash-layout", headers={"Accept-Encoding": "gzip"})
    assert layout.headers["Content-Encoding"] == "gzip"  # JSON: Flask-Compress, per response


# --- compressed ahead, at start-up --------------------------------------------------------------


def static_files_of(html: str) -> list[str]:
    """The static files a page loads (scripts, stylesheets, preloads), without their query."""
    urls = [url.split("?")[0] for url in re.findall(r'(?:src|href)="([^"]+)"', html)]
    return [url for url in urls if url.startswith(STATIC_PREFIXES)]


def test_the_warm_up_compresses_every_static_file_the_dashboard_loads(app, client, auth, user,
                                                                       monkeypatch):
    warmed = warm_static_cache(app)
    auth.login()
    page = client.get("/dash/").get_data(as_text=True)
    loaded = static_files_of(page)
    assert len(loaded) >= 15 and set(loaded) <= set(warmed)
    # Served from the cache: nothing is compressed on a visitor's request any more.
    monkeypatch.setattr(compression, "compress", lambda data, encoding: pytest.fail(data[:60]))
    for path in loaded:
        for encoding in compression.ENCODINGS:
            with client.get(path, headers={"Accept-Encoding": encoding}) as response:
                assert response.status_code == 200, path
                assert response.headers["Content-Encoding"] == encoding, path


def test_only_the_warm_up_itself_passes_the_login_check(app, client):
    script = next(path for path in warm_static_cache(app) if "_dash-component-suites" in path)
    # As a header, the key arrives as HTTP_STOCKDASH.STATIC_WARM_UP: still logged out.
    assert client.get(script, headers={compression.WARM_UP_KEY: "1"}).status_code == 401
    # In the environ (in-process only), it opens static files and nothing else.
    overrides = {compression.WARM_UP_KEY: True}
    assert client.get("/dash/_dash-layout", environ_overrides=overrides).status_code == 401
    assert client.get("/dash/_dash-dependencies", environ_overrides=overrides).status_code == 401
    with client.get(script, environ_overrides=overrides) as response:
        assert response.status_code == 200
