"""What is compressed, how, and what is not (on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import pytest

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
