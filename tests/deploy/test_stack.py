"""docker-stack.yml: Docker's own validation, start-first updates with rollback, secrets, Traefik
with TLS, and a connection budget that fits PostgreSQL's max_connections."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.deploy.support import (
    HEALTH_PATH,
    POOL_LIMIT,
    ROOT,
    STACK_ENV,
    environment,
    gunicorn_settings,
    healthcheck_settings,
    load_yaml,
    parse_duration,
)


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
    # A worker holds at most one connection per thread plus one for its healthcheck thread
    # (app.health), and never more than its pool allows.
    per_worker = min(threads + 1, POOL_LIMIT)
    budget = web["deploy"]["replicas"] * workers * per_worker * 2  # x2: start-first overlap
    command = " ".join(stack["services"]["db"]["command"])
    max_connections = int(re.search(r"max_connections=(\d+)", command).group(1))
    reserved = 3 + 10  # superuser_reserved_connections + migrations, psql, backups, monitoring
    assert budget + reserved < max_connections
