"""The database check behind `/healthcheck/`."""

from __future__ import annotations

from psycopg import DatabaseError
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

HEALTH_OK = "The app and database are working fine"
HEALTH_QUERY = text("SELECT ticker FROM stock_prices LIMIT 1")
# A healthcheck must answer well within the 5 s monitors allow, even when the engine-wide
# statement timeout (meant for real work) is longer.
HEALTH_STATEMENT_TIMEOUT_MS = 2000


def check_database(engine: Engine) -> str | None:
    """Run the health query; None when it works, else a one-line reason safe to show anyone.

    The reason names the kind of failure only: exception texts can carry host names or SQL.
    """
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                run_postgres_health_query(connection)
            else:
                connection.execute(HEALTH_QUERY).first()
    except PoolTimeoutError:
        return "no database connection free (pool exhausted)"
    except (SQLAlchemyError, DatabaseError) as error:
        # Unreachable server, timeout and missing table all mean the same to a monitor.
        return f"query on stock_prices failed ({type(error).__name__})"
    return None


def run_postgres_health_query(connection: Connection) -> None:
    """The health query under its own short statement timeout, in one round trip.

    Sent as one simple-protocol string in autocommit mode, PostgreSQL runs both statements in
    one implicit transaction, so SET LOCAL covers the SELECT and nothing else: no BEGIN, no
    ROLLBACK, no separate SET, which would each cost a round trip on every poll.
    """
    connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(
            f"SET LOCAL statement_timeout = {HEALTH_STATEMENT_TIMEOUT_MS}; {HEALTH_QUERY.text}"
        )
        cursor.nextset()
        cursor.fetchone()
