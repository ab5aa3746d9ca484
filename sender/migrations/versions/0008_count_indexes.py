"""Indexes that let `drip status` and the console count without reading rows: enrolments
per campaign, status, lesson and due time, and subscribers per status. Each count is then
a range of an index (see `sender.store.counts`), not a scan of the table.

Revision ID: 0008
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_enrolments_campaign", "enrolments",
                    ["campaign_id", "status", "next_position", "next_due_at"])
    op.create_index("ix_subscribers_status", "subscribers", ["status"])


def downgrade() -> None:
    op.drop_index("ix_subscribers_status", table_name="subscribers")
    op.drop_index("ix_enrolments_campaign", table_name="enrolments")
