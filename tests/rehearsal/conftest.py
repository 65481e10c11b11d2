"""The rehearsal's fixtures: its own database, how PostgreSQL is taken away, and one cluster
(two instances behind HAProxy, logged in) shared by the scenarios of this package."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.rehearsal.cluster import (
    EMAIL,
    PASSWORD,
    ROOT,
    VENV_BIN,
    Cluster,
    haproxy_binary,
    redis_is_up,
)
from tests.rehearsal.postgres import postgres_cluster
from tests.support.ci import require
from tests.support.databases import postgres_admin_connection, scratch_database

PACKAGE = Path(__file__).resolve().parent


@pytest.fixture(scope="package")
def rehearsal_database():
    """A PostgreSQL database of the rehearsal's own, dropped at the end (by a new connection,
    since the server may have been restarted in between)."""
    postgres_admin_connection().close()  # skips (fails on CI) without a server
    with scratch_database("stockdash_rehearsal") as url:
        yield url


@pytest.fixture(scope="package")
def outage_mode(request) -> str:
    """`server` (stop PostgreSQL itself) when nothing else in this session uses it, else `link`.

    REHEARSAL_OUTAGE=link keeps the server running even then (say, while others share it).
    """
    if os.environ.get("REHEARSAL_OUTAGE") == "link":
        return "link"
    shared = any(
        not Path(item.path).is_relative_to(PACKAGE)
        and {"database_url", "postgresql_database"} & set(getattr(item, "fixturenames", ()))
        for item in request.session.items
    )
    if shared or postgres_cluster() is None or os.geteuid() != 0:
        return "link"
    return "server"


@pytest.fixture(scope="package")
def cluster(tmp_path_factory, rehearsal_database, outage_mode):
    """Two healthy instances behind HAProxy, a user, and a logged-in session cookie."""
    require(Path(haproxy_binary()).exists(), "HAProxy is not installed (apt-get install haproxy)")
    require(redis_is_up(), "Redis is not running on 127.0.0.1:6379")
    workdir = tmp_path_factory.mktemp("rehearsal")
    cluster = Cluster(workdir, rehearsal_database, outage_mode)
    try:
        cluster.start_services()
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
