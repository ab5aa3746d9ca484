"""Postmark: `postmark://`, batches of up to 500 through `POST /email/batch`.

Credentials, from the environment only: ``POSTMARK_SERVER_TOKEN`` (sent as the
``X-Postmark-Server-Token`` header).

URL parameters: ``stream`` (message stream, default ``broadcast``: Postmark requires
bulk and marketing mail, which a drip course is, to go through a broadcast stream), plus
the common ones of `sender.providers.http` (defaults: rate 200 messages/s, concurrency 2).

Postmark answers a batch with HTTP 200 even when some messages fail, so each message's
result is read from its own entry; a refusal of the whole request (HTTP 422) carries one
``ErrorCode`` for all. ``ErrorCode`` 0 is success; 406 (inactive recipient: bounced,
complained or unsubscribed) and 300 (invalid email request) about a recipient address are
the recipient's fault; 300 about the From or Reply-To address, and every other code
(sender signature missing or unconfirmed, 405 no credits, 412 account pending, a bad
token...) are the account's, so the engine pauses the campaign rather than dropping the
subscriber; 300 about anything else fails that message; 100 (maintenance) is temporary.
Our metadata travels in ``Metadata`` (returned in Postmark's webhooks), the campaign
slug in ``Tag``, our headers in ``Headers`` and Reply-To in ``ReplyTo``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import requests

from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, SendResult
from sender.providers.http import (
    CONNECT_TIMEOUT,
    HttpProvider,
    HttpRequest,
    Reply,
    custom_headers,
    encode_json,
    reply_to,
)

INACTIVE_RECIPIENT = 406
INVALID_REQUEST = 300
MAINTENANCE = 100
_RECIPIENT_FIELD = re.compile(r"'(To|Cc|Bcc)'|\brecipient", re.IGNORECASE)
_SENDER_FIELD = re.compile(r"'(From|ReplyTo|Reply-To|Sender)'|\bfrom\b|sender", re.IGNORECASE)


def postmark_fault(code: int, message: str) -> Fault:
    """Whose fault a Postmark ErrorCode is; `message` tells which address a 300 is about."""
    if code == INACTIVE_RECIPIENT:
        return Fault.RECIPIENT
    if code == MAINTENANCE:
        return Fault.TEMPORARY
    if code == INVALID_REQUEST:
        if _RECIPIENT_FIELD.search(message):
            return Fault.RECIPIENT
        return Fault.ACCOUNT if _SENDER_FIELD.search(message) else Fault.MESSAGE
    return Fault.ACCOUNT


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
        stream = self.params.get("stream", "broadcast")
        return HttpRequest("/email/batch", body=encode_json([self._fields(m, stream) for m in batch]))

    def _fields(self, m: OutgoingMessage, stream: str) -> dict[str, Any]:
        """A message as Postmark takes it, in `stream`."""
        body: dict[str, Any] = {
            "From": m.from_address,
            "To": m.to,
            "Subject": m.subject,
            "MessageStream": stream,
            "Headers": [{"Name": k, "Value": v} for k, v in custom_headers(m).items()],
            "Metadata": m.metadata,  # only read: encoded here and now
            "HtmlBody": m.html,
            "TextBody": m.text,
        }
        if "campaign" in m.metadata:
            body["Tag"] = m.metadata["campaign"]
        if (address := reply_to(m)) is not None:
            body["ReplyTo"] = address
        return body

    def find_sent(self, delivery_ids: Sequence[int]) -> dict[int, str]:
        """Postmark's outbound message search, filtered by our metadata (`metadata_delivery`);
        it keeps messages for the server's retention period (45 days by default)."""
        if self._session is None:
            self.open()
        assert self._session is not None
        found = {}
        for delivery_id in delivery_ids:
            if self.interrupted.is_set():
                break
            try:
                answer = self._session.get(
                    f"{self.options.endpoint}/messages/outbound", headers=self.auth_headers(),
                    params={"count": "1", "offset": "0", "metadata_delivery": str(delivery_id)},
                    timeout=(CONNECT_TIMEOUT, self.options.timeout))
                messages = answer.json().get("Messages") or [] if answer.ok else []
            except (requests.RequestException, ValueError, AttributeError):
                break  # the log cannot be asked now: the next tick tries again
            if messages and messages[0].get("MessageID"):
                found[delivery_id] = str(messages[0]["MessageID"])
        return found

    def read_results(self, batch: Sequence[OutgoingMessage], reply: Reply) -> list[SendResult]:
        return [self._result(m, entry) for m, entry in zip(batch, reply.json(), strict=False)]

    def _result(self, m: OutgoingMessage, entry: dict[str, Any]) -> SendResult:
        code = int(entry.get("ErrorCode", -1))
        if code == 0:
            return SendResult(m, ok=True, provider_message_id=entry["MessageID"])
        message = str(entry.get("Message", ""))
        return SendResult(m, ok=False, error=f"postmark: ErrorCode {code}: {message}",
                          fault=postmark_fault(code, message))

    def fault_of(self, reply: Reply) -> Fault:
        try:
            body = reply.json()
        except ValueError:
            body = None
        if reply.status == 422 and isinstance(body, dict) and isinstance(body.get("ErrorCode"), int):
            return postmark_fault(body["ErrorCode"], str(body.get("Message", "")))
        return super().fault_of(reply)

    def error_detail(self, reply: Reply) -> str:
        detail = super().error_detail(reply)
        try:
            code = reply.json().get("ErrorCode")
        except (ValueError, AttributeError):
            return detail
        return f"ErrorCode {code}: {detail}" if code is not None else detail
