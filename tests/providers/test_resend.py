"""Resend: POST /emails/batch, Bearer key, ≤ 100 per call, a stable Idempotency-Key."""

from __future__ import annotations

import json

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender.outcomes import Fault
from sender.providers.resend import ResendProvider
from tests.providers.conftest import ENV, FAKE_APIS, FakeTime, endpoint_url, make_message, serve, status

API = FAKE_APIS["resend"]


def provider(server: HTTPServer, fake_time: FakeTime, **params: object) -> ResendProvider:
    return ResendProvider(endpoint_url(API, server, concurrency=1, **params), environ=ENV,
                          clock=fake_time.source)


def test_request_is_shaped_as_resend_documents(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    message = make_message(0, metadata={"campaign": "glutes", "lesson": "01 start.v2", "delivery": "100"})
    with provider(httpserver, fake_time) as p:
        (result,) = p.send_messages([message])
    assert result.provider_message_id == "re-1-0"
    (req,) = served.requests
    assert req.headers["Authorization"] == "Bearer re_key"
    assert req.headers["x-batch-validation"] == "permissive"
    (email,) = req.get_json()
    assert email["to"] == ["Reader 0 <reader0@example.org>"]
    assert email["reply_to"] == "coach@example.com"
    assert email["headers"]["Message-ID"] == "<msg0@example.com>"
    assert "Reply-To" not in email["headers"]
    # Resend allows only letters, digits, _ and - in tags.
    assert {"name": "lesson", "value": "01_start_v2"} in email["tags"]


def test_batches_hold_at_most_100(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    with provider(httpserver, fake_time) as p:
        results = p.send_messages([make_message(i) for i in range(250)])
    assert [len(r.get_json()) for r in served.requests] == [100, 100, 50]
    assert len({r.headers["Idempotency-Key"] for r in served.requests}) == 3  # one key per batch
    assert all(r.ok for r in results)


def test_the_idempotency_key_is_the_same_on_every_retry(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, API, [status(500), status(429, **{"Retry-After": "1"})])
    with provider(httpserver, fake_time) as p:
        assert all(r.ok for r in p.send_messages([make_message(i) for i in range(3)]))
    keys = [r.headers["Idempotency-Key"] for r in served.requests]
    assert len(keys) == 3 and len(set(keys)) == 1 and len(keys[0]) <= 256
    with provider(httpserver, fake_time) as p:  # a later send of the same messages: the same key
        p.send_messages([make_message(i) for i in range(3)])
    assert served.requests[-1].headers["Idempotency-Key"] == keys[0]


def test_requests_are_throttled_per_second(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    serve(httpserver, API)
    with provider(httpserver, fake_time, rps=2) as p:
        p.send_messages([make_message(i) for i in range(250)])
    assert fake_time.sleeps == [0.5, 0.5]


def test_refused_emails_of_a_permissive_batch_fail_alone(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    def partial(req: Request, n: int) -> Response:
        return Response(json.dumps({"data": [{"id": "a"}, {"id": "c"}],
                                    "errors": [{"index": 1, "message": "Invalid `to` field."}]}), 200)

    serve(httpserver, API, [partial])
    with provider(httpserver, fake_time) as p:
        results = p.send_messages([make_message(i) for i in range(3)])
    assert [(r.ok, r.provider_message_id, r.permanent) for r in results] == [
        (True, "a", False), (False, None, True), (True, "c", False)]
    assert results[1].error == "resend: Invalid `to` field."


def test_a_409_for_a_reused_key_is_not_retried_but_one_still_processing_is(httpserver: HTTPServer,
                                                                           fake_time: FakeTime) -> None:
    served = serve(httpserver, API, [
        status(409, {"statusCode": 409, "name": "invalid_idempotent_request",
                     "message": "Same idempotency key used with a different request payload."}),
        status(409, {"statusCode": 409, "name": "concurrent_idempotent_requests",
                     "message": "Same idempotency key used while original request is still in progress."}),
    ])
    with provider(httpserver, fake_time) as p:
        (reused,) = p.send_messages([make_message(0)])
        (processing,) = p.send_messages([make_message(1)])
    assert (reused.ok, reused.fault) == (False, Fault.MESSAGE)
    assert processing.ok  # asked again, then accepted
    assert len(served.requests) == 3


def test_a_refused_entry_suppresses_the_recipient_but_a_bad_from_pauses(httpserver: HTTPServer,
                                                                        fake_time: FakeTime) -> None:
    answer = {"data": [{"id": "re-1"}], "errors": [
        {"index": 1, "message": "Invalid `to` field. The email address needs to follow the format."},
        {"index": 2, "message": "Invalid `from` field."}]}
    serve(httpserver, API, [status(200, answer)])
    with provider(httpserver, fake_time) as p:
        results = p.send_messages([make_message(i) for i in range(3)])
    assert [r.fault for r in results] == [None, Fault.RECIPIENT, Fault.ACCOUNT]
