"""The app's instances behind HAProxy on one block of loopback ports, as Swarm and Traefik run
them: each instance started by the container's entry point, HAProxy routing only to instances
whose `/healthcheck/` answers 200."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

from tests.rehearsal.load import send
from tests.rehearsal.loopback import HOST, free_port_block, http_request, set_cookies, wait_until
from tests.rehearsal.postgres import PostgresLink, pg_ctl, postgres_ready
from tests.rehearsal.smtp import StallingSMTPServer
from tests.support.dash_client import page_load_callbacks
from tests.support.users import CSRF_RE

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SLOTS = 6  # HAProxy server slots: instances come and go, the balancer's list stays put
REDIS_URL = "redis://127.0.0.1:6379/11"
ADMINS = "ops@example.com"
EMAIL = "rehearsal@example.com"
PASSWORD = "rehearsal password"
# HAProxy checks every 300 ms and takes a server out after 2 failures: the detection window is
# about inter + fastinter (+ the check's own connect), well under a second for a dead process.
HAPROXY_CONFIG = """\
global
    maxconn 512
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 15s
    timeout queue 5s
    timeout check 2s
    # A request that finds a server gone (refused, reset before any answer) is retried on another
    # one, as Traefik's retry middleware does in the stack: that is what makes restarts invisible.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response junk-response

frontend site
    bind {host}:{port}
    default_backend app

backend app
    balance roundrobin
    option http-server-close
    option httpchk GET /healthcheck/
    http-check expect status 200
    default-server check inter 300ms fastinter 200ms downinter 300ms fall 2 rise 2
{servers}
"""


def children_of(pid: int) -> set[int]:
    """Process ids whose parent is `pid` (gunicorn's workers, for a master)."""
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 is the parent id; the command name (field 2) may contain spaces, so split
        # after its closing parenthesis.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.add(int(entry.name))
    return children


@dataclass
class Instance:
    """One app instance: the entry point's process (gunicorn's master after `exec`)."""

    slot: int
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def name(self) -> str:
        """Its server name in HAProxy."""
        return f"s{self.slot}"

    def log_tail(self, lines: int = 30) -> str:
        """The end of its output, for failure messages."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Cluster:
    """Instances of the app behind HAProxy, on one block of loopback ports."""

    def __init__(self, workdir: Path, database_url: str, outage_mode: str):
        self.workdir = workdir
        self.outage_mode = outage_mode
        base = free_port_block()
        self.balancer_port = base
        self.slot_ports = {slot: base + slot for slot in range(1, SLOTS + 1)}
        # The instances always reach PostgreSQL through the relay, so that a scenario can
        # black-hole it; an outage in `server` mode stops the real server behind it.
        parts = urlsplit(database_url)
        self.link = PostgresLink(base + 9, (parts.hostname or HOST, parts.port or 5432))
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        self.direct_database_url = database_url
        self.database_url = urlunsplit(parts._replace(netloc=f"{netloc}{HOST}:{base + 9}"))
        # Error e-mails go to a mail server that never answers (see tests/rehearsal/smtp.py).
        self.smtp_port = base + 7
        self.smtp: StallingSMTPServer | None = None
        self.instances: dict[int, Instance] = {}
        self.haproxy: subprocess.Popen | None = None
        self.socket_path = workdir / "haproxy.sock"
        self.logs = []
        self.cookie = ""
        self.callback = b""

    def environment(self, port: int) -> dict[str, str]:
        """What a container gets: the settings, and nothing of the developer's shell."""
        return {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": "rehearsal-only-secret-key-0123456789abcdef",
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "GUNICORN_BIND": f"{HOST}:{port}",
            # Workers and threads are gunicorn.conf.py's defaults: what production runs.
            "GUNICORN_GRACEFUL_TIMEOUT": "10",
            "DB_WAIT_TIMEOUT": "30",
            "LOG_LEVEL": "WARNING",
            # Set empty so that a developer's .env (read by wsgi.py) cannot change them.
            "LOG_FILE": "",
            "TRUSTED_HOSTS": "",
            "PROXY_FIX": "0",
            "MAIL_SERVER": HOST,
            "MAIL_PORT": str(self.smtp_port),
            "ADMINS": ADMINS,
            "SESSION_COOKIE_SECURE": "0",
        }

    def open_log(self, name: str):
        """A log file in the work directory, closed at teardown."""
        path = self.workdir / f"{name}.log"
        handle = path.open("ab")
        self.logs.append(handle)
        return path, handle

    def database_outage_begins(self) -> None:
        """Stop PostgreSQL, or cut the link to it (see the package's docstring)."""
        if self.outage_mode == "link":
            self.link.cut()
        else:
            pg_ctl("stop")

    def database_outage_ends(self) -> None:
        """Start PostgreSQL again and wait until it accepts connections, or restore the link."""
        if self.outage_mode == "link":
            self.link.restore()
        else:
            pg_ctl("start")
            wait_until(postgres_ready, 60, "pg_isready", interval=0.2)

    def start_services(self) -> None:
        """The PostgreSQL relay, the stalling mail server and HAProxy."""
        self.link.start()
        self.smtp = StallingSMTPServer(self.smtp_port)
        self.start_haproxy()

    def start_haproxy(self) -> None:
        """HAProxy on the balancer port with every slot as a checked server."""
        servers = "\n".join(
            f"    server s{slot} {HOST}:{port}" for slot, port in self.slot_ports.items()
        )
        config = self.workdir / "haproxy.cfg"
        config.write_text(
            HAPROXY_CONFIG.format(
                socket=self.socket_path, host=HOST, port=self.balancer_port, servers=servers
            )
        )
        check = subprocess.run(
            [haproxy_binary(), "-c", "-q", "-f", str(config)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
        _, log = self.open_log("haproxy")
        self.haproxy = subprocess.Popen(
            [haproxy_binary(), "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        wait_until(self.socket_path.exists, 10, "HAProxy's stats socket")

    def server_states(self) -> dict[str, dict[str, str]]:
        """HAProxy's view of each server (`show stat`): status, total sessions, ..."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(str(self.socket_path))
            client.sendall(b"show stat\n")
            chunks = []
            while chunk := client.recv(65536):
                chunks.append(chunk)
        lines = b"".join(chunks).decode().strip().splitlines()
        columns = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(columns, line.split(","), strict=False)) for line in lines[1:]]
        return {row["svname"]: row for row in rows if row["pxname"] == "app"}

    def status(self, name: str) -> str:
        """UP, DOWN, or a transition such as `UP 1/2`."""
        return self.server_states()[name]["status"]

    def start_instance(self) -> Instance:
        """Run the entry point on a free slot, as Swarm starts a new task."""
        slot = min(s for s in self.slot_ports if s not in self.instances)
        port = self.slot_ports[slot]
        log_path, log = self.open_log(f"instance-s{slot}-{time.monotonic_ns()}")
        process = subprocess.Popen(
            ["/bin/sh", str(ROOT / "docker" / "entrypoint.sh")],
            cwd=self.workdir,  # the entry point finds the project itself, as in /app
            env=self.environment(port),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL takes the whole "container"
        )
        instance = Instance(slot, port, process, log_path)
        self.instances[slot] = instance
        return instance

    def wait_healthy(self, instance: Instance, timeout: float = 90) -> None:
        """Until the instance answers 200 itself and HAProxy has put it in rotation."""

        def healthy() -> bool:
            if instance.process.poll() is not None:
                pytest.fail(f"{instance.name} exited early:\n{instance.log_tail()}")
            try:
                status, _, _ = http_request(instance.port, "GET", "/healthcheck/", timeout=6)
            except (OSError, http.client.HTTPException):
                return False
            return status == 200 and self.status(instance.name) == "UP"

        wait_until(healthy, timeout, f"{instance.name} healthy")

    def stop_instance(self, instance: Instance, sig: int = signal.SIGTERM) -> float:
        """SIGTERM the master (what Docker sends to PID 1) or SIGKILL the whole group (a crash);
        wait for it to end and return how long that took."""
        started = time.monotonic()
        if sig == signal.SIGKILL:
            os.killpg(instance.process.pid, signal.SIGKILL)
        else:
            instance.process.send_signal(sig)
        instance.process.wait(timeout=30)
        del self.instances[instance.slot]
        return time.monotonic() - started

    def ensure_instances(self, count: int) -> list[Instance]:
        """At least `count` healthy instances (a scenario may begin after another failed)."""
        for _ in range(count - len(self.instances)):
            self.start_instance()
        for instance in list(self.instances.values()):
            self.wait_healthy(instance)
        return list(self.instances.values())

    def log_in(self) -> None:
        """Log the rehearsal user in through the balancer, with the real form and CSRF token."""
        status, headers, body = http_request(self.balancer_port, "GET", "/login/")
        assert status == 200
        cookies = set_cookies(headers)
        token = CSRF_RE.search(body.decode()).group(1)
        form = urlencode({"csrf_token": token, "email": EMAIL, "password": PASSWORD}).encode()
        cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
        status, headers, _ = http_request(
            self.balancer_port,
            "POST",
            "/login/",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookie_header,
            },
        )
        assert status == 302, status
        cookies.update(set_cookies(headers))
        self.cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.callback = self.find_callback()

    def find_callback(self) -> bytes:
        """A page-load callback of the dashboard that answers a logged-in user."""
        pieces = {}
        for name in ("layout", "dependencies"):
            status, _, body = http_request(
                self.balancer_port, "GET", f"/dash/_dash-{name}", headers={"Cookie": self.cookie}
            )
            assert status == 200, f"/dash/_dash-{name} answered {status}"
            pieces[name] = json.loads(body)
        for candidate in page_load_callbacks(pieces["layout"], pieces["dependencies"]):
            if send(self.balancer_port, "dash", self.cookie, candidate)[1]:
                return candidate
        pytest.fail("no Dash callback answers a page-load request")

    def close(self) -> None:
        """Stop every process this cluster started and close its logs."""
        for instance in list(self.instances.values()):
            if instance.process.poll() is None:
                os.killpg(instance.process.pid, signal.SIGTERM)
            try:
                instance.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(instance.process.pid, signal.SIGKILL)
                instance.process.wait()
        if self.haproxy is not None:
            self.haproxy.terminate()
            self.haproxy.wait(timeout=10)
        self.link.close()
        if self.smtp is not None:
            self.smtp.close()
        for handle in self.logs:
            handle.close()


def haproxy_binary() -> str:
    """Debian's HAProxy (`.ci/run` installs it)."""
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


def redis_is_up() -> bool:
    """True when Redis answers PING on 127.0.0.1:6379."""
    try:
        with socket.create_connection((HOST, 6379), timeout=2) as client:
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False
