"""Resend: `resend://`, batches of up to 100 through `POST /emails/batch`.

Credentials, from the environment only: ``RESEND_API_KEY`` (sent as a Bearer token).

URL parameters: the common ones of `sender.providers.http` (defaults: 2 requests/s, Resend's
default API rate limit, which counts calls rather than messages; concurrency 2).

Each batch carries an ``Idempotency-Key`` derived from its messages' Message-IDs, so a
retry of the same batch (after a timeout, a 429 or a 5xx) is recognised by Resend and
not sent twice, and the key stays the same however often it is retried. Batches are sent
in permissive validation mode (``x-batch-validation: permissive``): one invalid message
does not refuse the rest; Resend returns ids for the accepted ones and an ``errors``
entry (with the message's index) for each refused one: the recipient's fault, unless it is
about the ``from`` address, which is the account's (as is a 422 about ``from`` for the
whole request). A 409 ``concurrent_idempotent_requests`` (the same batch still being
processed) is asked again; a 409 ``invalid_idempotent_request`` (the key was used for
another payload) is not, and fails those messages.

Our metadata travels as ``tags`` (returned in Resend's webhooks; Resend allows only ASCII
letters, digits, ``_`` and ``-`` in them, so other characters become ``_``); our headers
in ``headers``, except Reply-To, which is the ``reply_to`` field.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, SendResult
from sender.providers.http import HttpProvider, HttpRequest, Reply, custom_headers, reply_to

NOT_TAG_CHARACTER = re.compile(r"[^A-Za-z0-9_-]")
_ABOUT_FROM = re.compile(r"`from`|\bfrom\b|domain is not verified", re.IGNORECASE)


def idempotency_key(batch: Sequence[OutgoingMessage]) -> str:
    digest = hashlib.sha256("\n".join(m.message_id for m in batch).encode()).hexdigest()
    return f"dripcourse-batch/{digest}"


def _tag(value: str) -> str:
    return NOT_TAG_CHARACTER.sub("_", value)[:256]


class ResendProvider(HttpProvider):
    scheme = "resend"
    name = "resend"
    default_endpoint = "https://api.resend.com"
    batch_limit = 100
    default_rps = 2.0
    idempotent = True  # the Idempotency-Key: a lost answer is asked again, not sent twice
    required_env = ("RESEND_API_KEY",)

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets['RESEND_API_KEY']}"}

    def build_request(self, batch: Sequence[OutgoingMessage]) -> HttpRequest:
        return HttpRequest("/emails/batch", json=[self._email(m) for m in batch], headers={
            "Idempotency-Key": idempotency_key(batch),
            "x-batch-validation": "permissive",
        })

    @staticmethod
    def _email(m: OutgoingMessage) -> dict[str, Any]:
        email: dict[str, Any] = {
            "from": m.from_address,
            "to": [m.to],
            "subject": m.subject,
            "html": m.html,
            "text": m.text,
            "headers": custom_headers(m),
            "tags": [{"name": _tag(k), "value": _tag(v)} for k, v in m.metadata.items()],
        }
        if (address := reply_to(m)) is not None:
            email["reply_to"] = address
        return email

    @staticmethod
    def _error(reply: Reply) -> tuple[str, str]:
        """(name, message) of an error answer; empty strings when it has none."""
        try:
            body = reply.json()
        except ValueError:
            return "", ""
        if not isinstance(body, dict):
            return "", ""
        return str(body.get("name", "")), str(body.get("message", ""))

    def is_retryable(self, reply: Reply) -> bool:
        if reply.status == 409:  # only "still being processed" is worth asking again
            return self._error(reply)[0] == "concurrent_idempotent_requests"
        return super().is_retryable(reply)

    def fault_of(self, reply: Reply) -> Fault:
        name, message = self._error(reply)
        if reply.status == 409:
            return Fault.TEMPORARY if name == "concurrent_idempotent_requests" else Fault.MESSAGE
        if reply.status == 422 and _ABOUT_FROM.search(message):
            return Fault.ACCOUNT
        return super().fault_of(reply)

    def read_results(self, batch: Sequence[OutgoingMessage], reply: Reply) -> list[SendResult]:
        body = reply.json()
        refused = {int(e["index"]): str(e.get("message", "")) for e in body.get("errors") or []}
        # `data` lists the accepted emails only, in request order.
        accepted = iter(item["id"] for item in body.get("data") or [])
        return [
            SendResult(m, ok=False, error=f"resend: {refused[i]}",
                       fault=Fault.ACCOUNT if _ABOUT_FROM.search(refused[i]) else Fault.RECIPIENT)
            if i in refused
            else SendResult(m, ok=True, provider_message_id=next(accepted))
            for i, m in enumerate(batch)
        ]
