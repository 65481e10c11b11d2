"""Static files compressed once, harder than per-response compression can afford.

Flask-Compress (enabled by Dash's `compress=True`) compresses every response anew at a fast
level. Static files (Bootstrap, the plotly.js bundle, Dash's component scripts) are the bulk of
a first visit and never change while the process runs, so they are compressed here once per
file and encoding, with brotli at a high quality, and served from memory afterwards; Flask-
Compress then leaves them alone (they already carry a Content-Encoding).
"""

from __future__ import annotations

import gzip
import mimetypes
import re
import threading
from pathlib import Path

import brotli
from flask import Flask, request, url_for

STATIC_PREFIXES = ("/static/", "/dash/assets/", "/dash/_dash-component-suites/")
ENCODINGS = ("br", "gzip")
# Brotli 9 is within 10 % of 11 on the plotly bundle at a twentieth of the time (0.3 s vs 6 s
# for the first request after a start).
BROTLI_QUALITY = 9
GZIP_LEVEL = 9
MAX_FILE_SIZE = 4 * 1024 * 1024
# Set in the WSGI environ of the warm-up's own requests (see warm_static_cache). No client can
# set it: a server puts request headers in the environ as HTTP_* keys.
WARM_UP_KEY = "stockdash.static_warm_up"


def compress(data: bytes, encoding: str) -> bytes:
    """`data` in the given content encoding."""
    if encoding == "br":
        return brotli.compress(data, quality=BROTLI_QUALITY)
    return gzip.compress(data, GZIP_LEVEL, mtime=0)


def init_static_compression(server: Flask) -> None:
    """Serve static files of the compressible types pre-compressed (see the module docstring).

    Registered after Flask-Compress, so it runs before it (Flask runs these hooks in reverse).
    The cache holds one entry per static path and encoding: a finite set, whatever the query.
    """
    compressible = set(server.config["COMPRESS_MIMETYPES"])
    cache: dict[tuple[str, str], bytes] = {}
    server.extensions["static_compression_cache"] = cache
    lock = threading.Lock()

    @server.after_request
    def compress_static_file(response):
        if (
            request.method != "GET"
            or response.status_code != 200
            or not request.path.startswith(STATIC_PREFIXES)
            or response.mimetype not in compressible
            or "Content-Encoding" in response.headers
            or (response.content_length or 0) > MAX_FILE_SIZE
        ):
            return response
        encoding = request.accept_encodings.best_match(ENCODINGS)
        if encoding is None:
            return response
        key = (request.path, encoding)
        body = cache.get(key)
        if body is None:
            response.direct_passthrough = False
            body = compress(response.get_data(), encoding)
            with lock:
                cache[key] = body
        response.close()  # a file response still holds its file open
        response.direct_passthrough = False
        response.set_data(body)
        response.headers["Content-Encoding"] = encoding
        response.vary.add("Accept-Encoding")
        etag, weak = response.get_etag()
        if etag and not weak:
            # The bytes differ from the file's, so the tag may only say "equivalent".
            response.set_etag(etag, weak=True)
        return response


def warm_static_cache(server: Flask) -> list[str]:
    """Compress every static file a first visit loads, before any visitor asks for one, and
    return their paths.

    Run by gunicorn in the master once the app is loaded (gunicorn.conf.py `when_ready`), so
    every worker forked from it starts with the cache filled: otherwise the first visit to each
    new worker waits while it compresses the page's 2.7 MB of scripts (about 0.4 s of brotli).
    Each file is fetched through the app itself, so what is cached is exactly what a visitor's
    request would compress; the dashboard's login check lets these requests through on the
    environ key that only an in-process caller can set (dashapp.protect_dashboard).
    """
    paths = static_page_paths(server)
    client = server.test_client()
    for path in paths:
        for encoding in ENCODINGS:
            with client.get(path, headers={"Accept-Encoding": encoding},
                            environ_overrides={WARM_UP_KEY: True}):
                pass  # the answer is in the cache now; closing it closes the file
    return paths


def static_page_paths(server: Flask) -> list[str]:
    """The paths of the static files the site's pages load: the dashboard's scripts and
    stylesheets (Dash's own, the component suites, the dashboard's assets and the chunks its
    page preloads) and the compressible files of the static folder."""
    dash_app = server.extensions["dash_app"]
    with server.test_request_context(dash_app.config.requests_pathname_prefix):
        # Dash lists its scripts only once it has set itself up, which it does on the first
        # request; these are the methods its page is rendered with.
        dash_app._setup_server()
        tags = (dash_app._generate_scripts_html() + dash_app._generate_css_dist_html()
                + "".join(dash_app.preload_tags()))
        urls = [url.split("?")[0] for url in re.findall(r'(?:src|href)="([^"]+)"', tags)]
        folder = Path(server.static_folder)
        for file in sorted(folder.rglob("*")):
            kind, _ = mimetypes.guess_type(file.name)
            if file.is_file() and kind in server.config["COMPRESS_MIMETYPES"]:
                urls.append(url_for("static", filename=file.relative_to(folder).as_posix()))
    return [url for url in dict.fromkeys(urls) if url.startswith(STATIC_PREFIXES)]
