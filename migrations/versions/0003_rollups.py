"""Pre-aggregated bars: stock_prices_hourly, stock_prices_daily and stock_rollup_tickers

Revision ID: 0003_rollups
Revises: 0002_timescaledb
Create Date: 2026-12-03

Each level holds, per ticker and bucket (an hour, a day), the bucket's first open, max high, min
low, last close, summed volume and row count, as `app.prices.queries.series` would aggregate the
raw rows. On SQLite and plain PostgreSQL they are tables of the project's own, kept exact by the
importer and `prices delete` in the same transaction as each write (`app.prices.rollups`);
`stock_rollup_tickers` says which levels a ticker has (only those whose buckets hold two rows or
more: daily bars gain nothing from daily rollups). The tables start empty: the rows stored before
this revision are served raw, exactly as before, until `flask prices rollups --rebuild`.

On TimescaleDB (the hypertable of 0002) the levels are continuous aggregates under the same names,
the daily one on top of the hourly one, with real-time aggregation (`materialized_only = false`)
so that rows not materialized yet count; the app refreshes the touched range after each write.
Not exercised on the development machine (no TimescaleDB): tests/test_rollups_migration.py runs
it against STOCKDASH_TIMESCALE_URL when that is set.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_rollups"
down_revision = "0002_timescaledb"
branch_labels = None
depends_on = None

LEVELS = ("stock_prices_hourly", "stock_prices_daily")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and timescaledb_installed(bind):
        create_continuous_aggregates()
    else:
        for level in LEVELS:
            op.create_table(
                level,
                sa.Column("ticker", sa.String(length=16), nullable=False),
                sa.Column("time", sa.DateTime(), nullable=False),
                sa.Column("open", sa.Double(), nullable=True),
                sa.Column("high", sa.Double(), nullable=True),
                sa.Column("low", sa.Double(), nullable=True),
                sa.Column("close", sa.Double(), nullable=False),
                sa.Column("volume", sa.BigInteger(), nullable=True),
                sa.Column("row_count", sa.Integer(), nullable=False),
                sa.PrimaryKeyConstraint("ticker", "time", name=op.f(f"pk_{level}")),
            )
    op.create_table(
        "stock_rollup_tickers",
        sa.Column("ticker", sa.String(length=16), nullable=False),
        sa.Column("hourly", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("daily", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("ticker", name=op.f("pk_stock_rollup_tickers")),
    )


def timescaledb_installed(bind) -> bool:
    """Whether 0002 made stock_prices a hypertable (the extension is installed here)."""
    return bool(
        bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first()
    )


def create_continuous_aggregates():
    """Hourly over the hypertable, daily over the hourly aggregate (hierarchical, TimescaleDB
    2.9+). `first(open, time) FILTER (WHERE open IS NOT NULL)` skips missing opens as the raw
    aggregation does. WITH NO DATA: the app's `prices rollups --rebuild` (or a refresh policy)
    materializes them; until then real-time aggregation answers from the raw rows."""
    op.execute(
        "CREATE MATERIALIZED VIEW stock_prices_hourly "
        "WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS "
        "SELECT ticker, time_bucket(INTERVAL '1 hour', time) AS time, "
        "first(open, time) FILTER (WHERE open IS NOT NULL) AS open, max(high) AS high, "
        "min(low) AS low, last(close, time) AS close, sum(volume) AS volume, "
        "count(*) AS row_count FROM stock_prices GROUP BY 1, 2 WITH NO DATA"
    )
    op.execute(
        "CREATE MATERIALIZED VIEW stock_prices_daily "
        "WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS "
        "SELECT ticker, time_bucket(INTERVAL '1 day', time) AS time, "
        "first(open, time) FILTER (WHERE open IS NOT NULL) AS open, max(high) AS high, "
        "min(low) AS low, last(close, time) AS close, sum(volume) AS volume, "
        "sum(row_count) AS row_count FROM stock_prices_hourly GROUP BY 1, 2 WITH NO DATA"
    )


def downgrade():
    op.drop_table("stock_rollup_tickers")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and timescaledb_installed(bind):
        op.execute("DROP MATERIALIZED VIEW IF EXISTS stock_prices_daily")
        op.execute("DROP MATERIALIZED VIEW IF EXISTS stock_prices_hourly")
        return
    for level in reversed(LEVELS):
        op.drop_table(level)
