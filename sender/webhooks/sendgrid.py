"""SendGrid Signed Event Webhook: ECDSA P-256 / SHA-256 over ``timestamp + raw body``.

SendGrid signs each POST with the account's private key; the signature (base64 of a DER
ECDSA signature) is in ``X-Twilio-Email-Event-Webhook-Signature`` and the Unix timestamp it
signed in ``X-Twilio-Email-Event-Webhook-Timestamp``. The verification key is the public key
shown under Mail Settings → Signed Event Webhook, a base64 DER SubjectPublicKeyInfo, kept in
``SENDGRID_WEBHOOK_PUBLIC_KEY`` (a PEM block is accepted too).

Freshness: the signed timestamp must be within five minutes of now. Replay: the pair
(signature, timestamp) is remembered for that window.

The body is a JSON array of events. Our ``custom_args`` come back as top-level keys
(``delivery``); ``sg_event_id`` is the event's id; ``sg_message_id`` is
``<X-Message-Id>.<suffix>`` and we keep the part before the first dot, which is what the send
API returned in ``X-Message-Id``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

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
    small,
    unix_time,
    unverified,
)

KEY_ENV = "SENDGRID_WEBHOOK_PUBLIC_KEY"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

SIMPLE_EVENTS = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "spamreport": "complained",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
    "deferred": "deferred",
}
# "dropped": SendGrid did not send. These reasons mean the address is known bad or must not be
# mailed (its own suppression lists), so we suppress it too; other reasons are about the message.
PERMANENT_DROP_REASONS = frozenset({"Bounced Address", "Invalid", "Spam Reporting Address",
                                    "Unsubscribed Address"})


def parse(request: Request) -> WebhookResult:
    key = _public_key(request.secret(KEY_ENV))
    signature_b64, timestamp = request.header(SIGNATURE_HEADER), request.header(TIMESTAMP_HEADER)
    if not signature_b64 or not timestamp:
        raise unverified(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        raise unverified("the signature is not base64") from None
    try:
        key.verify(signature, timestamp.encode() + request.body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise unverified("the signature does not verify") from None
    signed_at = unix_time(timestamp, TIMESTAMP_HEADER)
    check_fresh(signed_at, request.now)

    payload = load_json(request.body)
    if not isinstance(payload, list):
        raise malformed("body must be a JSON array of events")
    events = [e for i, item in enumerate(payload) if (e := _event(item, f"[{i}]."))]
    return request.accept_nonce(f"{signature_b64}:{timestamp}", signed_at, DEFAULT_TOLERANCE, events)


def _public_key(configured: str | None) -> ec.EllipticCurvePublicKey:
    if not configured:
        raise unverified(f"SendGrid webhooks are not configured: set {KEY_ENV}")
    try:
        if configured.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(configured.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode("".join(configured.split()),
                                                                     validate=True))
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise unverified(f"{KEY_ENV} is not a valid public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise unverified(f"{KEY_ENV} is not a P-256 public key")
    return key


def _event(item: Any, where: str) -> WebhookEvent | None:
    if not isinstance(item, Mapping):
        raise malformed(f"event {where[:-1]} must be a JSON object")
    name = item.get("event")
    if not isinstance(name, str) or not name:
        raise malformed(f"missing field {where + 'event'!r}")
    permanent = False
    if name in SIMPLE_EVENTS:
        kind = SIMPLE_EVENTS[name]
    elif name == "bounce":
        # type "bounce": the receiving server refused the address; "blocked": it refused the
        # message (reputation, content), which says nothing about the address.
        kind, permanent = "bounced", item.get("type", "bounce") == "bounce"
    elif name == "dropped":
        reason = item.get("reason")
        kind, permanent = "failed", isinstance(reason, str) and reason in PERMANENT_DROP_REASONS
    else:
        return None  # processed, group_resubscribe, and future events are not ours

    email = recipient(item.get("email"), where + "email")
    at = event_time(item.get("timestamp"), where + "timestamp")
    sg_message_id = item.get("sg_message_id")
    message_id = str(sg_message_id).split(".", 1)[0] if sg_message_id else None
    event_id = item.get("sg_event_id")
    external_id = f"sendgrid:{event_id}" if event_id else digest_id("sendgrid", dict(item))
    data = small([
        ("event", name),
        ("bounce_type", item.get("type") if name == "bounce" else None),
        ("reason", item.get("reason")),
        ("status", item.get("status")),
        ("response", item.get("response")),
        ("attempt", item.get("attempt")),
        ("url", item.get("url")),
        ("user_agent", item.get("useragent")),
        ("bounce_classification", item.get("bounce_classification")),
    ])
    return WebhookEvent(
        provider="sendgrid",
        type=kind,
        email=email,
        at=at,
        external_id=external_id,
        provider_message_id=message_id or None,
        delivery_id=delivery_id(item.get("delivery")),
        permanent=permanent,
        data=data,
    )
