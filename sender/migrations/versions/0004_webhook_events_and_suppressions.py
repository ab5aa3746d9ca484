"""Webhook events carry the provider's id (so a re-delivered webhook is stored
once); suppressions outlive the subscriber row they came from.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
    op.create_index("ux_events_external", "events", ["provider", "external_id"], unique=True)
    op.create_table(
        "suppressions",
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("email_hash"),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_index("ux_events_external", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("external_id")
