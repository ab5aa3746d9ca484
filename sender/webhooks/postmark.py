"""Postmark webhooks: HTTP Basic credentials in the webhook URL, one JSON event per request.

Postmark does not sign its webhooks; its documented protection is Basic auth, with the
credentials the user writes into the webhook URL (``https://user:pass@host/webhooks/postmark``)
and Postmark sends as an ``Authorization: Basic …`` header. Both halves are compared in
constant time against ``POSTMARK_WEBHOOK_USER`` and ``POSTMARK_WEBHOOK_PASSWORD``; either
missing from the environment refuses every request (401).

There is no signed timestamp or nonce, so the replay guard is not used: a replayed request
produces the same `external_id` (the Bounce/SpamComplaint ``ID``, otherwise derived from
RecordType, MessageID, recipient and time) and the store drops it as a duplicate.

Events by ``RecordType``: Delivery, Bounce (its ``Type`` decides the outcome, see BOUNCE_TYPES),
SpamComplaint, Open, Click, SubscriptionChange. Our metadata comes back in ``Metadata``.
Bounce-API records (Bounce, SpamComplaint) may come without ``Email`` (seen with Type
"Unsubscribe"); they are accepted when ``MessageID`` or our metadata links them to a delivery,
and the store finds the subscriber through it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from sender.webhooks.base import (
    Request,
    WebhookEvent,
    WebhookResult,
    delivery_id,
    event_time,
    load_json,
    recipient,
    recipient_or_link,
    require_object,
    require_str,
    small,
    unverified,
)

USER_ENV = "POSTMARK_WEBHOOK_USER"
PASSWORD_ENV = "POSTMARK_WEBHOOK_PASSWORD"

# Bounce ``Type`` → (our type, permanent). Permanent means the address itself is bad, so we
# suppress it; blocks and DMARC refusals are about the message or the sender, not the address.
# Types absent here (AutoResponder, AddressChange, ChallengeVerification, Subscribe,
# OpenRelayTest, InboundError) are not delivery outcomes and produce no event.
BOUNCE_TYPES: dict[str, tuple[str, bool]] = {
    "HardBounce": ("bounced", True),
    "BadEmailAddress": ("bounced", True),
    "ManuallyDeactivated": ("bounced", True),
    "SoftBounce": ("bounced", False),
    "DnsError": ("bounced", False),
    "VirusNotification": ("bounced", False),
    "Blocked": ("bounced", False),
    "DMARCPolicy": ("bounced", False),
    "Unknown": ("bounced", False),
    "Transient": ("deferred", False),  # "message delayed": Postmark keeps trying
    "SpamNotification": ("complained", False),
    "SpamComplaint": ("complained", False),
    "Unsubscribe": ("unsubscribed", False),
    "SMTPApiError": ("failed", False),
    "TemplateRenderingFailed": ("failed", False),
    "Unconfirmed": ("failed", False),
}
# SubscriptionChange ``SuppressionReason`` when SuppressSending is true.
SUPPRESSION_REASONS: dict[str, tuple[str, bool]] = {
    "HardBounce": ("bounced", True),
    "SpamComplaint": ("complained", False),
    "ManualSuppression": ("unsubscribed", False),
}


def parse(request: Request) -> WebhookResult:
    _check_credentials(request)
    payload = require_object(load_json(request.body), "body")
    event = _event(payload)
    return WebhookResult([event] if event else [])


def _check_credentials(request: Request) -> None:
    user, password = request.secret(USER_ENV), request.secret(PASSWORD_ENV)
    if not user or not password:
        raise unverified(f"Postmark webhooks are not configured: set {USER_ENV} and {PASSWORD_ENV}")
    header = request.header("authorization") or ""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise unverified("missing Basic credentials")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise unverified("malformed Basic credentials") from None
    given_user, sep, given_password = decoded.partition(b":")
    # Compare both halves every time (no short-circuit) so timing says nothing about which failed.
    user_ok = hmac.compare_digest(given_user, user.encode())
    password_ok = hmac.compare_digest(given_password, password.encode())
    if not (sep and user_ok and password_ok):
        raise unverified("wrong Basic credentials")


def _event(payload: Any) -> WebhookEvent | None:
    record_type = require_str(payload, "RecordType")
    permanent = False
    if record_type == "Delivery":
        kind, address_field, time_field = "delivered", "Recipient", "DeliveredAt"
    elif record_type == "Open":
        kind, address_field, time_field = "opened", "Recipient", "ReceivedAt"
    elif record_type == "Click":
        kind, address_field, time_field = "clicked", "Recipient", "ReceivedAt"
    elif record_type in ("Bounce", "SpamComplaint"):
        bounce_type = require_str(payload, "Type")
        if record_type == "SpamComplaint":
            outcome: tuple[str, bool] | None = ("complained", False)
        else:
            outcome = BOUNCE_TYPES.get(bounce_type)
        if outcome is None:
            return None
        kind, permanent = outcome
        # "Inactive": Postmark has deactivated the address, so further sends will be refused.
        if kind == "bounced" and payload.get("Inactive") is True:
            permanent = True
        address_field, time_field = "Email", "BouncedAt"
    elif record_type == "SubscriptionChange":
        if payload.get("SuppressSending") is not True:
            return None  # a reactivation: nothing for us to record
        reason = payload.get("SuppressionReason")
        kind, permanent = SUPPRESSION_REASONS.get(reason if isinstance(reason, str) else "",
                                                  ("unsubscribed", False))
        address_field, time_field = "Recipient", "ChangedAt"
    else:
        return None  # Inbound and future record types are not ours

    message_id = payload.get("MessageID")
    message_id = str(message_id) if message_id else None
    metadata = payload.get("Metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    delivery = delivery_id(metadata.get("delivery"))
    email: str | None
    if address_field == "Email":
        email = recipient_or_link(payload.get(address_field), address_field, message_id, delivery)
    else:
        email = recipient(payload.get(address_field), address_field)
    at = event_time(payload.get(time_field), time_field)
    if payload.get("ID") is not None:  # Bounce and SpamComplaint records have their own id
        external_id = f"postmark:{record_type}:{payload['ID']}"
    else:
        link = payload.get("OriginalLink") if record_type == "Click" else None
        external_id = f"postmark:{record_type}:{message_id}:{email or ''}:{at.isoformat()}"
        if link:
            external_id += f":{link}"
    data = small([
        ("record_type", record_type),
        ("bounce_type", payload.get("Type") if record_type in ("Bounce", "SpamComplaint") else None),
        ("description", payload.get("Description")),
        ("details", payload.get("Details")),
        ("url", payload.get("OriginalLink")),
        ("user_agent", payload.get("UserAgent")),
        ("suppression_reason", payload.get("SuppressionReason")),
        ("origin", payload.get("Origin")),
        ("tag", payload.get("Tag")),
    ])
    return WebhookEvent(
        provider="postmark",
        type=kind,
        email=email,
        at=at,
        external_id=external_id,
        provider_message_id=message_id,
        delivery_id=delivery,
        permanent=permanent,
        data=data,
    )
