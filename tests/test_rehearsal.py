"""Deployment rehearsal on loopback: what Swarm and Traefik do to the app, done with real processes.

Two instances of the app, each started by the container's own entry point (`docker/entrypoint.sh`:
wait for PostgreSQL, locked migrations, `exec gunicorn -c gunicorn.conf.py wsgi:app`), sit behind
HAProxy, which routes only to instances whose `/healthcheck/` answers 200 (as Traefik's health check
and Swarm's HEALTHCHECK do). A bounded load generator sends `/`, `/healthcheck/` and a logged-in
Dash callback through it while the scenarios run:

1. rolling restart, start-first: start a new instance, wait until it is healthy, SIGTERM the old
   one; zero failed requests;
2. PostgreSQL gone for ~10 s: every instance answers `/healthcheck/` 503 within 5 s throughout, no
   worker hangs or is replaced, and every route works again within seconds of PostgreSQL's return,
   without restarting anything. Run alone (`pytest -m rehearsal`), the rehearsal stops the real
   server with pg_ctlcluster. In the full suite other tests hold PostgreSQL connections for the
   whole session (conftest's admin connection would not survive a restart), so the instances
   reach PostgreSQL through a loopback relay instead and the outage cuts that link: open
   connections are closed and new ones refused, which is what the app sees of a stopped server;
3. an instance SIGKILLed (a crashed container): HAProxy stops routing to it, and the failed
   requests stay within its detection window.

The figures (requests sent, failed, latencies) are printed and kept as test properties; the
figures of a run are in docs/deploy.md. Every address is 127.0.0.1, every port in 18100-18199.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

from tests.conftest import CSRF_RE, IN_CI, postgres_admin_connection, url_for_database

pytestmark = pytest.mark.rehearsal

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
PORT_BLOCKS = range(18100, 18200, 10)  # one block of 10 ports per rehearsal run
SLOTS = 6  # HAProxy server slots: instances come and go, the balancer's list stays put
REDIS_URL = "redis://127.0.0.1:6379/11"
EMAIL = "rehearsal@example.com"
PASSWORD = "rehearsal password"
HEALTH_BOUND_S = 5.0  # the app's promise for /healthcheck/ with the database down
OUTAGE_S = 10.0
# What the Dash renderer knows of a dcc.Location on page load at /dash/ with no query.
LOCATION_PROPS = {"pathname": "/dash/", "search": "", "hash": "", "href": "http://127.0.0.1/dash/"}
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


# --- processes ----------------------------------------------------------------------------------


def free_port_block() -> int:
    """The first port of a block of 10 in 18100-18199 that is all free right now."""
    blocks = list(PORT_BLOCKS)
    random.shuffle(blocks)  # two rehearsals at once (two developers) rarely pick the same block
    for base in blocks:
        try:
            probes = []
            for port in range(base, base + 10):
                probe = socket.socket()
                probes.append(probe)
                probe.bind((HOST, port))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError("no free block of ports in 18100-18199")


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


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10.0,
):
    """One request on a fresh connection: (status, headers, body)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.msg, response.read()
    finally:
        connection.close()


def set_cookies(headers) -> dict[str, str]:
    """The cookies a response sets, name -> value."""
    jar = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def layout_value(node, component_id: str, prop: str):
    """The value of `prop` of the component `component_id` in a Dash layout tree (None if
    unset), as the renderer would send it on page load."""
    if isinstance(node, list):
        for child in node:
            found = layout_value(child, component_id, prop)
            if found is not None:
                return found
        return None
    if not isinstance(node, dict) or "props" not in node:
        return None
    props = node["props"]
    if props.get("id") == component_id:
        if node.get("type") == "Location" and prop in LOCATION_PROPS:
            return props.get(prop, LOCATION_PROPS[prop])
        return props.get(prop)
    return layout_value(props.get("children"), component_id, prop)


def page_load_callbacks(layout: dict, dependencies: list[dict]) -> list[bytes]:
    """Request bodies of the server-side callbacks the renderer fires on page load, those
    triggered by the URL first.

    Built from `_dash-layout` and `_dash-dependencies` rather than written down, so that the
    rehearsal keeps sending a real callback of whatever the dashboard is today.
    """
    by_url, others = [], []
    for callback in dependencies:
        output = callback["output"]
        if callback.get("clientside_function") or "{" in output or not callback["inputs"]:
            continue  # browser-side or pattern-matching: nothing a plain POST can stand for
        multiple = output.startswith("..")
        parts = output.strip(".").split("...") if multiple else [output]
        outputs = [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]

        def with_values(items):
            return [
                {**item, "value": layout_value(layout, item["id"], item["property"])}
                for item in items
            ]

        first = callback["inputs"][0]
        body = {
            "output": output,
            "outputs": outputs if multiple else outputs[0],
            "inputs": with_values(callback["inputs"]),
            "changedPropIds": [f"{first['id']}.{first['property']}"],
            "state": with_values(callback.get("state", [])),
        }
        triggered_by_url = any(item["id"] == "url" for item in callback["inputs"])
        (by_url if triggered_by_url else others).append(json.dumps(body).encode())
    return by_url + others


class PostgresLink:
    """A loopback TCP relay to PostgreSQL that the rehearsal can cut, as if the server stopped.

    One thread moves the bytes of every connection. `cut()` closes the listening socket (new
    connections are refused) and every open connection (the app reads EOF, as from a server that
    shut down); `restore()` listens again.
    """

    def __init__(self, port: int, upstream: tuple[str, int]):
        self.port = port
        self.upstream = upstream
        self._wanted_up = threading.Event()
        self._wanted_up.set()
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> None:
        """Begin relaying."""
        self._thread.start()
        wait_until(self.listening.is_set, 5, "the PostgreSQL relay")

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self._wanted_up.clear()
        wait_until(lambda: not self.listening.is_set(), 5, "the relay to cut")

    def restore(self) -> None:
        """Accept connections again."""
        self._wanted_up.set()
        wait_until(self.listening.is_set, 5, "the relay to listen")

    def close(self) -> None:
        """Stop the relay thread and close every socket."""
        self._stop.set()
        self._thread.join(10)

    def _listen(self) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(64)
        listener.setblocking(False)
        return listener

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        listener: socket.socket | None = None
        partners: dict[socket.socket, socket.socket] = {}

        def drop(sock: socket.socket) -> None:
            for end in (sock, partners.pop(sock, None)):
                if end is not None:
                    partners.pop(end, None)
                    selector.unregister(end)
                    end.close()

        try:
            while not self._stop.is_set():
                if self._wanted_up.is_set() and listener is None:
                    listener = self._listen()
                    selector.register(listener, selectors.EVENT_READ)
                    self.listening.set()
                elif not self._wanted_up.is_set() and listener is not None:
                    selector.unregister(listener)
                    listener.close()
                    listener = None
                    while partners:
                        drop(next(iter(partners)))
                    self.listening.clear()
                for key, _ in selector.select(timeout=0.05):
                    sock = key.fileobj
                    if sock is listener:
                        self._accept(listener, selector, partners)
                    elif sock in partners:
                        try:
                            data = sock.recv(65536)
                            if data:
                                partners[sock].sendall(data)
                                continue
                        except OSError:
                            pass
                        drop(sock)
        finally:
            while partners:
                drop(next(iter(partners)))
            if listener is not None:
                listener.close()
            selector.close()

    def _accept(self, listener, selector, partners) -> None:
        try:
            client, _ = listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(self.upstream, timeout=3)
        except OSError:
            client.close()
            return
        for end in (client, server):
            # Blocking sends with a timeout keep the relay simple: PostgreSQL messages are small.
            end.settimeout(5)
            selector.register(end, selectors.EVENT_READ)
        partners[client], partners[server] = server, client


class Cluster:
    """Instances of the app behind HAProxy, on one block of loopback ports."""

    def __init__(self, workdir: Path, database_url: str, outage_mode: str):
        self.workdir = workdir
        self.outage_mode = outage_mode
        base = free_port_block()
        self.balancer_port = base
        self.slot_ports = {slot: base + slot for slot in range(1, SLOTS + 1)}
        self.link: PostgresLink | None = None
        if outage_mode == "link":
            parts = urlsplit(database_url)
            self.link = PostgresLink(base + 9, (parts.hostname or HOST, parts.port or 5432))
            netloc = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
            database_url = urlunsplit(parts._replace(netloc=f"{netloc}{HOST}:{base + 9}"))
        self.database_url = database_url
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
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "2",
            "GUNICORN_GRACEFUL_TIMEOUT": "10",
            "DB_WAIT_TIMEOUT": "30",
            "LOG_LEVEL": "WARNING",
            # Set empty so that a developer's .env (read by wsgi.py) cannot change them.
            "LOG_FILE": "",
            "TRUSTED_HOSTS": "",
            "PROXY_FIX": "0",
            "MAIL_SERVER": "",
            "SESSION_COOKIE_SECURE": "0",
        }

    def open_log(self, name: str):
        """A log file in the work directory, closed at teardown."""
        path = self.workdir / f"{name}.log"
        handle = path.open("ab")
        self.logs.append(handle)
        return path, handle

    def database_outage_begins(self) -> None:
        """Stop PostgreSQL, or cut the link to it (see the module's docstring)."""
        if self.link is not None:
            self.link.cut()
        else:
            pg_ctl("stop")

    def database_outage_ends(self) -> None:
        """Start PostgreSQL again and wait until it accepts connections, or restore the link."""
        if self.link is not None:
            self.link.restore()
        else:
            pg_ctl("start")
            wait_until(postgres_ready, 60, "pg_isready", interval=0.2)

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
        if self.link is not None:
            self.link.close()
        for handle in self.logs:
            handle.close()


def haproxy_binary() -> str:
    """Debian's HAProxy (`.ci/run` installs it)."""
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


def wait_until(condition, timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll `condition` until true; return the seconds it took, fail after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - started


def require(condition: bool, message: str) -> None:
    """Skip without the service, except on CI, where the rehearsal must run."""
    if not condition:
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def redis_is_up() -> bool:
    """True when Redis answers PING on 127.0.0.1:6379."""
    try:
        with socket.create_connection((HOST, 6379), timeout=2) as client:
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def rehearsal_database():
    """A PostgreSQL database of the rehearsal's own, dropped at the end (by a new connection,
    since the server may have been restarted in between)."""
    name = f"stockdash_rehearsal_{uuid.uuid4().hex[:12]}"
    with postgres_admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_for_database(name)
    finally:
        with postgres_admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def outage_mode(request) -> str:
    """`server` (stop PostgreSQL itself) when nothing else in this session uses it, else `link`.

    REHEARSAL_OUTAGE=link keeps the server running even then (say, while others share it).
    """
    if os.environ.get("REHEARSAL_OUTAGE") == "link":
        return "link"
    shared = any(
        getattr(item, "module", None) is not request.module
        and {"database_url", "postgresql_database"} & set(getattr(item, "fixturenames", ()))
        for item in request.session.items
    )
    if shared or postgres_cluster() is None or os.geteuid() != 0:
        return "link"
    return "server"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, rehearsal_database, outage_mode):
    """Two healthy instances behind HAProxy, a user, and a logged-in session cookie."""
    require(Path(haproxy_binary()).exists(), "HAProxy is not installed (apt-get install haproxy)")
    require(redis_is_up(), "Redis is not running on 127.0.0.1:6379")
    workdir = tmp_path_factory.mktemp("rehearsal")
    cluster = Cluster(workdir, rehearsal_database, outage_mode)
    try:
        if cluster.link is not None:
            cluster.link.start()
        cluster.start_haproxy()
        cluster.ensure_instances(2)  # both run the locked migrations at once
        created = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "wsgi", "users", "create", "--email", EMAIL,
             "--first-name", "Ada", "--last-name", "Lovelace", "--password-stdin"],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=cluster.environment(0),
            timeout=60,
        )  # fmt: skip
        assert created.returncode == 0, created.stdout + created.stderr
        cluster.log_in()
        yield cluster
    finally:
        cluster.close()


# --- load ---------------------------------------------------------------------------------------


@dataclass
class Record:
    """One request of the load generator."""

    route: str
    started: float
    latency: float
    status: int | None  # None: no HTTP answer at all
    ok: bool
    target: str = "balancer"


ROUTES = ("/", "/healthcheck/", "dash")


def send(
    port: int, route: str, cookie: str, callback: bytes = b"", timeout: float = 10.0
) -> tuple[int | None, bool]:
    """One request of `route` on a fresh connection; (status, whether it is the right answer).

    "dash" posts `callback` to Dash's callback route as the logged-in user: right is a 200 with
    Dash's JSON, or 204 (the callback chose not to update).
    """
    try:
        if route == "dash":
            status, _, body = http_request(
                port,
                "POST",
                "/dash/_dash-update-component",
                body=callback,
                headers={"Content-Type": "application/json", "Cookie": cookie},
                timeout=timeout,
            )
            return status, status == 204 or (status == 200 and b'"response"' in body)
        status, _, body = http_request(port, "GET", route, timeout=timeout)
        return status, status == 200
    except (OSError, http.client.HTTPException):
        return None, False


@dataclass
class LoadGenerator:
    """A few threads sending the routes in turn to one port, bounded in count and in time."""

    port: int
    cookie: str
    callback: bytes
    threads: int = 3
    pause: float = 0.01
    max_requests: int = 20_000
    max_seconds: float = 90.0
    target: str = "balancer"
    records: list[Record] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> LoadGenerator:
        self._deadline = time.monotonic() + self.max_seconds
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(30)

    def _run(self, index: int) -> None:
        turn = index
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            with self._lock:
                if len(self.records) >= self.max_requests:
                    return
            route = ROUTES[turn % len(ROUTES)]
            turn += 1
            started = time.monotonic()
            status, ok = send(self.port, route, self.cookie, self.callback)
            record = Record(route, started, time.monotonic() - started, status, ok, self.target)
            with self._lock:
                self.records.append(record)
            time.sleep(self.pause)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `values` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summarise(records: list[Record]) -> dict:
    """Requests sent, failed, and latency percentiles in milliseconds."""
    latencies = [r.latency for r in records]
    return {
        "sent": len(records),
        "failed": sum(not r.ok for r in records),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies, default=0) * 1000, 1),
        "statuses": dict(Counter(str(r.status) for r in records)),
    }


def report(capsys, record_property, scenario: str, figures: dict) -> None:
    """Show the figures in pytest's output (even without -s) and keep them as properties."""
    record_property(scenario, json.dumps(figures))
    with capsys.disabled():
        print(f"\n[rehearsal] {scenario}: {json.dumps(figures)}")


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_cluster() -> list[str] | None:
    """`VERSION main` of the local Debian cluster, when this machine runs one we may stop."""
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        return None
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if p.is_dir())
    return [versions[-1], "main"] if versions else None


def pg_ctl(action: str) -> None:
    """Start or stop the local cluster (other tests share it: callers always restart it)."""
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *postgres_cluster(), action],
        check=True,
        capture_output=True,
        timeout=60,
    )


def postgres_ready() -> bool:
    """pg_isready on 127.0.0.1:5432."""
    return (
        subprocess.run(["pg_isready", "-q", "-h", HOST, "-p", "5432"], timeout=10).returncode == 0
    )


# --- scenarios ----------------------------------------------------------------------------------


def test_rolling_restart_fails_no_request(cluster, capsys, record_property):
    old_instances = cluster.ensure_instances(2)
    stop_times = []
    with LoadGenerator(cluster.balancer_port, cluster.cookie, cluster.callback) as load:
        time.sleep(1)
        for old in old_instances:
            new = cluster.start_instance()
            cluster.wait_healthy(new)
            stop_times.append(cluster.stop_instance(old, signal.SIGTERM))
            wait_until(lambda old=old: cluster.status(old.name).startswith("DOWN"), 10, "DOWN")
        time.sleep(1)
    figures = summarise(load.records)
    figures["sigterm_to_exit_s"] = [round(t, 2) for t in stop_times]
    report(capsys, record_property, "rolling restart", figures)
    failures = [r for r in load.records if not r.ok]
    assert figures["sent"] > 100
    assert not failures, failures[:10]


def test_postgresql_outage_degrades_and_recovers(cluster, capsys, record_property):
    instances = cluster.ensure_instances(2)
    processes_before = {i.name: (i.process.pid, children_of(i.process.pid)) for i in instances}
    direct = [
        LoadGenerator(i.port, cluster.cookie, cluster.callback, threads=1, pause=0.2, target=i.name)
        for i in instances
    ]
    stopped_at = down_at = restarting_at = back_at = recovered_at = 0.0

    def every_route_works() -> bool:
        ports = [cluster.balancer_port] + [i.port for i in instances]
        return all(
            send(port, route, cluster.cookie, cluster.callback)[1]
            for port in ports
            for route in ROUTES
        )

    with ExitStack() as running:
        load = running.enter_context(
            LoadGenerator(cluster.balancer_port, cluster.cookie, cluster.callback)
        )
        for generator in direct:  # one slow prober per instance, past the balancer
            running.enter_context(generator)
        time.sleep(1)
        stopped_at = time.monotonic()
        try:
            cluster.database_outage_begins()
            down_at = time.monotonic()
            time.sleep(OUTAGE_S)
        finally:
            restarting_at = time.monotonic()
            cluster.database_outage_ends()  # whatever happened: other tests share it
            back_at = time.monotonic()
        wait_until(every_route_works, 30, "every route to work again", interval=0.2)
        recovered_at = time.monotonic()
        time.sleep(1)

    direct_records = [r for generator in direct for r in generator.records]
    # While the database is down: from when the stop completed until its restart began.
    during = [r for r in direct_records if down_at < r.started < restarting_at]
    health = [r for r in during if r.route == "/healthcheck/"]
    figures = {
        "mode": cluster.outage_mode,
        "stop_took_s": round(down_at - stopped_at, 2),
        "outage_s": round(back_at - stopped_at, 1),
        "recovered_after_s": round(recovered_at - back_at, 2),
        "balancer": summarise(load.records),
        "direct_during_outage": summarise(during),
        "direct_healthcheck_during_outage": summarise(health),
    }
    report(capsys, record_property, "postgresql outage", figures)

    assert health and all(r.status == 503 for r in health), Counter(r.status for r in health)
    assert max(r.latency for r in health) < HEALTH_BOUND_S
    # No worker hangs: every request to an instance got an HTTP answer, within the bound.
    assert all(r.status is not None for r in during)
    assert max(r.latency for r in during) < HEALTH_BOUND_S + 1
    assert recovered_at - back_at < 10
    # Nothing was restarted: same masters, same workers.
    for instance in instances:
        assert instance.process.poll() is None
        pid, workers = processes_before[instance.name]
        assert (instance.process.pid, children_of(instance.process.pid)) == (pid, workers)
    # After the recovery everything through the balancer works again.
    assert all(r.ok for r in load.records if r.started > recovered_at)


def test_killed_instance_is_taken_out_of_rotation(cluster, capsys, record_property):
    victim, survivor = cluster.ensure_instances(2)
    with LoadGenerator(cluster.balancer_port, cluster.cookie, cluster.callback) as load:
        time.sleep(1.5)
        killed_at = time.monotonic()
        cluster.stop_instance(victim, signal.SIGKILL)
        detection = wait_until(
            lambda: cluster.status(victim.name).startswith("DOWN"), 10, "HAProxy to notice"
        )
        down_at = killed_at + detection
        sessions_when_down = int(cluster.server_states()[victim.name]["stot"])
        time.sleep(3)
    failures = [r for r in load.records if not r.ok]
    window = [r for r in load.records if killed_at - 0.5 < r.started < down_at + 0.1]
    figures = summarise(load.records)
    figures["detection_s"] = round(detection, 2)
    figures["requests_in_detection_window"] = len(window)
    report(capsys, record_property, "instance killed", figures)

    assert detection < 3
    # HAProxy sent the dead instance nothing once it was marked down...
    assert int(cluster.server_states()[victim.name]["stot"]) == sessions_when_down
    # ...and whatever failed was in flight or routed before it noticed.
    assert all(killed_at - 0.5 < r.started < down_at + 0.5 for r in failures), failures[:5]
    assert len(failures) <= len(window)
    assert survivor.process.poll() is None
    assert all(r.ok for r in load.records if r.started > down_at + 0.5)
