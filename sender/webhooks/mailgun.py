"""Mailgun webhooks (the JSON kind): a ``signature`` block and the ``event-data``.

Mailgun signs ``timestamp + token`` (concatenated, no separator) with HMAC-SHA256 under the
account's HTTP webhook signing key (``MAILGUN_WEBHOOK_SIGNING_KEY``) and sends the hex digest
as ``signature.signature``. The timestamp must be within five minutes of now, and each token
is accepted once (the replay guard remembers it for that window).

Mailgun's signature does not cover ``event-data``: it proves the request came from Mailgun
and is fresh, and TLS protects the rest. Changing the signed fields (timestamp, token) fails;
changing event-data alone cannot be detected by any receiver.

Events: delivered, opened, clicked, failed (``severity`` permanent → a hard bounce; temporary
→ deferred, Mailgun retries), complained, unsubscribed, rejected (→ failed). Our ``v:``
variables come back in ``user-variables``. The message id is
``event-data.message.headers.message-id``, which Mailgun sends without angle brackets; the
send API returns ``<id>``, so we add them back to match what was stored at send time.
A ``rejected`` event (Mailgun refused the send itself) may name no ``recipient``; it is accepted
when the message id or our ``delivery`` variable links it to a delivery.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from sender.webhooks.base import (
    DEFAULT_TOLERANCE,
    Request,
    WebhookEvent,
    WebhookResult,
    check_fresh,
    delivery_id,
    digest_id,
    event_time,
    load_json,
    malformed,
    recipient,
    recipient_or_link,
    require,
    require_object,
    small,
    unix_time,
    unverified,
)

KEY_ENV = "MAILGUN_WEBHOOK_SIGNING_KEY"

SIMPLE_EVENTS = {
    "delivered": "delivered",
    "opened": "opened",
    "clicked": "clicked",
    "complained": "complained",
    "unsubscribed": "unsubscribed",
    "rejected": "failed",
}


def parse(request: Request) -> WebhookResult:
    key = request.secret(KEY_ENV)
    if not key:
        raise unverified(f"Mailgun webhooks are not configured: set {KEY_ENV}")
    # The signature lives inside the body, so a body that is not JSON cannot even be checked.
    payload = require_object(load_json(request.body), "body")
    block = payload.get("signature")
    if not isinstance(block, Mapping):
        raise unverified("missing signature block")
    timestamp, token, signature = (block.get(k) for k in ("timestamp", "token", "signature"))
    if not all(isinstance(v, str | int) and not isinstance(v, bool) and str(v) for v in
               (timestamp, token, signature)):
        raise unverified("incomplete signature block")
    expected = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature).strip().lower()):
        raise unverified("the signature does not verify")
    signed_at = unix_time(timestamp, "signature.timestamp")
    check_fresh(signed_at, request.now)

    event = _event(require_object(require(payload, "event-data"), "event-data"))
    return request.accept_nonce(f"{token}", signed_at, DEFAULT_TOLERANCE, [event] if event else [])


def _event(data: Mapping[str, Any]) -> WebhookEvent | None:
    where = "event-data."
    name = data.get("event")
    if not isinstance(name, str) or not name:
        raise malformed(f"missing field {where + 'event'!r}")
    permanent = False
    if name in SIMPLE_EVENTS:
        kind = SIMPLE_EVENTS[name]
    elif name == "failed":
        severity = data.get("severity")
        if severity == "permanent":
            kind, permanent = "bounced", True
        elif severity == "temporary":
            kind = "deferred"
        else:
            raise malformed(f"field {where + 'severity'!r} must be 'permanent' or 'temporary'")
    else:
        return None  # accepted, stored, list events: not delivery outcomes

    at = event_time(data.get("timestamp"), where + "timestamp")
    message = data.get("message")
    headers = message.get("headers") if isinstance(message, Mapping) else None
    raw_id = headers.get("message-id") if isinstance(headers, Mapping) else None
    message_id = None
    if isinstance(raw_id, str) and raw_id.strip():
        message_id = raw_id.strip()
        if not message_id.startswith("<"):
            message_id = f"<{message_id}>"
    variables = data.get("user-variables")
    variables = variables if isinstance(variables, Mapping) else {}
    delivery = delivery_id(variables.get("delivery"))
    email: str | None
    if name == "rejected":
        email = recipient_or_link(data.get("recipient"), where + "recipient", message_id, delivery)
    else:
        email = recipient(data.get("recipient"), where + "recipient")
    # event-data.id is only unique "within a day", so the event's own timestamp joins it.
    event_id = data.get("id")
    external_id = (f"mailgun:{event_id}:{data.get('timestamp')}" if event_id
                   else digest_id("mailgun", dict(data)))
    status = data.get("delivery-status")
    status = status if isinstance(status, Mapping) else {}
    client = data.get("client-info")
    client = client if isinstance(client, Mapping) else {}
    reject = data.get("reject")
    reject = reject if isinstance(reject, Mapping) else {}
    return WebhookEvent(
        provider="mailgun",
        type=kind,
        email=email,
        at=at,
        external_id=external_id,
        provider_message_id=message_id,
        delivery_id=delivery,
        permanent=permanent,
        data=small([
            ("event", name),
            ("severity", data.get("severity")),
            ("reason", data.get("reason") or reject.get("reason")),
            ("code", status.get("code")),
            ("message", status.get("message")),
            ("description", status.get("description") or reject.get("description")),
            ("url", data.get("url")),
            ("user_agent", client.get("user-agent")),
        ]),
    )
