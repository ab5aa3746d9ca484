"""Fixtures for the provider tests: messages, a fake clock, and fake provider APIs.

Each fake API answers the way its provider documents (see the provider modules) and can
turn a received request back into what each recipient would get (`Delivered`), so one
contract suite can check every backend. Nothing here touches the internet: HTTP fakes run
on 127.0.0.1 through pytest-httpserver, SMTP through a real aiosmtpd server.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender.providers.base import OutgoingMessage
from sender.providers.http import TimeSource, address_of

ENV = {
    "POSTMARK_SERVER_TOKEN": "pm-token",
    "SENDGRID_API_KEY": "SG.key",
    "MAILGUN_API_KEY": "mg-key",
    "RESEND_API_KEY": "re_key",
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
}


def make_message(i: int, **changes: Any) -> OutgoingMessage:
    """A lesson for reader i, with its own unsubscribe link, as the engine composes it."""
    fields: dict[str, Any] = {
        "to": f"Reader {i} <reader{i}@example.org>",
        "from_address": "Glute Course <course@example.com>",
        "subject": "Lesson 1: find your glutes",
        "html": f"<p>Hi reader {i}, squeeze.</p><a href='https://ex.com/u/{i}'>Unsubscribe</a>",
        "text": f"Hi reader {i}, squeeze.\nUnsubscribe: https://ex.com/u/{i}\n",
        "message_id": f"<msg{i}@example.com>",
        "date": datetime(2024, 5, 6, 9, 0, tzinfo=UTC),
        "headers": {
            "List-Unsubscribe": f"<https://ex.com/u/{i}>, <mailto:unsub@example.com?subject=u{i}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": "Glute Course <glutes.example.com>",
            "Reply-To": "coach@example.com",
        },
        "delivery_id": 100 + i,
        "metadata": {"campaign": "glutes", "lesson": "01-start", "delivery": str(100 + i)},
    }
    fields.update(changes)
    return OutgoingMessage(**fields)


def same_content(i: int) -> OutgoingMessage:
    """Reader i's copy of a lesson whose body is the same for everyone (only headers differ)."""
    return make_message(i, html="<p>Same for all</p>", text="Same for all\n")


class FakeTime:
    """A clock that moves only when something sleeps; records every requested sleep.
    Its jitter is fixed at 0.5, so a backoff of step s is exactly 0.75 s."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.sleeps: list[float] = []
        self.source = TimeSource(sleep=self._sleep, monotonic=lambda: self.now, time=lambda: self.now,
                                 random=lambda: 0.5)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


# -- what a recipient gets, read back from a request --------------------------------------------


@dataclass
class Delivered:
    to: str  # bare address
    headers: dict[str, str]
    metadata: dict[str, str]


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def postmark_delivered(req: Request) -> list[Delivered]:
    return [Delivered(address_of(m["To"])[1], _lower({h["Name"]: h["Value"] for h in m["Headers"]}),
                      m["Metadata"]) for m in req.get_json()]


def sendgrid_delivered(req: Request) -> list[Delivered]:
    return [Delivered(p["to"][0]["email"], _lower(p["headers"]), p["custom_args"])
            for p in req.get_json()["personalizations"]]


def mailgun_delivered(req: Request) -> list[Delivered]:
    form = req.form
    variables = json.loads(form.get("recipient-variables", "{}"))
    out = []
    for to in form.getlist("to"):
        addr = address_of(to)[1]

        def resolve(value: str, addr: str = addr) -> str:
            return re.sub(r"%recipient\.([^%]+)%", lambda mo: variables[addr][mo.group(1)], value)

        fields = {k: resolve(v) for k, v in form.items(multi=True) if k[:2] in ("h:", "v:")}
        out.append(Delivered(addr, _lower({k[2:]: v for k, v in fields.items() if k.startswith("h:")}),
                             {k[2:]: v for k, v in fields.items() if k.startswith("v:")}))
    return out


def resend_delivered(req: Request) -> list[Delivered]:
    return [Delivered(address_of(e["to"][0])[1], _lower(e["headers"]),
                      {t["name"]: t["value"] for t in e["tags"]}) for e in req.get_json()]


def parse_email(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def ses_delivered(req: Request) -> list[Delivered]:
    body = req.get_json()
    parsed = parse_email(base64.b64decode(body["Content"]["Raw"]["Data"]))
    return [Delivered(address_of(body["Destination"]["ToAddresses"][0])[1],
                      _lower({k: str(v) for k, v in parsed.items()}),
                      {t["Name"]: t["Value"] for t in body["EmailTags"]})]


# -- fake APIs -------------------------------------------------------------------------------------


def postmark_answer(req: Request, n: int) -> Response:
    return Response(json.dumps([{"ErrorCode": 0, "Message": "OK", "MessageID": f"pm-{n}-{i}", "To": m["To"]}
                                for i, m in enumerate(req.get_json())]), 200,
                    content_type="application/json")


def sendgrid_answer(req: Request, n: int) -> Response:
    return Response("", 202, headers={"X-Message-Id": f"sg-{n}"})


def mailgun_answer(req: Request, n: int) -> Response:
    return Response(json.dumps({"id": f"<mg-{n}@mg.example.com>", "message": "Queued. Thank you."}), 200,
                    content_type="application/json")


def resend_answer(req: Request, n: int) -> Response:
    return Response(json.dumps({"data": [{"id": f"re-{n}-{i}"} for i, _ in enumerate(req.get_json())]}), 200,
                    content_type="application/json")


def ses_answer(req: Request, n: int) -> Response:
    to = req.get_json()["Destination"]["ToAddresses"][0]
    return Response(json.dumps({"MessageId": f"ses-for-{address_of(to)[1]}"}), 200,
                    content_type="application/json")


@dataclass(frozen=True)
class FakeApi:
    scheme: str
    path: str
    url: str  # without the endpoint parameter
    answer: Callable[[Request, int], Response]
    delivered: Callable[[Request], list[Delivered]]


FAKE_APIS = {
    "postmark": FakeApi("postmark", "/email/batch", "postmark://?rate=0",
                        postmark_answer, postmark_delivered),
    "sendgrid": FakeApi("sendgrid", "/v3/mail/send", "sendgrid://?rate=0",
                        sendgrid_answer, sendgrid_delivered),
    "mailgun": FakeApi("mailgun", "/v3/mg.example.com/messages", "mailgun://mg.example.com?rate=0",
                       mailgun_answer, mailgun_delivered),
    "resend": FakeApi("resend", "/emails/batch", "resend://?rps=0", resend_answer, resend_delivered),
    "ses": FakeApi("ses", "/v2/email/outbound-emails", "ses://us-east-1?rate=0", ses_answer, ses_delivered),
}


def endpoint_url(api: FakeApi, server: HTTPServer, **params: Any) -> str:
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    return f"{api.url}&endpoint=http://127.0.0.1:{server.port}{extra}"


@dataclass
class Served:
    requests: list[Request] = field(default_factory=list)  # every request received, in order
    accepted: list[Request] = field(default_factory=list)  # those answered 2xx

    def delivered(self, api: FakeApi) -> list[Delivered]:
        return [d for r in self.accepted for d in api.delivered(r)]


def serve(server: HTTPServer, api: FakeApi,
          script: list[Callable[[Request, int], Response]] | None = None) -> Served:
    """Answer `api.path` with the scripted answers first, then good ones."""
    served = Served()
    script = list(script or [])
    counter = itertools.count(1)

    def handler(req: Request) -> Response:
        req.max_form_parts = None  # a Mailgun batch has a form field per recipient
        req.get_data()  # read the body now: werkzeug cannot after the response has gone
        served.requests.append(req)
        response = script.pop(0)(req, next(counter)) if script else api.answer(req, next(counter))
        if 200 <= response.status_code < 300:
            served.accepted.append(req)
        return response

    server.expect_request(api.path, method="POST").respond_with_handler(handler)
    return served


def status(code: int, body: Any = None, **headers: str) -> Callable[[Request, int], Response]:
    text = json.dumps(body) if body is not None else ""
    return lambda req, n: Response(text, code, headers=headers, content_type="application/json")


# -- SMTP -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """aiosmtpd handler: keeps each accepted envelope; can refuse recipients by address."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.refuse: dict[str, str] = {}  # address -> SMTP reply
        self.tls_sessions: list[bool] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.tls_sessions.append(session.ssl is not None)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [parse_email(e.content) for e in self.envelopes]


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, mailbox)
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command) and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def server_tls_context(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    return context
