"""Throttling, retries and URL options shared by the HTTP providers (sender/providers/http.py)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender.outcomes import Fault
from sender.providers.base import ProviderError
from sender.providers.http import Throttle, retry_after_seconds
from sender.providers.postmark import PostmarkProvider
from sender.providers.ses import SesProvider
from tests.conftest import DEADLINE, wait_until
from tests.providers.conftest import ENV, FAKE_APIS, FakeTime, endpoint_url, make_message, serve, status

POSTMARK = FAKE_APIS["postmark"]


def postmark(server: HTTPServer, fake_time: FakeTime, **params: object) -> PostmarkProvider:
    return PostmarkProvider(endpoint_url(POSTMARK, server, **params), environ=ENV, clock=fake_time.source)


def test_throttle_spaces_messages_to_the_rate(fake_time: FakeTime) -> None:
    throttle = Throttle(10, fake_time.source)
    throttle.acquire(5)  # the first batch goes at once ...
    throttle.acquire(1)  # ... and holds the next back by its share: 5 / 10 s
    throttle.acquire(1)
    assert fake_time.sleeps == [pytest.approx(0.5), pytest.approx(0.1)]


def test_a_429_holds_back_a_request_already_waiting_its_turn(fake_time: FakeTime) -> None:
    # On the fake clock what the real-clock test (test_rate_real_time) cannot pin down on a busy
    # machine: a turn booked before another request's 429 goes only once the hold is over.
    def sleep_while_a_429_comes(seconds: float) -> None:
        fake_time.source.sleep(seconds)
        if len(fake_time.sleeps) == 1:
            throttle.hold(3)  # another request's answer: Retry-After: 3

    throttle = Throttle(2, replace(fake_time.source, sleep=sleep_while_a_429_comes))  # one every 0.5 s
    throttle.acquire(1)  # goes at once
    start = fake_time.now
    throttle.acquire(1)  # its turn in 0.5 s; the 429 comes while it waits
    assert fake_time.now - start == pytest.approx(3.5)  # 3 s from the 429, not 0.5 s from the last
    throttle.acquire(1)
    assert fake_time.sleeps == [pytest.approx(0.5), pytest.approx(3.0), pytest.approx(0.5)]


def test_throttle_with_rate_zero_never_waits(fake_time: FakeTime) -> None:
    throttle = Throttle(0, fake_time.source)
    for _ in range(100):
        throttle.acquire(500)
    assert fake_time.sleeps == []


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = datetime(2024, 5, 6, 9, 0, tzinfo=UTC).timestamp()
    assert retry_after_seconds("7", now) == 7
    assert retry_after_seconds(format_datetime(datetime(2024, 5, 6, 9, 0, 30, tzinfo=UTC), usegmt=True),
                               now) == 30
    assert retry_after_seconds("Mon, 06 May 2024 08:00:00 GMT", now) == 0  # already past
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_429_then_503_twice_then_success_delivers_each_message_once(httpserver: HTTPServer,
                                                                      fake_time: FakeTime) -> None:
    served = serve(httpserver, POSTMARK, [status(429, {"Message": "slow down"}, **{"Retry-After": "7"}),
                                          status(503), status(503)])
    messages = [make_message(i) for i in range(3)]
    with postmark(httpserver, fake_time) as provider:
        results = provider.send_messages(messages)
    assert all(r.ok for r in results)
    assert len(served.requests) == 4
    assert sorted(d.to for d in served.delivered(POSTMARK)) == [f"reader{i}@example.org" for i in range(3)]
    # Retry-After as asked, then backoff steps of 2 s and 4 s with the fixed jitter (x0.75).
    assert fake_time.sleeps == [7.0, 1.5, 3.0]


def test_retry_after_as_an_http_date_is_honoured(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    when = format_datetime(datetime.fromtimestamp(fake_time.now + 12, UTC), usegmt=True)
    serve(httpserver, POSTMARK, [status(429, **{"Retry-After": when})])
    with postmark(httpserver, fake_time) as provider:
        assert provider.send_messages([make_message(0)])[0].ok
    assert fake_time.sleeps == [12.0]


def test_a_retry_after_longer_than_max_wait_fails_for_now_without_waiting(httpserver: HTTPServer,
                                                                          fake_time: FakeTime) -> None:
    served = serve(httpserver, POSTMARK, [status(429, {"Message": "daily quota"}, **{"Retry-After": "3600"})])
    with postmark(httpserver, fake_time, max_wait=60) as provider:
        (result,) = provider.send_messages([make_message(0)])
    assert not result.ok and not result.permanent
    assert "HTTP 429: daily quota" in (result.error or "")
    assert len(served.requests) == 1 and fake_time.sleeps == []


def test_exhausted_retries_return_transient_failures_instead_of_raising(httpserver: HTTPServer,
                                                                        fake_time: FakeTime) -> None:
    served = serve(httpserver, POSTMARK, [status(503)] * 10)
    with postmark(httpserver, fake_time, attempts=3) as provider:
        results = provider.send_messages([make_message(i) for i in range(2)])
    assert [(r.ok, r.permanent) for r in results] == [(False, False)] * 2
    assert results[0].error == "postmark: HTTP 503: "
    assert len(served.requests) == 3
    assert fake_time.sleeps == [0.75, 1.5]


def test_an_unreachable_api_is_a_transient_failure(fake_time: FakeTime) -> None:
    url = "postmark://?endpoint=http://127.0.0.1:9&attempts=2"  # port 9 (discard): nothing listens
    with PostmarkProvider(url, environ=ENV, clock=fake_time.source) as provider:
        (result,) = provider.send_messages([make_message(0)])
    assert not result.ok and not result.permanent
    assert "connection failed" in (result.error or "")
    assert fake_time.sleeps == [0.75]


def test_an_answer_that_never_comes_is_not_asked_again_its_outcome_is_unknown(
        httpserver: HTTPServer, fake_time: FakeTime) -> None:
    # Postmark may have accepted the batch: asking again could send it twice.
    release = threading.Event()
    calls: list[int] = []

    def hang(req: Request) -> Response:
        calls.append(1)
        release.wait(DEADLINE)  # until the test is done with it
        return Response("[]", 200)

    httpserver.expect_request("/email/batch").respond_with_handler(hang)
    try:
        with postmark(httpserver, fake_time, timeout=0.05, attempts=3) as provider:
            (result,) = provider.send_messages([make_message(0)])
    finally:
        release.set()
        # Let the server finish the timed-out request now, so it does not reach a later test's handler.
        wait_until(lambda: calls)
    assert len(calls) == 1
    assert (result.ok, result.fault) == (False, Fault.UNKNOWN)
    assert result.error == "postmark: no answer within 0.05 s"
    assert fake_time.sleeps == []


def test_401_is_not_retried_and_is_the_accounts_fault(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    # A wrong key is fixed by staff, not by dropping the subscriber: the engine pauses instead.
    served = serve(httpserver, POSTMARK, [status(401, {"ErrorCode": 10, "Message": "Bad or missing token"})])
    with postmark(httpserver, fake_time) as provider:
        (result,) = provider.send_messages([make_message(0)])
    assert (result.ok, result.fault) == (False, Fault.ACCOUNT)
    assert result.error == "postmark: HTTP 401: ErrorCode 10: Bad or missing token"
    assert len(served.requests) == 1


def test_concurrent_requests_keep_results_in_order(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    api = FAKE_APIS["ses"]
    serve(httpserver, api)
    messages = [make_message(i) for i in range(12)]
    url = endpoint_url(api, httpserver, concurrency=4)
    with SesProvider(url, environ=ENV, clock=fake_time.source) as provider:
        results = provider.send_messages(messages)
    assert [r.provider_message_id for r in results] == [f"ses-for-reader{i}@example.org" for i in range(12)]


@pytest.mark.parametrize(("url", "complaint"), [
    ("postmark://?rat=5", "unknown parameter 'rat'"),
    ("postmark://?rate=fast", "rate='fast' is not a number"),
    ("postmark://?concurrency=0", "must be at least 1"),
])
def test_bad_url_parameters_are_refused_when_the_provider_is_made(url: str, complaint: str) -> None:
    with pytest.raises(ProviderError, match=complaint):
        PostmarkProvider(url, environ=ENV)


def test_defaults_are_per_provider() -> None:
    options = PostmarkProvider("postmark://", environ=ENV).options
    assert (options.endpoint, options.rate, options.concurrency) == ("https://api.postmarkapp.com", 200, 2)
