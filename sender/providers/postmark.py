"""Postmark: `postmark://`, batches of up to 500 through `POST /email/batch`.

Credentials, from the environment only: ``POSTMARK_SERVER_TOKEN`` (sent as the
``X-Postmark-Server-Token`` header).

URL parameters: ``stream`` (message stream, default ``broadcast``: Postmark requires
bulk and marketing mail, which a drip course is, to go through a broadcast stream), plus
the common ones of `sender.providers.http` (defaults: rate 200 messages/s, concurrency 2).

Postmark answers a batch with HTTP 200 even when some messages fail, so each message's
result is read from its own entry: ``ErrorCode`` 0 is success; 300 (invalid email
request) and 406 (inactive recipient: bounced, complained or unsubscribed) are
permanent; any other code (account or sender-signature problems) is reported as
transient, so the engine pauses the campaign rather than dropping the subscriber.
Our metadata travels in ``Metadata`` (returned in Postmark's webhooks), the campaign
slug in ``Tag``, our headers in ``Headers`` and Reply-To in ``ReplyTo``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from sender.providers.base import OutgoingMessage, SendResult
from sender.providers.http import HttpProvider, HttpRequest, Reply, custom_headers, encode_json, reply_to

PERMANENT_ERROR_CODES = frozenset({300, 406})


class PostmarkProvider(HttpProvider):
    scheme = "postmark"
    name = "postmark"
    default_endpoint = "https://api.postmarkapp.com"
    batch_limit = 500
    default_rate = 200.0
    required_env = ("POSTMARK_SERVER_TOKEN",)
    extra_params: ClassVar[frozenset[str]] = frozenset({"stream"})

    def auth_headers(self) -> dict[str, str]:
        return {"X-Postmark-Server-Token": self.secrets["POSTMARK_SERVER_TOKEN"],
                "Accept": "application/json"}

    def build_request(self, batch: Sequence[OutgoingMessage]) -> HttpRequest:
        return HttpRequest("/email/batch", body=encode_json(
            [{**self._fields(m), "HtmlBody": m.html, "TextBody": m.text} for m in batch]))

    def _fields(self, m: OutgoingMessage) -> dict[str, Any]:
        """Everything of a message but its bodies."""
        body: dict[str, Any] = {
            "From": m.from_address,
            "To": m.to,
            "Subject": m.subject,
            "MessageStream": self.params.get("stream", "broadcast"),
            "Headers": [{"Name": k, "Value": v} for k, v in custom_headers(m).items()],
            "Metadata": dict(m.metadata),
        }
        if "campaign" in m.metadata:
            body["Tag"] = m.metadata["campaign"]
        if (address := reply_to(m)) is not None:
            body["ReplyTo"] = address
        return body

    def read_results(self, batch: Sequence[OutgoingMessage], reply: Reply) -> list[SendResult]:
        return [self._result(m, entry) for m, entry in zip(batch, reply.json(), strict=False)]

    def _result(self, m: OutgoingMessage, entry: dict[str, Any]) -> SendResult:
        code = int(entry.get("ErrorCode", -1))
        if code == 0:
            return SendResult(m, ok=True, provider_message_id=entry["MessageID"])
        return SendResult(m, ok=False, error=f"postmark: ErrorCode {code}: {entry.get('Message', '')}",
                          permanent=code in PERMANENT_ERROR_CODES,
                          suppress=code in PERMANENT_ERROR_CODES)
