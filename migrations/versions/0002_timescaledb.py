"""stock_prices as a TimescaleDB hypertable, when the extension is available

Revision ID: 0002_timescaledb
Revises: 0001_initial
Create Date: 2026-11-21

The primary key (ticker, time) of 0001 is already the index every range query needs, so this
revision only adds TimescaleDB's partitioning on PostgreSQL servers that offer the extension.
SQLite and plain PostgreSQL are left as they are; the query layer (`app.prices.queries`) uses
`time_bucket` when the extension is installed and `date_bin` otherwise.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_timescaledb"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        make_hypertable_if_available(bind)


def make_hypertable_if_available(bind):
    """The schema's only TimescaleDB code (not exercised here: the extension is not installable
    on the development machine). Skipped, with a notice, when the extension is not offered or
    not preloaded: CREATE EXTENSION would fail, and plain PostgreSQL works as well."""
    offered = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).first()
    if not offered:
        return
    preloaded = bind.execute(sa.text("SELECT current_setting('shared_preload_libraries')"))
    if "timescaledb" not in preloaded.scalar_one():
        print("timescaledb is installed but not in shared_preload_libraries: not using it")
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    op.execute(
        "SELECT create_hypertable('stock_prices', 'time', "
        "migrate_data => true, if_not_exists => true)"
    )


def downgrade():
    # A hypertable cannot be turned back into a plain table in place; 0001's downgrade drops
    # stock_prices either way, and the extension may serve other databases' objects.
    pass
