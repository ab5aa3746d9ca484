"""On SQLite, a table of each subscriber's tags (tag, subscriber), kept by triggers from
`subscribers.tags`, so that a segment ("vip AND NOT webinar") is counted and claimed from an
index instead of reading every subscriber's json text (a million subscribers: 386 ms for one
tag, 643 ms for an expression). PostgreSQL has its GIN index (0010) and gets nothing.

The triggers, not the code, keep it: every writer of `subscribers` (an import, the console,
a bulk insert) keeps it right without knowing it exists.

Revision ID: 0011
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_FILL = ("INSERT OR IGNORE INTO subscriber_tags (tag, subscriber_id) "
         "SELECT value, NEW.id FROM json_each(NEW.tags);")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # by tag first: a segment reads one tag's subscribers; by subscriber for the triggers
    op.execute("CREATE TABLE subscriber_tags (tag TEXT NOT NULL, subscriber_id INTEGER NOT NULL, "
               "PRIMARY KEY (tag, subscriber_id)) WITHOUT ROWID")
    op.execute("CREATE INDEX ix_subscriber_tags_subscriber ON subscriber_tags (subscriber_id)")
    op.execute(f"CREATE TRIGGER subscriber_tags_insert AFTER INSERT ON subscribers BEGIN {_FILL} END")
    op.execute("CREATE TRIGGER subscriber_tags_update AFTER UPDATE OF tags ON subscribers "
               "WHEN NEW.tags IS NOT OLD.tags BEGIN "
               f"DELETE FROM subscriber_tags WHERE subscriber_id = OLD.id; {_FILL} END")
    op.execute("CREATE TRIGGER subscriber_tags_delete AFTER DELETE ON subscribers BEGIN "
               "DELETE FROM subscriber_tags WHERE subscriber_id = OLD.id; END")
    op.execute("INSERT OR IGNORE INTO subscriber_tags (tag, subscriber_id) "
               "SELECT j.value, s.id FROM subscribers AS s, json_each(s.tags) AS j")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS subscriber_tags_{trigger}")
    op.execute("DROP TABLE IF EXISTS subscriber_tags")
