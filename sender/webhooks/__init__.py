"""Incoming provider webhooks: verify one request, return its events in one shape.

A pure library (no web framework): the web layer passes the provider name, the headers and
the raw body bytes to `parse_webhook`, answers `WebhookRejected.status` when it raises, and
otherwise stores `WebhookResult.events` (deduplicated on `WebhookEvent.external_id`). One
module per provider holds that provider's verification and field mapping.
"""

from sender.webhooks.base import (
    EVENT_TYPES,
    PROVIDERS,
    ReplayGuard,
    WebhookEvent,
    WebhookRejected,
    WebhookResult,
    parse_webhook,
)

__all__ = [
    "EVENT_TYPES",
    "PROVIDERS",
    "ReplayGuard",
    "WebhookEvent",
    "WebhookRejected",
    "WebhookResult",
    "parse_webhook",
]
