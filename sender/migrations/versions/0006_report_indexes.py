"""Indexes for the console's reports: per-lesson outcome counts and a subscriber's timeline.

Revision ID: 0006
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_campaign_lesson", "deliveries", ["campaign_id", "lesson_key", "status"])
    op.create_index("ix_events_subscriber", "events", ["subscriber_id"])


def downgrade() -> None:
    op.drop_index("ix_events_subscriber", table_name="events")
    op.drop_index("ix_deliveries_campaign_lesson", table_name="deliveries")
