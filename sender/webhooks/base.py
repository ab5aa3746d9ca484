"""What every provider's webhook becomes, and the checks they share.

`parse_webhook` takes one HTTP request as received (provider name, headers, the raw body
bytes) and either returns the normalised events or raises `WebhookRejected`:

* 404 — unknown provider;
* 401 — no secret configured, a signature or credential that does not verify, a timestamp
  outside the freshness window, or a request already seen (`ReplayGuard`);
* 400 — the request verified, but its content is malformed (the reason names the field).

Nothing is trusted before it is verified, and nothing is returned from a refused request.
Secrets come only from ``env`` (``os.environ`` by default), never from arguments, so a
route cannot accidentally verify against a value taken from the request.

The replay guard remembers a request's nonce only once the whole request has been parsed,
so a malformed request does not burn its nonce. If the caller then fails to store the
events and answers 5xx so the provider retries, it calls `WebhookResult.release()` first:
otherwise an identical retry (SNS resends the very same signed message, and Mailgun's body
carries its signature) would be refused as a replay. Event-level dedupe over longer periods
belongs to the store, keyed on `WebhookEvent.external_id`.
"""

from __future__ import annotations

import hashlib
import heapq
import importlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any, Protocol

EVENT_TYPES = frozenset({"delivered", "opened", "clicked", "bounced", "complained", "unsubscribed",
                         "deferred", "failed"})
PROVIDERS = ("postmark", "sendgrid", "mailgun", "resend", "ses")

# Where a provider signs a timestamp, requests older or newer than this are refused. Five
# minutes is the Svix/Standard Webhooks default; SendGrid and Mailgun document none.
DEFAULT_TOLERANCE = timedelta(minutes=5)
MAX_DATA_STRING = 500  # raw fields kept in `data` are for display, not archives

FetchCertificate = Callable[[str], bytes]


@dataclass(frozen=True)
class WebhookEvent:
    """One thing that happened to one recipient of one message, in a provider-neutral shape."""

    provider: str  # "postmark" | "sendgrid" | "mailgun" | "resend" | "ses"
    type: str  # one of EVENT_TYPES
    # Recipient address, lowercased; None when the provider left it out (a Postmark Bounce without
    # Email, a Mailgun "rejected"), and then at least one of the two ids below is set: the store
    # finds the subscriber through the delivery.
    email: str | None
    at: datetime  # aware UTC
    external_id: str  # the provider's unique id for this event, or a stable derived one: dedupe key
    provider_message_id: str | None  # as the provider's send API returned it
    delivery_id: int | None  # our "delivery" metadata/tag, sent with the message
    # The address itself must not be mailed again (a hard bounce, or a provider refusing to send to
    # an address on its own suppression lists): the store suppresses it. Soft bounces are False.
    permanent: bool = False
    data: dict[str, Any] = field(default_factory=dict)  # a few raw fields, small and JSON-safe


class WebhookRejected(Exception):
    """The request is refused. `status` is the HTTP status to answer; `reason` is safe to show."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def __repr__(self) -> str:
        return f"WebhookRejected({self.status}, {self.reason!r})"


def unverified(reason: str) -> WebhookRejected:
    return WebhookRejected(401, reason)


def malformed(reason: str) -> WebhookRejected:
    return WebhookRejected(400, reason)


class ReplayGuard:
    """Nonces already accepted, each kept until its request could no longer pass the freshness
    check; thread-safe and bounded.

    When full, the entry closest to expiry is dropped first: that nonce's request is the one
    nearest to being refused as stale anyway, so the window an eviction opens is the smallest.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []  # (expires_at, key); stale pairs skipped lazily
        self._lock = threading.Lock()

    def check_and_add(self, key: str, expires_at: float, now: float) -> bool:
        """Remember `key` until `expires_at` (epoch seconds). False if it was already there."""
        with self._lock:
            self._purge(now)
            if key in self._expiry:
                return False
            while len(self._expiry) >= self.max_entries:
                self._pop_oldest()
            self._expiry[key] = expires_at
            heapq.heappush(self._heap, (expires_at, key))
            if len(self._heap) > 2 * self.max_entries:  # stale pairs from forget(): rebuild
                self._heap = [(exp, k) for k, exp in self._expiry.items()]
                heapq.heapify(self._heap)
            return True

    def forget(self, key: str) -> None:
        """Let `key` be accepted again (the caller could not store what it was sent)."""
        with self._lock:
            self._expiry.pop(key, None)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._expiry

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            self._pop_oldest()

    def _pop_oldest(self) -> None:
        expires_at, key = heapq.heappop(self._heap)
        if self._expiry.get(key) == expires_at:
            del self._expiry[key]


DEFAULT_REPLAY_GUARD = ReplayGuard()  # one per process, used when the caller passes none


@dataclass(frozen=True)
class WebhookResult:
    """What a verified request carried.

    `subscribe_url` is set only for a verified SNS SubscriptionConfirmation: the caller
    confirms the subscription with `sender.webhooks.ses.confirm_subscription(result)` (a GET
    on that URL, whose host has already been checked to be an SNS host).
    """

    events: list[WebhookEvent]
    subscribe_url: str | None = None
    replay_key: str | None = None
    replay_guard: ReplayGuard | None = field(default=None, repr=False, compare=False)

    def release(self) -> None:
        """Forget this request's nonce, so the provider's retry of it is accepted. Call it when
        the events could not be stored and the answer will be a 5xx."""
        if self.replay_guard is not None and self.replay_key is not None:
            self.replay_guard.forget(self.replay_key)


@dataclass(frozen=True)
class Request:
    """One incoming request plus what verifying it needs; handed to a provider module."""

    provider: str
    headers: Mapping[str, str]  # lowercased names
    body: bytes
    env: Mapping[str, str]
    now: datetime
    replay_guard: ReplayGuard
    fetch_certificate: FetchCertificate | None

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.lower())
        return value.strip() if isinstance(value, str) else None

    def secret(self, name: str) -> str | None:
        value = self.env.get(name)
        if not isinstance(value, str) or not value.strip():
            return None  # unset and empty are the same: not configured
        return value.strip()

    def accept_nonce(self, key: str, signed_at: datetime, window: timedelta, events: list[WebhookEvent],
                     subscribe_url: str | None = None) -> WebhookResult:
        """Record `key` until the signed timestamp leaves the window; refuse a replay (401)."""
        full_key = f"{self.provider}:{key}"
        expires_at = (signed_at + window).timestamp()
        if not self.replay_guard.check_and_add(full_key, expires_at, self.now.timestamp()):
            raise unverified("this request was already received (replay)")
        return WebhookResult(events, subscribe_url=subscribe_url, replay_key=full_key,
                             replay_guard=self.replay_guard)


class ProviderModule(Protocol):
    def parse(self, request: Request) -> WebhookResult: ...


def parse_webhook(provider: str, headers: Mapping[str, str], body: bytes, *,
                  env: Mapping[str, str] = os.environ, now: datetime | None = None,
                  replay_guard: ReplayGuard | None = None,
                  fetch_certificate: FetchCertificate | None = None) -> WebhookResult:
    """Verify one webhook request from `provider` and return its events, or raise WebhookRejected."""
    name = (provider or "").strip().lower()
    if name not in PROVIDERS:
        raise WebhookRejected(404, f"unknown webhook provider {str(provider)[:40]!r}")
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(body, bytes | bytearray):
        raise TypeError("body must be the raw request bytes")
    request = Request(
        provider=name,
        headers=_lowercase(headers),
        body=bytes(body),
        env=env,
        now=now.astimezone(UTC),
        replay_guard=DEFAULT_REPLAY_GUARD if replay_guard is None else replay_guard,
        fetch_certificate=fetch_certificate,
    )
    module: ProviderModule = importlib.import_module(f"sender.webhooks.{name}")  # type: ignore[assignment]
    return module.parse(request)


def _lowercase(headers: Mapping[str, str]) -> dict[str, str]:
    # .items() works for dicts and for werkzeug's Headers (whose iteration yields pairs).
    return {str(k).lower(): str(v) for k, v in headers.items()}


# -- helpers the provider modules share ----------------------------------------------------------


def check_fresh(signed_at: datetime, now: datetime, *, max_age: timedelta = DEFAULT_TOLERANCE,
                max_future: timedelta = DEFAULT_TOLERANCE) -> None:
    """Refuse (401) a signed timestamp that is too old or too far in the future."""
    if signed_at < now - max_age:
        raise unverified("the signed timestamp is too old")
    if signed_at > now + max_future:
        raise unverified("the signed timestamp is in the future")


def unix_time(value: object, what: str) -> datetime:
    """A Unix timestamp (int, float or numeric string) as aware UTC; 401 if unreadable, since
    these are the signed timestamps that gate verification."""
    try:
        seconds = float(str(value).strip())
    except (TypeError, ValueError):
        raise unverified(f"{what} is not a Unix timestamp") from None
    if not seconds == seconds or abs(seconds) > 1e11:  # NaN or absurd
        raise unverified(f"{what} is not a Unix timestamp")
    return datetime.fromtimestamp(seconds, UTC)


def event_time(value: object, field_name: str) -> datetime:
    """An event's own time (ISO 8601 string or Unix seconds) as aware UTC; 400 if unreadable."""
    if isinstance(value, bool):
        raise malformed(f"field {field_name!r} is not a time")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise malformed(f"field {field_name!r} is not a time") from None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            try:
                return datetime.fromtimestamp(float(text), UTC)
            except (OverflowError, OSError, ValueError):
                raise malformed(f"field {field_name!r} is not a time") from None
        if parsed.tzinfo is None:  # providers send UTC when they omit the offset
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    if value is None:
        raise malformed(f"missing field {field_name!r}")
    raise malformed(f"field {field_name!r} is not a time")


def load_json(data: bytes | str, what: str = "body") -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise malformed(f"{what} is not valid JSON") from None


def require(obj: Mapping[str, Any], key: str, where: str = "") -> Any:
    """obj[key], or a 400 naming the field when it is missing or null."""
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if value is None:
        raise malformed(f"missing field {where + key!r}")
    return value


def require_object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise malformed(f"field {what!r} must be a JSON object")
    return value


def require_str(obj: Mapping[str, Any], key: str, where: str = "") -> str:
    value = require(obj, key, where)
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise malformed(f"field {where + key!r} must be a non-empty string")
    return str(value).strip()


def recipient(value: Any, field_name: str) -> str:
    """A bare, lowercased address from "addr" or "Name <addr>"; 400 if there is none."""
    if not isinstance(value, str) or not value.strip():
        raise malformed(f"missing field {field_name!r}")
    address = parseaddr(value.strip())[1] or value.strip()
    if "@" not in address:
        raise malformed(f"field {field_name!r} is not an email address")
    return address.strip().lower()


def recipient_or_link(value: Any, field_name: str, *links: object) -> str | None:
    """Like `recipient`, but an absent address is fine when one of `links` (the provider's
    message id, our delivery id) is set: the store reaches the subscriber through the delivery.
    A present but unreadable address is still a 400, as is no address and nothing to link by."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if any(link is not None and link != "" for link in links):
            return None
        raise malformed(f"missing field {field_name!r} (and no message id to link the event by)")
    return recipient(value, field_name)


def delivery_id(value: Any) -> int | None:
    """Our "delivery" metadata value as an int; None when absent or not ours (not an error:
    other systems may send through the same account)."""
    if isinstance(value, list):  # SES tags come back as lists of strings
        value = value[0] if len(value) == 1 else None
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number < 2**63 else None


def small(fields: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Keep non-empty JSON-safe scalars, with long strings cut short."""
    out: dict[str, Any] = {}
    for key, value in fields:
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, str):
            out[key] = value[:MAX_DATA_STRING]
        elif isinstance(value, bool | int | float):
            out[key] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = [v[:MAX_DATA_STRING] for v in value[:5]]
        else:
            out[key] = json.dumps(value, sort_keys=True, default=str)[:MAX_DATA_STRING]
    return out


def digest_id(*parts: Any) -> str:
    """A stable id for an event the provider gives none: sha256 of its canonical JSON."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
