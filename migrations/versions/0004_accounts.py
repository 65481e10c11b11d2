"""accounts: users.about_me, users.last_seen_at, login_events

Revision ID: 0004_accounts
Revises: 0003_rollups
Create Date: 2026-12-02

login_events is read one account at a time, newest first (the sign-in history, and the pruning
that keeps at most the newest 1,000 per account and none older than 180 days): the index
(user_id, id) serves both without reading other accounts' rows. Its rows go with their user
(ON DELETE CASCADE), as the rows of every later table that refers to users will.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_accounts"
down_revision = "0003_rollups"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column("about_me", sa.String(length=140), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "login_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_events")),
    )
    op.create_index("ix_login_events_user_id_id", "login_events", ["user_id", "id"])


def downgrade():
    op.drop_index("ix_login_events_user_id_id", table_name="login_events")
    op.drop_table("login_events")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("about_me")
