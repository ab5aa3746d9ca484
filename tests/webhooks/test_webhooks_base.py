"""The shared parts: parse_webhook's dispatch, the replay guard, and the event shape."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from webhook_signing import MAILGUN_ENV, NOW, TS, Parse, dumps, mailgun_signature
from werkzeug.datastructures import Headers

from sender.webhooks import EVENT_TYPES, ReplayGuard, WebhookRejected, parse_webhook
from sender.webhooks import base as webhooks_base


def mailgun_body(token: str = "t" * 50) -> bytes:
    return dumps({"signature": mailgun_signature(token=token), "event-data": {
        "event": "delivered", "timestamp": TS, "recipient": "ana@example.com", "id": "abc",
        "user-variables": {"delivery": "9"}}})


@pytest.mark.parametrize("provider", ["mandrill", "", "../postmark", "sender.webhooks.base"])
def test_unknown_provider_is_404(provider: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse_webhook(provider, {}, b"{}", env={}, now=NOW)
    assert caught.value.status == 404


def test_provider_name_is_case_insensitive(parse: Parse) -> None:
    assert parse("Mailgun", {}, mailgun_body(), env=MAILGUN_ENV).events[0].delivery_id == 9


def test_werkzeug_headers_are_accepted(parse: Parse) -> None:
    headers = Headers([("Content-Type", "application/json")])
    assert parse("mailgun", headers, mailgun_body(), env=MAILGUN_ENV).events


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_webhook("mailgun", {}, mailgun_body(), env=MAILGUN_ENV, now=datetime(2026, 3, 2, 9, 30))


def test_default_replay_guard_is_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    guard = ReplayGuard()
    monkeypatch.setattr(webhooks_base, "DEFAULT_REPLAY_GUARD", guard)
    body = mailgun_body(token="d" * 50)
    parse_webhook("mailgun", {}, body, env=MAILGUN_ENV, now=NOW)
    with pytest.raises(WebhookRejected) as caught:
        parse_webhook("mailgun", {}, body, env=MAILGUN_ENV, now=NOW)
    assert caught.value.status == 401
    assert len(guard) == 1


def test_events_are_json_safe_and_typed(parse: Parse) -> None:
    [event] = parse("mailgun", {}, mailgun_body(), env=MAILGUN_ENV).events
    assert event.type in EVENT_TYPES
    json.dumps(event.data)
    assert event.at.utcoffset() == timedelta(0)


def test_rejection_carries_status_and_reason() -> None:
    error = WebhookRejected(400, "missing field 'email'")
    assert (error.status, error.reason, str(error)) == (400, "missing field 'email'", "missing field 'email'")


# -- ReplayGuard --------------------------------------------------------------------------------


def test_guard_refuses_a_seen_key_until_it_expires() -> None:
    guard = ReplayGuard()
    assert guard.check_and_add("k", expires_at=100.0, now=0.0)
    assert not guard.check_and_add("k", expires_at=100.0, now=99.0)
    assert guard.check_and_add("k", expires_at=200.0, now=100.0)  # expired, so new again


def test_guard_forget() -> None:
    guard = ReplayGuard()
    guard.check_and_add("k", expires_at=100.0, now=0.0)
    guard.forget("k")
    guard.forget("never-seen")
    assert "k" not in guard
    assert guard.check_and_add("k", expires_at=100.0, now=1.0)


def test_guard_is_bounded_and_drops_the_soonest_to_expire() -> None:
    guard = ReplayGuard(max_entries=3)
    for i, expiry in enumerate([50.0, 10.0, 30.0, 40.0]):
        assert guard.check_and_add(f"k{i}", expires_at=expiry, now=0.0)
    assert len(guard) == 3
    assert "k1" not in guard  # expiry 10: the first to go
    assert all(k in guard for k in ("k0", "k2", "k3"))


def test_guard_purges_expired_entries() -> None:
    guard = ReplayGuard()
    for i in range(100):
        guard.check_and_add(f"k{i}", expires_at=float(i), now=0.0)
    guard.check_and_add("late", expires_at=1000.0, now=500.0)
    assert len(guard) == 1


def test_guard_heap_stays_bounded_under_forget_churn() -> None:
    guard = ReplayGuard(max_entries=10)
    for i in range(1000):
        guard.check_and_add(f"k{i}", expires_at=1e9, now=0.0)
        guard.forget(f"k{i}")
    assert len(guard._heap) <= 20


def test_guard_is_thread_safe() -> None:
    guard = ReplayGuard()
    accepted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        start.wait()
        for i in range(500):
            if guard.check_and_add(f"nonce-{i}", expires_at=1e9, now=0.0):
                with lock:
                    accepted.append(i)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(accepted) == list(range(500))  # each nonce accepted exactly once


def test_guard_needs_room() -> None:
    with pytest.raises(ValueError):
        ReplayGuard(max_entries=0)
