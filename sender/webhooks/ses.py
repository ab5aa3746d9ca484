"""Amazon SES events through an SNS HTTP(S) subscription.

What is checked, in order (nothing is fetched for a request that fails an earlier step):

1. ``SES_SNS_TOPIC_ARNS`` (comma-separated) lists the topics we accept; unset → 401. The
   topic ARN is the "secret" here: anyone can get SNS to sign a message on *their* topic.
2. The body is the SNS JSON document; its ``TopicArn`` must be listed.
3. ``SigningCertURL`` must be ``https://sns.<region>.amazonaws.com[.cn]/….pem`` (no port, no
   credentials). The certificate is fetched through `fetch_certificate` (default: `requests`
   with a timeout, wrapped in a bounded cache) and must be currently valid.
4. ``Signature`` is RSA PKCS#1 v1.5 over the canonical string — ``Name\\nValue\\n`` for, in this
   order, Message, MessageId, Subject (if present), Timestamp, TopicArn, Type for a
   Notification; Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type for a
   (Un)SubscriptionConfirmation — with SHA1 for ``SignatureVersion`` 1 and SHA256 for 2.
5. ``Timestamp`` (when SNS published the message) must be under one hour old and at most five
   minutes in the future. SNS keeps the original Timestamp on every retry and an HTTP delivery
   policy can retry for up to an hour, so a shorter window would refuse legitimate retries.
6. The ``MessageId`` is accepted once (remembered for that hour). A retry after a 5xx is an
   exact copy; the caller that answers 5xx calls `WebhookResult.release()` first.

A SubscriptionConfirmation returns no events and `subscribe_url` (its host already checked to
be an SNS host); the caller then calls `confirm_subscription(result)`, a GET on that URL. We
return the URL rather than fetching it inside `parse_webhook` so that parsing never does
network I/O besides the (cached) certificate fetch. An UnsubscribeConfirmation returns nothing.

A Notification's ``Message`` is the SES event JSON (``eventType`` with event publishing through
a configuration set, ``notificationType`` for identity notifications): Bounce (``bounceType``
Permanent is a hard bounce; Transient and Undetermined are soft), Complaint, Delivery, Open,
Click, DeliveryDelay, Reject and Rendering Failure. ``mail.messageId`` is the id SendEmail
returned; our tags come back in ``mail.tags`` as lists of strings (``{"delivery": ["42"]}``).
An event's time is its own object's ``timestamp`` (``mail.timestamp`` for Reject and Rendering
Failure); when SES leaves it out, the SNS ``Timestamp`` (when SNS published the event, always
present because it is signed) stands in for it. A timestamp that is present but unreadable is
still a 400.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sender.webhooks.base import (
    DEFAULT_TOLERANCE,
    FetchCertificate,
    Request,
    WebhookEvent,
    WebhookRejected,
    WebhookResult,
    check_fresh,
    delivery_id,
    event_time,
    load_json,
    malformed,
    recipient,
    require,
    require_object,
    require_str,
    small,
    unverified,
)

TOPICS_ENV = "SES_SNS_TOPIC_ARNS"
SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
MAX_AGE = timedelta(hours=1)
FETCH_TIMEOUT = 10.0  # seconds; SNS waits 15 s for our answer
MAX_CERTIFICATE_BYTES = 64 * 1024

NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
CONFIRMATION_TYPES = ("SubscriptionConfirmation", "UnsubscribeConfirmation")
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


class CachedCertificateFetcher:
    """Wraps a fetch callable with a small, thread-safe, least-recently-used cache by URL.
    SNS signs with a handful of certificates, so fetching each once per process is enough."""

    def __init__(self, fetch: FetchCertificate, max_entries: int = 32) -> None:
        self._fetch = fetch
        self._max = max_entries
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, url: str) -> bytes:
        with self._lock:
            if url in self._cache:
                self._cache.move_to_end(url)
                return self._cache[url]
        pem = self._fetch(url)  # outside the lock: a slow fetch must not block cached lookups
        with self._lock:
            self._cache[url] = pem
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return pem


def _requests_fetch(url: str) -> bytes:
    import requests  # here, so importing this module never needs the network stack

    response = requests.get(url, timeout=FETCH_TIMEOUT, allow_redirects=False)
    response.raise_for_status()
    if len(response.content) > MAX_CERTIFICATE_BYTES:
        raise ValueError("certificate too large")
    return response.content


DEFAULT_FETCH_CERTIFICATE = CachedCertificateFetcher(_requests_fetch)


def is_sns_url(url: object, *, pem: bool = False) -> bool:
    """True for https://sns.<region>.amazonaws.com[.cn]/… with no port or credentials."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or port is not None or parts.username or parts.password:
        return False
    if not SNS_HOST.match(parts.hostname or "") or parts.netloc.lower() != parts.hostname:
        return False
    return parts.path.endswith(".pem") if pem else True


def parse(request: Request) -> WebhookResult:
    topics = {t.strip() for t in (request.secret(TOPICS_ENV) or "").split(",") if t.strip()}
    if not topics:
        raise unverified(f"SES webhooks are not configured: set {TOPICS_ENV}")
    # The signature is inside the body, so a body that is not JSON cannot even be checked.
    message = require_object(load_json(request.body), "body")
    topic = message.get("TopicArn")
    if not isinstance(topic, str) or topic not in topics:
        raise unverified("the SNS topic is not one of SES_SNS_TOPIC_ARNS")
    kind = require_str(message, "Type")
    if kind != "Notification" and kind not in CONFIRMATION_TYPES:
        raise unverified("not a known SNS message type")  # so its signed fields are unknown
    header_kind = request.header("x-amz-sns-message-type")
    if header_kind and header_kind != kind:
        raise unverified("x-amz-sns-message-type does not match the message")

    _verify_signature(message, kind, request)
    published = event_time(message.get("Timestamp"), "Timestamp")
    check_fresh(published, request.now, max_age=MAX_AGE, max_future=DEFAULT_TOLERANCE)
    message_id = require_str(message, "MessageId")

    if kind == "SubscriptionConfirmation":
        url = message.get("SubscribeURL")
        if not is_sns_url(url):
            raise unverified("SubscribeURL is not an SNS URL")
        return request.accept_nonce(message_id, published, MAX_AGE, [], subscribe_url=url)
    if kind == "UnsubscribeConfirmation":
        return request.accept_nonce(message_id, published, MAX_AGE, [])
    body = load_json(require_str(message, "Message"), "field 'Message'")
    events = _events(require_object(body, "Message"), message_id, published)
    return request.accept_nonce(message_id, published, MAX_AGE, events)


def confirm_subscription(result: WebhookResult | str, *,
                         http_get: Callable[[str], Any] | None = None) -> None:
    """Confirm an SNS subscription by a GET on its SubscribeURL (checked again to be SNS's).
    `http_get` is injectable for tests; the default is `requests.get` with a timeout."""
    url = result if isinstance(result, str) else result.subscribe_url
    if not isinstance(url, str) or not is_sns_url(url):
        raise WebhookRejected(400, "not an SNS SubscribeURL")
    if http_get is None:
        import requests

        response = requests.get(url, timeout=FETCH_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
    else:
        http_get(url)


def _verify_signature(message: Mapping[str, Any], kind: str, request: Request) -> None:
    algorithm = HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise unverified("unsupported SignatureVersion")
    cert_url = message.get("SigningCertURL")
    # Checked before anything is fetched: an attacker must not choose the key, nor make us
    # request arbitrary URLs.
    if not is_sns_url(cert_url, pem=True):
        raise unverified("SigningCertURL is not an SNS certificate URL")
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise unverified("the signature is not base64") from None
    if not signature:
        raise unverified("missing Signature")
    key = _public_key(str(cert_url), request)
    try:
        key.verify(signature, canonical_string(message, kind), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise unverified("the signature does not verify") from None


def canonical_string(message: Mapping[str, Any], kind: str) -> bytes:
    keys = NOTIFICATION_KEYS if kind == "Notification" else CONFIRMATION_KEYS
    lines = []
    for key in keys:
        value = message.get(key)
        if value is None:
            if key == "Subject":
                continue  # the only optional key
            raise unverified(f"missing signed field {key!r}")
        lines.append(f"{key}\n{value}\n")
    return "".join(lines).encode()


def _public_key(url: str, request: Request) -> rsa.RSAPublicKey:
    fetch = request.fetch_certificate or DEFAULT_FETCH_CERTIFICATE
    try:
        pem = fetch(url)
    except Exception:  # any fetch failure (network, HTTP status, size) means "cannot verify"
        raise unverified("could not fetch the SNS signing certificate") from None
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise unverified("the SNS signing certificate is not a PEM certificate") from None
    if not certificate.not_valid_before_utc <= request.now <= certificate.not_valid_after_utc:
        raise unverified("the SNS signing certificate is not currently valid")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise unverified("the SNS signing certificate does not hold an RSA key")
    return key


# -- the SES event inside a Notification ------------------------------------------------------------


def _events(event: Mapping[str, Any], sns_message_id: str, published: datetime) -> list[WebhookEvent]:
    name = event.get("eventType") or event.get("notificationType")
    if not isinstance(name, str) or not name:
        raise malformed("missing field 'Message.eventType'")
    mail = require_object(require(event, "mail", "Message."), "Message.mail")
    message_id = require_str(mail, "messageId", "Message.mail.")
    raw_tags = mail.get("tags")
    tags: Mapping[str, Any] = raw_tags if isinstance(raw_tags, Mapping) else {}
    delivery = delivery_id(tags.get("delivery"))

    def make(kind: str, address: Any, field: str, at: datetime, *, permanent: bool = False,
             **data: Any) -> WebhookEvent:
        email = recipient(address, field)
        return WebhookEvent(provider="ses", type=kind, email=email, at=at,
                            # one SNS message per SES event; per recipient within it
                            external_id=f"ses:{sns_message_id}:{email}",
                            permanent=permanent, data=small([("event", name), *data.items()]),
                            provider_message_id=message_id, delivery_id=delivery)

    if name == "Bounce":
        detail, at = _detail(event, "bounce", published)
        bounce_type = require_str(detail, "bounceType", "Message.bounce.")
        return [make("bounced", address, field, at, permanent=bounce_type == "Permanent",
                     bounce_type=bounce_type, bounce_subtype=detail.get("bounceSubType"),
                     status=r.get("status"), reason=r.get("diagnosticCode"))
                for address, field, r in _recipients(detail, "bounce", "bouncedRecipients")]
    if name == "Complaint":
        detail, at = _detail(event, "complaint", published)
        return [make("complained", address, field, at, feedback_type=detail.get("complaintFeedbackType"))
                for address, field, _ in _recipients(detail, "complaint", "complainedRecipients")]
    if name == "DeliveryDelay":
        detail, at = _detail(event, "deliveryDelay", published)
        return [make("deferred", address, field, at, delay_type=detail.get("delayType"),
                     status=r.get("status"), reason=r.get("diagnosticCode"))
                for address, field, r in _recipients(detail, "deliveryDelay", "delayedRecipients")]
    if name == "Delivery":
        detail, at = _detail(event, "delivery", published)
        addresses = require(detail, "recipients", "Message.delivery.")
        if not isinstance(addresses, list) or not addresses:
            raise malformed("field 'Message.delivery.recipients' must be a non-empty list")
        return [make("delivered", a, "Message.delivery.recipients", at,
                     smtp_response=detail.get("smtpResponse")) for a in addresses]
    if name in ("Open", "Click"):
        detail, at = _detail(event, name.lower(), published)
        return [make("opened" if name == "Open" else "clicked", a, "Message.mail.destination", at,
                     url=detail.get("link"), user_agent=detail.get("userAgent"))
                for a in _destination(mail)]
    if name in ("Reject", "Rendering Failure"):
        detail = event.get("reject") or event.get("failure") or {}
        reason = detail.get("reason") or detail.get("errorMessage") if isinstance(detail, Mapping) else None
        at = _time(mail, "Message.mail.", published)
        return [make("failed", a, "Message.mail.destination", at, reason=reason) for a in _destination(mail)]
    return []  # Send, Subscription, and future types are not delivery outcomes


def _detail(event: Mapping[str, Any], key: str, published: datetime) -> tuple[Mapping[str, Any], datetime]:
    """The event-type object (e.g. Message.bounce) and its timestamp."""
    detail = require_object(require(event, key, "Message."), f"Message.{key}")
    return detail, _time(detail, f"Message.{key}.", published)


def _time(obj: Mapping[str, Any], where: str, published: datetime) -> datetime:
    """obj.timestamp, or `published` (the SNS Timestamp) when SES left it out: refusing would
    only make SNS retry the same document until the event is dropped."""
    value = obj.get("timestamp")
    return published if value is None else event_time(value, where + "timestamp")


def _recipients(detail: Mapping[str, Any], parent: str, key: str) -> list[tuple[Any, str, Mapping[str, Any]]]:
    """(address, its field name, the recipient object) for each entry of a recipients list."""
    where = f"Message.{parent}.{key}"
    items = detail.get(key)
    if items is None:
        raise malformed(f"missing field {where!r}")
    if not isinstance(items, list) or not items or not all(isinstance(i, Mapping) for i in items):
        raise malformed(f"field {where!r} must be a non-empty list of objects")
    return [(item.get("emailAddress"), f"{where}.emailAddress", item) for item in items]


def _destination(mail: Mapping[str, Any]) -> list[Any]:
    addresses = require(mail, "destination", "Message.mail.")
    if not isinstance(addresses, list) or not addresses:
        raise malformed("field 'Message.mail.destination' must be a non-empty list")
    return addresses
