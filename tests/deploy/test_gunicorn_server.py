"""A real gunicorn with the project's gunicorn.conf.py: what it answers by itself to malformed
requests (over raw sockets), that no answer names the server, and that it refuses several
workers with per-process login counters."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.deploy.support import ROOT

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_environment(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    """A clean environment: a throwaway SQLite database, the port, and `extra`."""
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "SECRET_KEY": "gunicorn-test-secret-key-0123456789abcdef",
        "DATABASE_URL": f"sqlite:///{tmp_path}/site.db",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "LOG_FILE": "",
        "MAIL_SERVER": "",
        "TRUSTED_HOSTS": "",
        **extra,
    }


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send `request` as it is and read the whole answer (gunicorn closes after an error)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(request)
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def head_of(answer: bytes) -> tuple[int, dict[str, str]]:
    """The status and the headers (names lower-cased) of a raw answer."""
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split(" ")[1]), {name.lower(): value for name, value in headers.items()}


@pytest.fixture(scope="module")
def gunicorn_port(gunicorn_server):
    """The port of `gunicorn_server`."""
    return gunicorn_server[0]


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    """The site served by gunicorn -c gunicorn.conf.py (its defaults: 1 worker, 4 threads):
    its port and the path of its log."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        # INFO: the master's start-up steps are in the log (one test reads them).
        env=gunicorn_environment(tmp_path, port, LOG_LEVEL="INFO"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield port, tmp_path / "gunicorn.log"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()


MALFORMED = {
    "request line too long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "header without a colon": (b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400),
    "bad header name": (b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400),
    "not HTTP": (b"HELLO\r\n\r\n", 400),
    "too many headers": (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_gunicorns_own_error_answers_carry_the_security_headers(gunicorn_port, case):
    # Before: "Content-Type: text/html" and nothing else, with the request echoed in the page.
    request, expected = MALFORMED[case]
    answer = raw_exchange(gunicorn_port, request)
    status, headers = head_of(answer)
    assert status == expected
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert "server" not in headers
    body = answer.split(b"\r\n\r\n", 1)[1]
    # Only the status: nothing of the malformed request is echoed back.
    assert body.startswith(str(expected).encode()) and len(body) < 64
    assert not {b"aaaa", b"colon", b"Name", b"HELLO", b"X-A"} & {w for w in body.split()}


@pytest.mark.parametrize("path", ["/", "/healthcheck/", "/static/favicon.svg", "/nope"])
def test_no_answer_names_the_server(gunicorn_port, path):
    # Before: "Server: gunicorn" on every answer.
    answer = raw_exchange(gunicorn_port, f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                          "Connection: close\r\n\r\n".encode())  # fmt: skip
    status, headers = head_of(answer)
    assert status in (200, 404, 503)
    assert "server" not in headers
    assert headers["x-content-type-options"] == "nosniff"


def test_two_workers_with_memory_counters_are_refused(tmp_path):
    # Before: they started, and 10 failed logins a minute got through instead of 5.
    port = free_port()
    result = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        env=gunicorn_environment(tmp_path, port, GUNICORN_WORKERS="2"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "2 workers with RATELIMIT_STORAGE_URI=memory://" in result.stderr


def test_the_master_compresses_the_static_files_before_the_workers_start(gunicorn_server):
    port, log = gunicorn_server
    lines = log.read_text().splitlines()
    ready = next(i for i, line in enumerate(lines) if "static files compressed ahead" in line)
    booted = next(i for i, line in enumerate(lines) if "Booting worker" in line)
    assert ready < booted, lines  # in the master: every worker is forked with the cache
    # A script comes from that cache: compressed, and the same bytes every time.
    request = (b"GET /static/vendor/bootstrap/bootstrap.min.css HTTP/1.1\r\nHost: localhost\r\n"
               b"Accept-Encoding: br\r\nConnection: close\r\n\r\n")
    status, headers = head_of(raw_exchange(port, request))
    assert status == 200 and headers["content-encoding"] == "br"
