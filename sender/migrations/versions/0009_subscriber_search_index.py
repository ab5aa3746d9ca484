"""On PostgreSQL, a trigram index on subscribers' addresses, so that the console's search
for a fragment of an address ("%fragment%", which no b-tree serves) reads the matches, not
a million rows.

pg_trgm ships with PostgreSQL and is a trusted extension (a database owner may create it),
but some servers leave it out or forbid it: then the index is skipped with a warning and
search still works, by a scan. SQLite scans in well under the console's target at 1M
subscribers, so it gets nothing.

Revision ID: 0009
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEX = "ix_subscribers_email_trgm"
log = logging.getLogger("alembic.runtime.migration")


def _trigram_schema(conn: sa.Connection) -> str | None:
    """The schema pg_trgm lives in, creating it if this role may; None if it can't be had."""
    find = sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                   "WHERE e.extname = 'pg_trgm'")
    if (schema := conn.execute(find).scalar()) is not None:
        return str(schema)
    # public first, so one copy serves every schema of the database; else the current one
    for statement in ("CREATE EXTENSION pg_trgm WITH SCHEMA public", "CREATE EXTENSION pg_trgm"):
        try:
            with conn.begin_nested():  # a refusal must not abort the migration's transaction
                conn.exec_driver_sql(statement)
            return str(conn.execute(find).scalar())
        except sa.exc.DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0]
    log.warning("subscriber search stays a scan: the pg_trgm extension could not be created (%s)", reason)
    return None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql" or (schema := _trigram_schema(conn)) is None:
        return
    ops = f'"{schema}".gin_trgm_ops'
    conn.exec_driver_sql(f"CREATE INDEX {INDEX} ON subscribers USING gin (email {ops})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")
