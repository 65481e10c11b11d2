"""Flask extensions, created unbound here and bound to an app in `create_app()`.

Keeping them module-level but uninitialised lets blueprints import them without importing the app,
and lets tests build as many apps as they like in one process.
"""

import sqlite3

from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base whose constraint names are stable, so migrations can drop or alter them
    by name on both SQLite (batch mode) and PostgreSQL."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()


@event.listens_for(Engine, "connect")
def enforce_sqlite_foreign_keys(dbapi_connection, _connection_record) -> None:
    """Make SQLite honour foreign keys, as PostgreSQL always does: deleting a user deletes its
    rows through ON DELETE CASCADE on both (SQLite leaves them off on every new connection)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
