"""watchlists: watchlist, and ticker_stats (the per-ticker summary the directory reads)

Revision ID: 0005_watchlists
Revises: 0004_accounts
Create Date: 2026-12-03

watchlist rows go with their user and with their ticker (ON DELETE CASCADE). ticker_stats is
filled here from the prices already stored (app.prices.ticker_stats.rebuild_ticker_stats: a few
primary-key lookups per ticker), and kept by the importer from then on.
"""

import sqlalchemy as sa
from alembic import op

from app.prices.ticker_stats import rebuild_ticker_stats

revision = "0005_watchlists"
down_revision = "0004_accounts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "watchlist",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ticker", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_watchlist_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticker"],
            ["stock_tickers.ticker"],
            name=op.f("fk_watchlist_ticker_stock_tickers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "ticker", name=op.f("pk_watchlist")),
    )
    op.create_index("ix_watchlist_ticker", "watchlist", ["ticker"])
    op.create_table(
        "ticker_stats",
        sa.Column("ticker", sa.String(length=16), nullable=False),
        sa.Column("first_time", sa.DateTime(timezone=False), nullable=False),
        sa.Column("last_time", sa.DateTime(timezone=False), nullable=False),
        sa.Column("last_close", sa.Double(), nullable=False),
        sa.Column("previous_close", sa.Double(), nullable=True),
        sa.Column("change_pct", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticker"],
            ["stock_tickers.ticker"],
            name=op.f("fk_ticker_stats_ticker_stock_tickers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticker", name=op.f("pk_ticker_stats")),
    )
    op.create_index("ix_ticker_stats_last_time", "ticker_stats", ["last_time"])
    rebuild_ticker_stats(op.get_bind())


def downgrade():
    op.drop_index("ix_ticker_stats_last_time", table_name="ticker_stats")
    op.drop_table("ticker_stats")
    op.drop_index("ix_watchlist_ticker", table_name="watchlist")
    op.drop_table("watchlist")
