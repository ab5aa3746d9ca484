"""The tables. Alembic migrations in `sender/migrations` create them; this
module is what queries are written against and must match the latest migration
(a test compares the two)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC, so SQLite and PostgreSQL agree."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

# What subscribers.status may be.
SUBSCRIBER_STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

subscribers = sa.Table(
    "subscribers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("timezone", sa.String(64), nullable=True),
    sa.Column("fields", sa.JSON, nullable=False),
    # jsonb on PostgreSQL, GIN-indexed by migration 0010 (segments test containment, @>)
    sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    # pending | active | unsubscribed | bounced | complained
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("consent_source", sa.String(200), nullable=True),
    sa.Column("consent_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_subscribers_status", "status"),  # subscribers per status, counted in the index
)

# On SQLite only: each subscriber's tags, one row a tag, kept from `subscribers.tags` by the
# triggers of migration 0011 (no code writes it), for segments to read by tag. Not in
# `metadata`: PostgreSQL has no such table (its tags have a GIN index instead).
subscriber_tags = sa.table("subscriber_tags", sa.column("tag"), sa.column("subscriber_id"))

campaigns = sa.Table(
    "campaigns", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="course"),
    sa.Column("title", sa.String(300), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),  # active | paused
    sa.Column("paused_reason", sa.Text, nullable=True),
    # Set when the provider, not staff, paused it: the campaign tries again by itself then.
    sa.Column("resume_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

enrolments = sa.Table(
    "enrolments", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
              nullable=False),
    # active | paused | completed | stopped
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("next_position", sa.Integer, nullable=False, server_default="1"),
    sa.Column("next_due_at", UTCDateTime, nullable=True),
    sa.Column("enrolled_at", UTCDateTime, nullable=False),
    sa.Column("completed_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("subscriber_id", "campaign_id", name="uq_enrolment"),
    sa.Index("ix_enrolments_due", "status", "next_due_at"),
    # Per campaign: enrolments by status, and (of the active ones) by next lesson and due
    # time, each figure an index range (`sender.store.counts`), for drip status and the console.
    sa.Index("ix_enrolments_campaign", "campaign_id", "status", "next_position", "next_due_at"),
)

# Delivery statuses of a lesson that has not gone and will be tried again: not "received".
WAITING = ("queued", "held")

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
              nullable=False),
    # The lesson file's stem, so renumbering or removing lessons never resends one.
    sa.Column("lesson_key", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    # queued -> sending -> sent | failed | suppressed, or back to queued (tried again) or held
    # (the subscriber lacks a field the lesson needs): see WAITING
    sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
    sa.Column("scheduled_at", UTCDateTime, nullable=True),
    sa.Column("claimed_at", UTCDateTime, nullable=True),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Column("message_id", sa.String(300), nullable=True),
    sa.Column("provider_message_id", sa.String(300), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),  # earlier tries
    sa.UniqueConstraint("subscriber_id", "campaign_id", "lesson_key", name="uq_delivery"),
    sa.Index("ix_deliveries_status", "status"),
    sa.Index("ix_deliveries_campaign_lesson", "campaign_id", "lesson_key", "status"),  # console funnels
)

events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id", ondelete="SET NULL"),
              nullable=True),
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="SET NULL"),
              nullable=True),
    # sent | delivered | opened | clicked | bounced | complained | unsubscribed | failed
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("provider", sa.String(32), nullable=True),
    sa.Column("data", sa.JSON, nullable=False),
    # The provider's own id of a webhook event: the same event delivered twice is stored once.
    sa.Column("external_id", sa.String(200), nullable=True),
    sa.Index("ix_events_delivery", "delivery_id"),
    sa.Index("ix_events_subscriber", "subscriber_id"),  # a subscriber's timeline
    sa.Index("ux_events_external", "provider", "external_id", unique=True),
)

# Addresses never to mail again (hard bounce, complaint, deleted on request). Keyed
# by a hash of the address, so deleting a subscriber's personal data keeps the block.
suppressions = sa.Table(
    "suppressions", metadata,
    sa.Column("email_hash", sa.String(64), primary_key=True),
    sa.Column("reason", sa.String(32), nullable=False),  # bounced | complained | deleted | failed
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

newsletters = sa.Table(
    "newsletters", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("source", sa.Text, nullable=False),  # the Markdown file, read when each issue goes out
    sa.Column("wall_time", sa.String(16), nullable=False),  # "2026-12-01T09:00" (local) of the next issue
    sa.Column("timezone", sa.String(64), nullable=False),  # the zone wall_time is in, unless local
    sa.Column("local", sa.Boolean, nullable=False),  # True: wall_time in each subscriber's zone
    sa.Column("segment", sa.String(100), nullable=True),  # a tag; None for every active subscriber
    sa.Column("cron", sa.String(100), nullable=True),  # recurring: the next wall_time after each issue
    sa.Column("next_run_at", UTCDateTime, nullable=True),  # earliest instant the next issue may start
    sa.Column("status", sa.String(16), nullable=False),  # scheduled | sending | sent | cancelled
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_newsletters_due", "status", "next_run_at"),
)

# Counters for the web app's limits (confirmation emails per address and per client),
# in the store so every `drip serve` process shares them. Keyed by an HMAC of the address
# or client, never the address itself; a row past window_ends_at counts as absent.
send_limits = sa.Table(
    "send_limits", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("window_ends_at", UTCDateTime, nullable=False),
    sa.Index("ix_send_limits_window", "window_ends_at"),  # pruning expired rows
)

# Console logins, so logging out ends a session on the server: the cookie names a row
# (by the SHA-256 of its random id) and a cookie whose row is gone is refused.
console_sessions = sa.Table(
    "console_sessions", metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index("ix_console_sessions_expires", "expires_at"),
)
