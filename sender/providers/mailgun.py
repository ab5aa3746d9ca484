"""Mailgun: `mailgun://DOMAIN` (US region) or `mailgun://DOMAIN?region=eu`, through
`POST /v3/DOMAIN/messages`.

Credentials, from the environment only: ``MAILGUN_API_KEY`` (HTTP basic auth, user ``api``).

URL parameters: ``region`` (``us``, the default, or ``eu``: a domain lives in one region and
is unknown to the other's API host), plus the common ones of `sender.providers.http`
(defaults: rate 100 messages/s, concurrency 4).

Batching: Mailgun sends one request to up to 1,000 recipients, each getting an individual
message, when ``recipient-variables`` is given. The body is shared, so — as with SendGrid,
see `sender.providers.sendgrid` — only messages whose rendered content is byte-identical
share a request. What differs per recipient (List-Unsubscribe, Message-ID, our metadata)
goes through recipient variables: ``h:List-Unsubscribe`` is set to
``%recipient.h:List-Unsubscribe%`` and each recipient's value is in ``recipient-variables``;
what all members share is sent as plain fields. A single message therefore carries plain
``h:``/``v:`` fields only. A refused grouped request (one bad address refuses the call) is
resent one message at a time.

A 400 about the ``to`` parameter is the recipient's fault (suppressed); one about ``from``,
and a 404 (the domain is not on this account), are the account's (the campaign pauses).

Our metadata travels as ``v:`` custom variables (returned as ``user-variables`` in Mailgun's
webhooks), the campaign slug as ``o:tag``, our headers as ``h:`` fields.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from typing import ClassVar
from urllib.parse import quote, urlsplit

from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, ProviderError, SendResult
from sender.providers.http import (
    HttpProvider,
    HttpRequest,
    Reply,
    address_of,
    custom_headers,
    group_identical,
    redact,
)

REGIONS = {"us": "https://api.mailgun.net", "eu": "https://api.eu.mailgun.net"}
DOMAIN = re.compile(r"^[A-Za-z0-9.-]+$")  # a '/' would silently hit another endpoint
# "'to' parameter is not a valid address...": which parameter a 400 is about
_PARAMETER = re.compile(r"^'?(to|from|h:Reply-To)'? parameter", re.IGNORECASE)


def _per_recipient_fields(m: OutgoingMessage) -> dict[str, str]:
    fields = {f"h:{k}": v for k, v in custom_headers(m, without=()).items()}
    fields.update({f"v:{k}": v for k, v in m.metadata.items()})
    if "campaign" in m.metadata:
        fields["o:tag"] = m.metadata["campaign"]
    return fields


def _shared_content(m: OutgoingMessage) -> tuple[str, ...]:
    return (m.from_address, m.subject, m.text, m.html)


def _split_shared(rows: Sequence[Mapping[str, str]]) -> tuple[dict[str, str], list[str]]:
    """(fields equal in every row, names of fields that vary or are missing somewhere)."""
    names = sorted({k for row in rows for k in row})
    shared = {k: rows[0][k] for k in names if all(k in row and row[k] == rows[0][k] for row in rows)}
    return shared, [k for k in names if k not in shared]


class MailgunProvider(HttpProvider):
    scheme = "mailgun"
    name = "mailgun"
    batch_limit = 1000
    default_rate = 100.0
    default_concurrency = 4
    required_env = ("MAILGUN_API_KEY",)
    extra_params: ClassVar[frozenset[str]] = frozenset({"region"})
    split_refused_batches = True

    def base_endpoint(self) -> str:
        region = self.params.get("region", "us").lower()
        if region not in REGIONS:
            raise ProviderError(f"mailgun: region {region!r} must be one of {', '.join(REGIONS)}")
        return REGIONS[region]

    @property
    def domain(self) -> str:
        domain = urlsplit(self.url).hostname or ""
        if not DOMAIN.match(domain):
            raise ProviderError(f"mailgun: {redact(self.url)!r} needs the sending domain, "
                                "e.g. mailgun://mg.example.com")
        return domain

    def open(self) -> None:
        _ = self.domain  # a URL without a domain fails at open, not at the first send
        super().open()

    def auth_headers(self) -> dict[str, str]:
        token = base64.b64encode(f"api:{self.secrets['MAILGUN_API_KEY']}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def group(self, messages: Sequence[OutgoingMessage]) -> list[list[int]]:
        return group_identical(messages, self.batch_limit, _shared_content)

    def build_request(self, batch: Sequence[OutgoingMessage]) -> HttpRequest:
        first = batch[0]
        form = [("from", first.from_address), *(("to", m.to) for m in batch),
                ("subject", first.subject), ("text", first.text), ("html", first.html)]
        rows = [_per_recipient_fields(m) for m in batch]
        shared, varying = _split_shared(rows)
        form += list(shared.items())
        if len(batch) > 1:
            form += [(k, f"%recipient.{k}%") for k in varying]
            variables = {address_of(m.to)[1]: {k: row.get(k, "") for k in varying}
                         for m, row in zip(batch, rows, strict=True)}
            form.append(("recipient-variables", json.dumps(variables)))
        return HttpRequest(f"/v3/{quote(self.domain, safe='')}/messages", form=form)

    def fault_of(self, reply: Reply) -> Fault:
        if reply.status == 404:
            return Fault.ACCOUNT
        fault = super().fault_of(reply)
        about = _PARAMETER.match(self.error_detail(reply))
        if fault is Fault.MESSAGE and about:
            return Fault.RECIPIENT if about.group(1).lower() == "to" else Fault.ACCOUNT
        return fault

    def read_results(self, batch: Sequence[OutgoingMessage], reply: Reply) -> list[SendResult]:
        sent_id = reply.json()["id"]  # one id for the whole request; webhooks tell recipients apart
        return [SendResult(m, ok=True, provider_message_id=sent_id) for m in batch]
