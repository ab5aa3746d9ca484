"""The contract every backend keeps, checked once for all of them (as Django does for its
mail backends): one result per message, in order; ok results carry a provider id; our
metadata and unsubscribe headers reach the provider; a malformed message fails alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email import message_from_string, policy
from email.message import EmailMessage, Message
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from pytest_httpserver import HTTPServer

from sender.providers import BACKENDS, get_provider
from sender.providers.http import address_of
from sender.providers.memory import MemoryProvider
from tests.providers.conftest import (
    ENV,
    FAKE_APIS,
    Delivered,
    SmtpServer,
    endpoint_url,
    make_message,
    parse_email,
    serve,
)


@dataclass
class Backend:
    url: str
    delivered: Callable[[], list[Delivered]]


def memory_backend() -> Backend:
    url = "memory://contract"
    MemoryProvider.mailboxes.pop(url, None)
    return Backend(url, lambda: [Delivered(address_of(m.to)[1], {k.lower(): v for k, v in m.headers.items()},
                                           m.metadata) for m in MemoryProvider.mailboxes.get(url, [])])


def delivered_emails(emails: Iterable[Message]) -> list[Delivered]:
    """What each recipient got, read back from the RFC 5322 form (metadata in X-Drip-Metadata)."""
    return [Delivered(address_of(str(m["To"]))[1], {k.lower(): str(v) for k, v in m.items()},
                      dict(parse_qsl(str(m["X-Drip-Metadata"])))) for m in emails]


def smtp_backend(server: SmtpServer) -> Backend:
    return Backend(f"smtp://127.0.0.1:{server.port}", lambda: delivered_emails(server.mailbox.messages()))


def outbox_backend(folder: Path) -> Backend:
    def delivered() -> list[Delivered]:
        return delivered_emails(parse_email(f.read_bytes()) for f in sorted(folder.glob("*.eml")))

    return Backend(f"outbox://{folder}", delivered)


CONSOLE_SEPARATOR = "\n" + "-" * 79 + "\n"  # what ConsoleProvider prints after each message


def console_backend(capsys: pytest.CaptureFixture[str]) -> Backend:
    # get_provider makes the provider inside the test, so it writes to the sys.stdout capsys
    # puts in place then (a stream swapped in by a fixture would be swapped back by pytest).
    def printed() -> list[EmailMessage]:
        chunks = capsys.readouterr().out.split(CONSOLE_SEPARATOR)[:-1]  # [-1]: after the last one
        return [message_from_string(c, _class=EmailMessage, policy=policy.default) for c in chunks]

    return Backend("console://", lambda: delivered_emails(printed()))


@pytest.fixture(params=["memory", "outbox", "console", *FAKE_APIS, "smtp"])
def backend(request: pytest.FixtureRequest, httpserver: HTTPServer,
            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Backend:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    if request.param == "memory":
        return memory_backend()
    if request.param == "outbox":
        return outbox_backend(tmp_path / "outbox")
    if request.param == "console":
        return console_backend(request.getfixturevalue("capsys"))
    if request.param == "smtp":
        return smtp_backend(request.getfixturevalue("smtp_server"))
    api = FAKE_APIS[request.param]
    served = serve(httpserver, api)
    return Backend(endpoint_url(api, httpserver), lambda: served.delivered(api))


def test_every_message_gets_one_result_in_order_with_a_provider_id(backend: Backend) -> None:
    messages = [make_message(i) for i in range(7)]
    with get_provider(backend.url) as provider:
        results = provider.send_messages(messages)
    assert len(results) == len(messages)
    assert all(r.message is m for r, m in zip(results, messages, strict=True))
    assert all(r.ok and r.provider_message_id for r in results), [r.error for r in results]


def test_metadata_and_unsubscribe_headers_reach_the_provider(backend: Backend) -> None:
    messages = [make_message(i) for i in range(3)]
    with get_provider(backend.url) as provider:
        provider.send_messages(messages)
    got = {d.to: d for d in backend.delivered()}
    assert sorted(got) == sorted(address_of(m.to)[1] for m in messages)
    for m in messages:
        d = got[address_of(m.to)[1]]
        assert d.metadata == m.metadata
        assert d.headers["list-unsubscribe"] == m.headers["List-Unsubscribe"]
        assert d.headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
        assert d.headers["list-id"] == m.headers["List-Id"]


def test_nothing_to_send_is_nothing_sent(backend: Backend) -> None:
    with get_provider(backend.url) as provider:
        assert provider.send_messages([]) == []
    assert backend.delivered() == []


def test_a_malformed_message_fails_alone_and_permanently(backend: Backend) -> None:
    bad = make_message(1, headers={"List-Unsubscribe": "<https://ex.com/u>\r\nBcc: victim@example.org"})
    with get_provider(backend.url) as provider:
        results = provider.send_messages([make_message(0), bad, make_message(2)])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].permanent and "line break" in (results[1].error or "")
    assert sorted(d.to for d in backend.delivered()) == ["reader0@example.org", "reader2@example.org"]


def test_every_provider_scheme_is_registered() -> None:
    assert {"postmark", "sendgrid", "mailgun", "resend", "ses", "smtp", "smtps"} <= set(BACKENDS)
