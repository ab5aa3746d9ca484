"""SendGrid: `sendgrid://`, through `POST /v3/mail/send`.

Credentials, from the environment only: ``SENDGRID_API_KEY`` (sent as a Bearer token).

URL parameters: the common ones of `sender.providers.http` (defaults: rate 100
messages/s, concurrency 4).

How messages are batched, and why: one request may carry up to 1,000
personalizations, but a personalization only overrides the envelope (recipient,
subject, headers, custom_args, substitutions); the body is shared by the whole
request. Our bodies are rendered per subscriber (the greeting, and above all the
unsubscribe link with its signed token), so two messages can share a request only
if their rendered From, Reply-To, subject, text and HTML are byte-identical; such
messages are grouped (up to 1,000, each address once), each personalization keeping
its own ``to``, ``headers`` (List-Unsubscribe differs per subscriber) and
``custom_args``. Everything else goes one message per request, which the throttle
and concurrency settings keep fast. Rewriting bodies into ``substitutions`` (e.g.
``-unsubscribe_url-``) would batch more, but needs the renderer to emit placeholders
and would hide the real HTML from our previews; that is a renderer change, not a
provider one. A rejected grouped request (HTTP 400: one bad address refuses the whole
call) is resent one message at a time so only the culprit fails. A refusal names the field
at fault: a recipient's address is the recipient's fault (suppressed); ``from`` or
``reply_to`` is the account's (the campaign pauses). A 429 without ``Retry-After`` waits
for ``X-RateLimit-Reset``, the epoch second SendGrid's limit window ends.

Our metadata travels in each personalization's ``custom_args`` (returned in SendGrid's
event webhook); our headers in ``headers``, except Reply-To, which SendGrid reserves
and takes as ``reply_to``. SendGrid answers 202 with one ``X-Message-Id`` for the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, SendResult
from sender.providers.http import (
    HttpProvider,
    HttpRequest,
    Reply,
    address_of,
    custom_headers,
    group_identical,
    reply_to,
)


def _mailbox(value: str) -> dict[str, str]:
    name, addr = address_of(value)
    return {"email": addr, "name": name} if name else {"email": addr}


def _content_key(m: OutgoingMessage) -> tuple[str, ...]:
    return (m.from_address, reply_to(m) or "", m.subject, m.text, m.html)


class SendGridProvider(HttpProvider):
    scheme = "sendgrid"
    name = "sendgrid"
    default_endpoint = "https://api.sendgrid.com"
    batch_limit = 1000
    default_rate = 100.0
    default_concurrency = 4
    required_env = ("SENDGRID_API_KEY",)
    split_refused_batches = True

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets['SENDGRID_API_KEY']}"}

    def group(self, messages: Sequence[OutgoingMessage]) -> list[list[int]]:
        return group_identical(messages, self.batch_limit, _content_key)

    def build_request(self, batch: Sequence[OutgoingMessage]) -> HttpRequest:
        first = batch[0]  # the group shares everything outside the personalizations
        body: dict[str, Any] = {
            "personalizations": [self._personalization(m) for m in batch],
            "from": _mailbox(first.from_address),
            "subject": first.subject,
            # SendGrid requires text/plain before text/html.
            "content": [{"type": t, "value": v} for t, v in (("text/plain", first.text),
                                                              ("text/html", first.html)) if v],
        }
        if (address := reply_to(first)) is not None:
            body["reply_to"] = _mailbox(address)
        return HttpRequest("/v3/mail/send", json=body)

    @staticmethod
    def _personalization(m: OutgoingMessage) -> dict[str, Any]:
        return {"to": [_mailbox(m.to)], "headers": custom_headers(m), "custom_args": dict(m.metadata)}

    def fault_of(self, reply: Reply) -> Fault:
        fault = super().fault_of(reply)
        if fault is not Fault.MESSAGE:
            return fault
        try:
            errors = reply.json().get("errors") or []
            fields = [str(e.get("field") or "") for e in errors]
        except (ValueError, AttributeError):
            return fault
        if any(f.startswith(("from", "reply_to")) for f in fields):
            return Fault.ACCOUNT
        if fields and all(f.startswith("personalizations.") and ".to" in f for f in fields):
            return Fault.RECIPIENT
        return fault

    def asked_wait(self, reply: Reply) -> float | None:
        asked = super().asked_wait(reply)
        reset = reply.headers.get("X-RateLimit-Reset", "")
        if asked is None and reply.status == 429 and reset.strip().isdigit():
            return max(0.0, float(reset) - self.clock.time())
        return asked

    def read_results(self, batch: Sequence[OutgoingMessage], reply: Reply) -> list[SendResult]:
        # Always present in practice; our own Message-ID is the next best handle for matching.
        sent_id = reply.headers.get("X-Message-Id")
        return [SendResult(m, ok=True, provider_message_id=sent_id or m.message_id) for m in batch]
