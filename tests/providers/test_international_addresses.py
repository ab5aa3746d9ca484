"""An address with an international domain, stored as email-validator gives it (Unicode),
goes out in its ASCII form and reaches the server: SMTP (aiosmtpd) and Postmark's API."""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer

from sender.providers.postmark import PostmarkProvider
from sender.providers.smtp import SmtpProvider
from sender.subscribers import add_subscriber
from tests.providers.conftest import ENV, FAKE_APIS, SmtpServer, endpoint_url, serve
from tests.test_engine import make_engine

UNICODE, ASCII = "anna@bücher.example", "anna@xn--bcher-kva.example"


def _send_lesson_one(project: Path, url: str, provider: SmtpProvider | PostmarkProvider) -> None:
    engine, clock = make_engine(project, url, provider)
    add_subscriber(engine.store, "anna@xn--bcher-kva.example", now=clock(), name="Anna Bücher",
                   timezone="UTC")
    assert engine.store.subscriber_by_email(UNICODE) is not None  # kept in the Unicode form
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    report = engine.tick()
    assert (report.sent, report.failed) == (1, 0), report.errors


def test_an_international_domain_is_sent_through_smtp(project: Path, sqlite_url: str,
                                                       smtp_server: SmtpServer) -> None:
    with SmtpProvider(f"smtp://127.0.0.1:{smtp_server.port}", environ={}) as provider:
        _send_lesson_one(project, sqlite_url, provider)
    (envelope,) = smtp_server.mailbox.envelopes
    assert envelope.rcpt_tos == [ASCII]
    (message,) = smtp_server.mailbox.messages()
    assert message["To"].addresses[0].addr_spec == ASCII
    assert message["To"].addresses[0].display_name == "Anna Bücher"


def test_an_international_domain_is_sent_through_postmark(project: Path, sqlite_url: str,
                                                           httpserver: HTTPServer) -> None:
    api = FAKE_APIS["postmark"]
    served = serve(httpserver, api)
    with PostmarkProvider(endpoint_url(api, httpserver), environ=ENV) as provider:
        _send_lesson_one(project, sqlite_url, provider)
    assert [d.to for d in served.delivered(api)] == [ASCII]
