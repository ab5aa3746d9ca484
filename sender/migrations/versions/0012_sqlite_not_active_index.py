"""On SQLite, the ids of subscribers who are not active, in a partial index (few rows), so
that a segment's count takes them out of its sets in id order: the count is then one merge
of ranges that are each already sorted (`segments.count_active`), instead of a temporary
b-tree the size of the segment. PostgreSQL counts segments another way and gets nothing.

Revision ID: 0012
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE INDEX ix_subscribers_not_active ON subscribers (id) WHERE status != 'active'")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP INDEX IF EXISTS ix_subscribers_not_active")
