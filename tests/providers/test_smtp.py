"""SMTP against a real aiosmtpd server on 127.0.0.1; received mail parsed with the email package."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from sender.providers.base import ProviderError, SendResult
from sender.providers.smtp import SmtpProvider
from tests.providers.conftest import (
    FakeTime,
    Mailbox,
    SmtpServer,
    free_port,
    make_message,
    server_tls_context,
)


def test_received_mail_is_well_formed_with_our_headers(smtp_server: SmtpServer) -> None:
    with SmtpProvider(f"smtp://127.0.0.1:{smtp_server.port}", environ={}) as p:
        results = p.send_messages([make_message(0), make_message(1)])
    assert [r.provider_message_id for r in results] == ["<msg0@example.com>", "<msg1@example.com>"]
    envelope = smtp_server.mailbox.envelopes[0]
    assert (envelope.mail_from, envelope.rcpt_tos) == ("course@example.com", ["reader0@example.org"])
    msg = smtp_server.mailbox.messages()[0]
    assert msg.defects == [] and all(part.defects == [] for part in msg.walk())
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["List-Unsubscribe"] == make_message(0).headers["List-Unsubscribe"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"] == "<msg0@example.com>" and msg["Reply-To"] == "coach@example.com"
    assert msg["X-Drip-Metadata"] == "campaign=glutes&lesson=01-start&delivery=100"
    assert "Bcc" not in msg


def test_refused_recipients_fail_permanently_on_5xx_and_for_now_on_4xx(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.refuse = {"reader1@example.org": "550 5.1.1 No such user",
                                  "reader2@example.org": "451 4.7.1 Greylisted"}
    fake = FakeTime()
    with SmtpProvider(f"smtp://127.0.0.1:{smtp_server.port}?attempts=2", environ={}, clock=fake.source) as p:
        results = p.send_messages([make_message(i) for i in range(4)])
    assert [(r.ok, r.permanent) for r in results] == [
        (True, False), (False, True), (False, False), (True, False)]
    assert results[1].error == "smtp: 550 5.1.1 No such user"
    assert fake.sleeps == [0.75]  # the 4xx was tried twice


def test_an_unreachable_server_is_a_transient_failure() -> None:
    fake = FakeTime()
    p = SmtpProvider(f"smtp://127.0.0.1:{free_port()}?attempts=3", environ={}, clock=fake.source)
    (result,) = p.send_messages([make_message(0)])
    assert (result.ok, result.permanent) == (False, False)
    assert "cannot connect" in (result.error or "")
    assert fake.sleeps == [0.75, 1.5]


def test_starttls_require_refuses_a_server_without_it(smtp_server: SmtpServer) -> None:
    with pytest.raises(ProviderError, match="does not offer STARTTLS"):
        SmtpProvider(f"smtp://127.0.0.1:{smtp_server.port}?starttls=require", environ={}).open()


def test_half_the_credentials_is_an_error_naming_the_other_half() -> None:
    with pytest.raises(ProviderError, match="SMTP_PASSWORD"):
        SmtpProvider("smtp://127.0.0.1:1", environ={"SMTP_USERNAME": "me"}).open()


def test_starttls_is_used_when_offered(tls_files: tuple[Path, Path]) -> None:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port,
                            tls_context=server_tls_context(tls_files))
    controller.start()
    try:
        url = f"smtp://127.0.0.1:{port}?starttls=require&cafile={tls_files[0]}"
        with SmtpProvider(url, environ={}) as p:
            assert p.send_messages([make_message(0)])[0].ok
    finally:
        controller.stop()
    assert mailbox.tls_sessions == [True]


def test_smtps_uses_implicit_tls(tls_files: tuple[Path, Path]) -> None:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port,
                            ssl_context=server_tls_context(tls_files))
    controller.start()
    try:
        with SmtpProvider(f"smtps://127.0.0.1:{port}?cafile={tls_files[0]}", environ={}) as p:
            assert p.send_messages([make_message(0)])[0].ok
    finally:
        controller.stop()
    # aiosmtpd marks only STARTTLS sessions; an implicit-TLS server cannot speak to a plain client.
    assert len(mailbox.messages()) == 1


def test_threads_sharing_one_provider_deliver_every_message_exactly_once(smtp_server: SmtpServer) -> None:
    # The tick's thread and web requests (confirmations, test sends) share the engine's provider.
    # attempts=1: a garbled session fails its message rather than being hidden by a reconnect.
    threads, per_thread = 8, 10
    start = threading.Barrier(threads)
    p = SmtpProvider(f"smtp://127.0.0.1:{smtp_server.port}?attempts=1", environ={})

    def sender(t: int) -> list[SendResult]:
        start.wait()
        results: list[SendResult] = []
        for j in range(per_thread):
            results += p.send_messages([make_message(t * 100 + j)])
            if j == per_thread // 2:
                p.close()  # as a caller may while others send: theirs reconnect
        return results

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(sender, t) for t in range(threads)]
        results = [r for f in futures for r in f.result(timeout=120)]
    p.close()
    assert [r.error for r in results if not r.ok] == []
    expected = sorted(f"reader{t * 100 + j}@example.org" for t in range(threads) for j in range(per_thread))
    assert sorted(a for e in smtp_server.mailbox.envelopes for a in e.rcpt_tos) == expected
