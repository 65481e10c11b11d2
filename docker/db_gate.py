"""Database gate for the container entry point: `python docker/db_gate.py [-- COMMAND [ARG ...]]`.

1. Wait until the configured database accepts connections, retrying with exponential backoff
   (0.5 s doubling up to 5 s) for at most DB_WAIT_TIMEOUT seconds (default 60). When it never
   does, exit 1 with a one-line reason, so that the orchestrator restarts the container.
2. Then, if a COMMAND is given, run it while holding a PostgreSQL advisory lock, so that replicas
   starting together apply migrations one at a time instead of racing on the same DDL; exit with
   its status.

The database is the one the app would use: DATABASE_URL or the file named by DATABASE_URL_FILE.
On SQLite (the default) there is nothing to wait for or lock, and COMMAND simply runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from dotenv import load_dotenv  # noqa: E402  (after sys.path is set)
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.exc import SQLAlchemyError  # noqa: E402

from app.config import engine_options, env_or_file, normalise_database_url  # noqa: E402

# Any constant works as long as every replica uses the same one: "stockdash" in ASCII.
MIGRATION_LOCK_KEY = 0x73746F636B64
FIRST_DELAY = 0.5
MAX_DELAY = 5.0
USAGE = "usage: db_gate.py [-- COMMAND [ARG ...]]"


def database_engine() -> Engine | None:
    """An engine on the app's database, or None when that is not PostgreSQL."""
    url = normalise_database_url(env_or_file(os.environ, "DATABASE_URL") or "")
    if not url.startswith("postgresql"):
        return None
    return create_engine(url, **engine_options(url, os.environ))


def reason(error: SQLAlchemyError) -> str:
    """The first line of the driver's message: says refused/timeout/auth, never the password."""
    message = str(getattr(error, "orig", None) or type(error).__name__)
    return message.strip().splitlines()[0] if message.strip() else type(error).__name__


def wait(engine: Engine, timeout: float) -> bool:
    """Try to connect until it works or `timeout` seconds have passed; True when it worked."""
    deadline = time.monotonic() + timeout
    delay = FIRST_DELAY
    attempt = 1
    while True:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            print(f"db_gate: database is up (attempt {attempt})", flush=True)
            return True
        except SQLAlchemyError as error:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                print(f"db_gate: database still down after {timeout:g} s: {reason(error)}")
                return False
            pause = min(delay, remaining)
            print(f"db_gate: database not ready ({reason(error)}); retry in {pause:.1f} s")
            time.sleep(pause)
            delay = min(delay * 2, MAX_DELAY)
            attempt += 1


def run_locked(engine: Engine, command: list[str]) -> int:
    """Run `command` while this process holds the migration advisory lock."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # A long migration in another replica must not make our wait hit statement_timeout.
        connection.execute(text("SET statement_timeout = 0"))
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            return subprocess.call(command)  # noqa: S603  (the entry point's own command)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})


def main(argv: list[str]) -> int:
    """Wait, then run the command under the lock; bad usage or settings exit 2 with a message."""
    load_dotenv()  # as wsgi.py does, so the gate sees the same settings as the app
    if len(argv) > 1 and argv[1] != "--":
        print(USAGE, file=sys.stderr)
        return 2
    command = argv[2:]
    try:
        engine = database_engine()
        timeout = float(os.environ.get("DB_WAIT_TIMEOUT", "60"))
    except (OSError, ValueError) as error:
        print(f"db_gate: bad database settings: {error}", file=sys.stderr)
        return 2
    if engine is None:
        return subprocess.call(command) if command else 0  # noqa: S603
    try:
        if not wait(engine, timeout):
            return 1
        return run_locked(engine, command) if command else 0
    except SQLAlchemyError as error:
        print(f"db_gate: lost the database while migrating: {reason(error)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
