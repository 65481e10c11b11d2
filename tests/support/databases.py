"""The PostgreSQL server the tests and benchmarks use, and scratch databases on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from tests.support.ci import skip_or_fail

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def url_for_database(name: str, admin_url: str = POSTGRES_ADMIN_URL) -> str:
    """`admin_url` with its database name replaced."""
    return admin_url.rsplit("/", 1)[0] + "/" + name


def postgres_admin_connection() -> psycopg.Connection:
    """A connection to the server's maintenance database; skips (fails on CI) without one."""
    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        skip_or_fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error}")


@contextmanager
def scratch_database(prefix: str, admin_url: str = POSTGRES_ADMIN_URL) -> Iterator[str]:
    """Create an empty database with a unique name starting with `prefix`, yield its URL, and
    drop it at the end, whatever is still connected to it. The drop uses a new connection, so it
    works even if the server was restarted in between."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_for_database(name, admin_url)
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def schema_differences(connection) -> list:
    """What differs between the migrated schema on `connection` and the models (types too):
    empty when the migrations make exactly the tables the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.extensions import db

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, db.metadata)
