"""docker/healthcheck.py, executed against a local server that answers 200, 302, 503 or nothing."""

from __future__ import annotations

import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.deploy.support import HEALTH_PATH, HEALTHCHECK_SCRIPT, run_docker_script


class ScriptedServer(ThreadingHTTPServer):
    """A loopback HTTP server whose answers depend on the path; remembers what it was asked."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.requests: list[tuple[str, str]] = []
        self.release = threading.Event()


class ScriptedHandler(BaseHTTPRequestHandler):
    """200 on /ok and /healthcheck/, 302 on /redirect, 503 on /down, no answer on /hang."""

    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        if self.path == "/hang":
            self.server.release.wait(10)
            return
        status = {"/ok": 200, HEALTH_PATH: 200, "/redirect": 302, "/down": 503}.get(self.path, 404)
        body = b"The app and database are working fine\n" if status == 200 else b"nope\n"
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/ok")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        """Keep the test output quiet."""


@pytest.fixture
def scripted_server():
    """A ScriptedServer running in a thread for the duration of a test."""
    server = ScriptedServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def run_healthcheck(*args: str, **env: str) -> subprocess.CompletedProcess:
    """docker/healthcheck.py as Docker runs it, with `env` added to a clean environment."""
    return run_docker_script(
        HEALTHCHECK_SCRIPT, *args, env={"HEALTHCHECK_TIMEOUT": "1", **env}, timeout=20
    )


@pytest.mark.parametrize(
    ("path", "healthy"),
    [("/ok", True), ("/redirect", False), ("/down", False), ("/missing", False), ("/hang", False)],
)
def test_healthcheck_script_passes_only_on_200(scripted_server, path, healthy):
    port = scripted_server.server_address[1]
    result = run_healthcheck(f"http://127.0.0.1:{port}{path}")
    assert result.returncode == (0 if healthy else 1), result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stdout.strip().splitlines()) == 1, "one line for `docker inspect`"
    # A redirect is never followed: the script asked exactly one URL.
    assert [p for p, _ in scripted_server.requests] == [path]


def test_healthcheck_script_fails_when_nothing_listens():
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_healthcheck(f"http://127.0.0.1:{port}{HEALTH_PATH}")
    assert result.returncode == 1
    assert "no answer" in result.stdout


def test_healthcheck_script_asks_the_gunicorn_port_and_a_trusted_host(scripted_server):
    port = scripted_server.server_address[1]
    result = run_healthcheck(GUNICORN_BIND=f"0.0.0.0:{port}", TRUSTED_HOSTS=".example.org,x")
    assert result.returncode == 0, result.stdout
    assert scripted_server.requests == [(HEALTH_PATH, "example.org")]


@pytest.mark.parametrize(
    ("args", "env"),
    [(["ftp://127.0.0.1/healthcheck/"], {}), ([], {"HEALTHCHECK_TIMEOUT": "soon"})],
)
def test_healthcheck_script_rejects_bad_settings_without_a_traceback(args, env):
    result = run_healthcheck(*args, **env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
