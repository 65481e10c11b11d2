"""Readers of the deployment files, and a runner for the scripts of docker/."""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
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
    """gunicorn.conf.py evaluated with its defaults, or with `env` set; a copy of it, run from a
    directory without the checkout's .env (which it would read, as wsgi.py does)."""
    for name in list(os.environ):
        if name.startswith(("GUNICORN_", "RATELIMIT_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory) / "gunicorn.conf.py"
        shutil.copy(ROOT / "gunicorn.conf.py", copy)
        return runpy.run_path(str(copy))


def run_docker_script(
    script: Path, *args: str, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess:
    """A script of docker/ as the container runs it, with `env` added to a clean environment
    and run from docker/, where load_dotenv() finds no .env of the checkout."""
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=ROOT / "docker",
        timeout=timeout,
    )
