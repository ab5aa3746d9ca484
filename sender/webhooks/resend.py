"""Resend webhooks, delivered and signed by Svix.

Headers ``svix-id``, ``svix-timestamp`` and ``svix-signature``; the signed content is
``"{svix-id}.{svix-timestamp}.{raw body}"``, HMAC-SHA256 keyed with the base64-decoded part of
``RESEND_WEBHOOK_SECRET`` after its ``whsec_`` prefix. ``svix-signature`` is a space-separated
list of ``v1,<base64>`` entries (several during a secret rotation); any one matching is enough.
The timestamp must be within five minutes of now.

Replay: the pair (svix-id, svix-timestamp) is accepted once. Svix keeps the id when it retries
but signs each retry with a fresh timestamp, so an identical copy of a signed request is
refused while a genuine retry (after we answered 5xx) still gets through; the event's
`external_id` is the svix-id, so the store drops a retry whose first try was stored.

Events: email.delivered, email.bounced, email.complained, email.opened, email.clicked,
email.delivery_delayed, email.failed. The recipient is ``data.to[0]`` (we send one recipient per
message), the message id ``data.email_id`` (the id the send API returned), and our tags come
back in ``data.tags`` — documented as an object ``{"delivery": "42"}``; the list form
``[{"name": …, "value": …}]`` used when sending is read as well.
"""

from __future__ import annotations

import base64
import binascii
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
    event_time,
    load_json,
    recipient,
    require,
    require_object,
    require_str,
    small,
    unix_time,
    unverified,
)

SECRET_ENV = "RESEND_WEBHOOK_SECRET"
SECRET_PREFIX = "whsec_"

EVENTS = {
    "email.delivered": "delivered",
    "email.bounced": "bounced",
    "email.complained": "complained",
    "email.opened": "opened",
    "email.clicked": "clicked",
    "email.delivery_delayed": "deferred",
    "email.failed": "failed",
}


def parse(request: Request) -> WebhookResult:
    key = _secret(request.secret(SECRET_ENV))
    msg_id, timestamp = request.header("svix-id"), request.header("svix-timestamp")
    signatures = request.header("svix-signature")
    if not msg_id or not timestamp or not signatures:
        raise unverified("missing svix-id, svix-timestamp or svix-signature")
    expected = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + request.body, hashlib.sha256).digest()
    if not any(hmac.compare_digest(expected, given) for given in _v1_signatures(signatures)):
        raise unverified("the signature does not verify")
    signed_at = unix_time(timestamp, "svix-timestamp")
    check_fresh(signed_at, request.now)

    payload = require_object(load_json(request.body), "body")
    event = _event(payload, msg_id)
    return request.accept_nonce(f"{msg_id}:{timestamp}", signed_at, DEFAULT_TOLERANCE,
                                [event] if event else [])


def _secret(configured: str | None) -> bytes:
    if not configured:
        raise unverified(f"Resend webhooks are not configured: set {SECRET_ENV}")
    encoded = configured.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise unverified(f"{SECRET_ENV} is not a whsec_ signing secret") from None
    if not key:
        raise unverified(f"{SECRET_ENV} is not a whsec_ signing secret")
    return key


def _v1_signatures(header: str) -> list[bytes]:
    found = []
    for entry in header.split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue  # other schemes (v1a asymmetric) are not used by Resend
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def _event(payload: Mapping[str, Any], msg_id: str) -> WebhookEvent | None:
    name = require_str(payload, "type")
    kind = EVENTS.get(name)
    if kind is None:
        return None  # email.sent, contact.*, domain.*: not delivery outcomes
    data = require_object(require(payload, "data"), "data")
    to = data.get("to")
    first = to[0] if isinstance(to, list) and to else to
    email = recipient(first, "data.to")
    at = event_time(payload.get("created_at"), "created_at")
    raw_bounce = data.get("bounce")
    bounce: Mapping[str, Any] = raw_bounce if isinstance(raw_bounce, Mapping) else {}
    permanent = False
    if kind == "bounced":
        # Resend documents email.bounced as a permanent rejection; bounce.type (SES's bounceType)
        # can still say Transient or Undetermined, which are not grounds to suppress.
        permanent = bounce.get("type", "Permanent") == "Permanent"
    raw_click = data.get("click")
    click: Mapping[str, Any] = raw_click if isinstance(raw_click, Mapping) else {}
    message_id = data.get("email_id")
    return WebhookEvent(
        provider="resend",
        type=kind,
        email=email,
        at=at,
        external_id=f"resend:{msg_id}",
        provider_message_id=str(message_id) if message_id else None,
        delivery_id=delivery_id(_tag(data.get("tags"), "delivery")),
        permanent=permanent,
        data=small([
            ("event", name),
            ("bounce_type", bounce.get("type")),
            ("bounce_subtype", bounce.get("subType")),
            ("reason", bounce.get("message")),
            ("url", click.get("link")),
            ("user_agent", click.get("userAgent")),
        ]),
    )


def _tag(tags: Any, name: str) -> Any:
    if isinstance(tags, Mapping):
        return tags.get(name)
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, Mapping) and tag.get("name") == name:
                return tag.get("value")
    return None
