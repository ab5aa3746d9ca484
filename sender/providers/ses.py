"""Amazon SES: `ses://REGION` (e.g. `ses://eu-west-1`), one message per
`POST /v2/email/outbound-emails` (the SES v2 SendEmail action), signed with AWS
Signature Version 4.

Credentials, from the environment only: ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``,
plus ``AWS_SESSION_TOKEN`` for temporary credentials.

URL parameters: ``configuration_set`` (the SES configuration set whose event destination
feeds our webhooks), plus the common ones of `sender.providers.http` (defaults: rate 14
messages/s, a new production account's sending quota; concurrency 4).

Why Raw content: SES's Simple content cannot carry every header we need byte for byte,
while a Raw MIME message built by `OutgoingMessage.as_email` carries List-Unsubscribe,
List-Unsubscribe-Post, List-Id, Reply-To and Message-ID exactly as the other backends do.
Our metadata travels as ``EmailTags`` (SES publishes them with each event; only ASCII
letters, digits, ``_`` and ``-`` are allowed, so other characters become ``_``).

Signing is done here with hmac/hashlib (about forty lines) rather than botocore, which
would add a large dependency for one signed POST.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, ProviderError, SendResult
from sender.providers.http import HttpProvider, HttpRequest, Reply, redact

REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# SES v2 MessageTag names and values: ASCII letters, digits, "_" and "-" only (no ".").
NOT_TAG_CHARACTER = re.compile(r"[^A-Za-z0-9_-]")
# Account-level refusals: the message is fine, the account is not (yet); pause, don't drop.
# MessageRejected is what SES says for an unverified From and, in the sandbox, an unverified
# recipient: both are fixed in the account, not by dropping the subscriber.
ACCOUNT_ERRORS = frozenset({"AccountSuspendedException", "SendingPausedException",
                            "MailFromDomainNotVerifiedException", "LimitExceededException",
                            "NotFoundException", "MessageRejected"})


# -- AWS Signature Version 4 ---------------------------------------------------------------------


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def sigv4_headers(*, method: str, url: str, headers: Mapping[str, str], body: bytes, region: str,
                  service: str, access_key: str, secret_key: str, now: datetime,
                  session_token: str | None = None) -> dict[str, str]:
    """Headers to add to a request so AWS accepts it: X-Amz-Date, Authorization and, for
    temporary credentials, X-Amz-Security-Token. Every header in `headers` is signed."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    added = {"X-Amz-Date": stamp, **({"X-Amz-Security-Token": session_token} if session_token else {})}
    parts = urlsplit(url)
    signed = {k.lower(): " ".join(v.split()) for k, v in {**headers, **added}.items()}
    signed["host"] = parts.netloc
    names = sorted(signed)
    query = "&".join(sorted(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                            for k, v in parse_qsl(parts.query, keep_blank_values=True)))
    canonical = "\n".join([
        method, quote(parts.path or "/", safe="/-_.~"), query,
        "".join(f"{n}:{signed[n]}\n" for n in names), ";".join(names), hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(signing_key(secret_key, stamp[:8], region, service), to_sign.encode(),
                         hashlib.sha256).hexdigest()
    added["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                              f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return added


# -- the provider ---------------------------------------------------------------------------------


class SesProvider(HttpProvider):
    scheme = "ses"
    name = "ses"
    batch_limit = 1
    default_rate = 14.0
    default_concurrency = 4
    required_env = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    optional_env = ("AWS_SESSION_TOKEN",)
    extra_params: ClassVar[frozenset[str]] = frozenset({"configuration_set"})

    @property
    def region(self) -> str:
        region = urlsplit(self.url).hostname or ""
        if not REGION.match(region):
            raise ProviderError(f"ses: {redact(self.url)!r} needs an AWS region, e.g. ses://eu-west-1")
        return region

    def base_endpoint(self) -> str:
        return f"https://email.{self.region}.amazonaws.com"

    def open(self) -> None:
        _ = self.region  # a URL without a region fails at open, not at the first send
        super().open()

    def build_request(self, batch: Sequence[OutgoingMessage]) -> HttpRequest:
        (m,) = batch
        body: dict[str, Any] = {
            "FromEmailAddress": m.from_address,
            "Destination": {"ToAddresses": [m.to]},
            "Content": {"Raw": {"Data": base64.b64encode(m.as_email().as_bytes()).decode("ascii")}},
            "EmailTags": [{"Name": NOT_TAG_CHARACTER.sub("_", k), "Value": NOT_TAG_CHARACTER.sub("_", v)}
                          for k, v in m.metadata.items()],
        }
        if "configuration_set" in self.params:
            body["ConfigurationSetName"] = self.params["configuration_set"]
        return HttpRequest("/v2/email/outbound-emails", json=body)

    def sign(self, prepared: requests.PreparedRequest) -> None:
        body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
        prepared.headers.update(sigv4_headers(
            method=prepared.method or "POST", url=prepared.url or "", body=body,
            headers={"Content-Type": prepared.headers["Content-Type"]},
            region=self.region, service="ses", now=datetime.fromtimestamp(self.clock.time(), UTC),
            access_key=self.secrets["AWS_ACCESS_KEY_ID"], secret_key=self.secrets["AWS_SECRET_ACCESS_KEY"],
            session_token=self.secrets.get("AWS_SESSION_TOKEN"),
        ))

    @staticmethod
    def error_type(reply: Reply) -> str:
        # "MessageRejected:http://internal.amazon.com/..." in the header; the name alone matters.
        return (reply.headers.get("x-amzn-ErrorType") or "").partition(":")[0]

    def fault_of(self, reply: Reply) -> Fault:
        if self.error_type(reply) in ACCOUNT_ERRORS:
            return Fault.ACCOUNT
        return super().fault_of(reply)

    def error_detail(self, reply: Reply) -> str:
        detail = super().error_detail(reply)
        kind = self.error_type(reply)
        return f"{kind}: {detail}" if kind else detail

    def read_results(self, batch: Sequence[OutgoingMessage], reply: Reply) -> list[SendResult]:
        return [SendResult(batch[0], ok=True, provider_message_id=reply.json()["MessageId"])]

