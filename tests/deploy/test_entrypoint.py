"""The entry point (docker/entrypoint.sh) and its database gate (docker/db_gate.py), run for real
against databases that are not there."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.deploy.support import DB_GATE, ENTRYPOINT, dockerfile_instructions, run_docker_script


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


def run_db_gate(*args: str, **env: str) -> subprocess.CompletedProcess:
    """docker/db_gate.py with `env` added to a minimal environment (no .env of the checkout)."""
    return run_docker_script(DB_GATE, *args, env={"DB_CONNECT_TIMEOUT": "1", **env}, timeout=60)


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
