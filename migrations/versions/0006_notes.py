"""notes: research notes on a ticker at a date, and analysts following each other

Revision ID: 0006_notes
Revises: 0005_watchlists
Create Date: 2026-12-03

Both tables go with their users (and notes with their ticker) by ON DELETE CASCADE. Every list of
notes is paged by the keyset (created_at, id), newest first, hence the three indexes ending in
those columns; (ticker, as_of) serves the dashboard's markers for a date range.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_notes"
down_revision = "0005_watchlists"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "follows",
        sa.Column("follower_id", sa.Integer(), nullable=False),
        sa.Column("followed_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("follower_id <> followed_id", name=op.f("ck_follows_not_self")),
        sa.ForeignKeyConstraint(
            ["follower_id"],
            ["users.id"],
            name=op.f("fk_follows_follower_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["followed_id"],
            ["users.id"],
            name=op.f("fk_follows_followed_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("follower_id", "followed_id", name=op.f("pk_follows")),
    )
    op.create_index(
        "ix_follows_followed_id_created_at",
        "follows",
        ["followed_id", "created_at", "follower_id"],
    )
    op.create_index(
        "ix_follows_follower_id_created_at",
        "follows",
        ["follower_id", "created_at", "followed_id"],
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ticker", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("body", sa.String(length=280), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notes_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticker"],
            ["stock_tickers.ticker"],
            name=op.f("fk_notes_ticker_stock_tickers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    op.create_index("ix_notes_created_at_id", "notes", ["created_at", "id"])
    op.create_index("ix_notes_user_id_created_at_id", "notes", ["user_id", "created_at", "id"])
    op.create_index("ix_notes_ticker_created_at_id", "notes", ["ticker", "created_at", "id"])
    op.create_index("ix_notes_ticker_as_of", "notes", ["ticker", "as_of"])


def downgrade():
    op.drop_index("ix_notes_ticker_as_of", table_name="notes")
    op.drop_index("ix_notes_ticker_created_at_id", table_name="notes")
    op.drop_index("ix_notes_user_id_created_at_id", table_name="notes")
    op.drop_index("ix_notes_created_at_id", table_name="notes")
    op.drop_table("notes")
    op.drop_index("ix_follows_follower_id_created_at", table_name="follows")
    op.drop_index("ix_follows_followed_id_created_at", table_name="follows")
    op.drop_table("follows")
