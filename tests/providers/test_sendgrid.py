"""SendGrid: POST /v3/mail/send, Bearer key, personalizations (≤ 1,000) for identical content."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from sender.outcomes import Fault
from sender.providers.sendgrid import SendGridProvider
from tests.providers.conftest import (
    ENV,
    FAKE_APIS,
    FakeTime,
    endpoint_url,
    make_message,
    same_content,
    serve,
    status,
)

API = FAKE_APIS["sendgrid"]


def provider(server: HTTPServer, fake_time: FakeTime, **params: object) -> SendGridProvider:
    return SendGridProvider(endpoint_url(API, server, concurrency=1, **params), environ=ENV,
                            clock=fake_time.source)


def test_request_is_shaped_as_sendgrid_documents(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    with provider(httpserver, fake_time) as p:
        (result,) = p.send_messages([make_message(0)])
    assert result.provider_message_id == "sg-1"
    (req,) = served.requests
    assert req.headers["Authorization"] == "Bearer SG.key"
    body = req.get_json()
    assert body["from"] == {"email": "course@example.com", "name": "Glute Course"}
    assert body["reply_to"] == {"email": "coach@example.com"}
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]  # the order SendGrid requires
    (person,) = body["personalizations"]
    assert person["to"] == [{"email": "reader0@example.org", "name": "Reader 0"}]
    assert person["custom_args"] == {"campaign": "glutes", "lesson": "01-start", "delivery": "100"}
    assert person["headers"]["Message-ID"] == "<msg0@example.com>"
    assert "Reply-To" not in person["headers"]  # reserved by SendGrid


def test_personal_bodies_go_one_per_request(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    with provider(httpserver, fake_time) as p:
        p.send_messages([make_message(i) for i in range(3)])
    assert [len(r.get_json()["personalizations"]) for r in served.requests] == [1, 1, 1]


def test_identical_content_shares_a_request_of_at_most_1000(httpserver: HTTPServer,
                                                            fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    messages = [same_content(i) for i in range(1001)] + [make_message(5000)]
    with provider(httpserver, fake_time) as p:
        results = p.send_messages(messages)
    assert sorted(len(r.get_json()["personalizations"]) for r in served.requests) == [1, 1, 1000]
    assert all(r.ok for r in results) and len(results) == 1002
    first = served.requests[0].get_json()["personalizations"]
    assert first[1]["headers"]["List-Unsubscribe"].startswith("<https://ex.com/u/1>")  # each keeps its own


def test_the_same_address_never_appears_twice_in_one_request(httpserver: HTTPServer,
                                                             fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    twice = [same_content(1), same_content(2), same_content(1)]
    with provider(httpserver, fake_time) as p:
        p.send_messages(twice)
    assert [len(r.get_json()["personalizations"]) for r in served.requests] == [2, 1]


def test_a_refused_group_is_resent_one_by_one_so_only_the_culprit_fails(httpserver: HTTPServer,
                                                                       fake_time: FakeTime) -> None:
    bad = {"errors": [{"message": "Does not contain a valid address.", "field": "personalizations.1.to"}]}
    served = serve(httpserver, API, [status(400, bad), status(202), status(400, bad), status(202)])
    with provider(httpserver, fake_time) as p:
        results = p.send_messages([same_content(i) for i in range(3)])
    assert [len(r.get_json()["personalizations"]) for r in served.requests] == [3, 1, 1, 1]
    assert [(r.ok, r.fault) for r in results] == [(True, None), (False, Fault.RECIPIENT), (True, None)]
    assert results[1].error == "sendgrid: HTTP 400: Does not contain a valid address."


def test_a_429_without_retry_after_waits_for_the_rate_limit_reset(httpserver: HTTPServer,
                                                                   fake_time: FakeTime) -> None:
    reset = int(fake_time.now) + 3  # the window ends in 3 s; backoff alone would retry after ~0.75 s
    served = serve(httpserver, API, [status(429, {"errors": [{"message": "too many requests"}]},
                                            **{"X-RateLimit-Reset": str(reset)})])
    with provider(httpserver, fake_time) as p:
        (result,) = p.send_messages([same_content(0)])
    assert result.ok and len(served.requests) == 2
    assert fake_time.now >= reset


def test_refusals_name_whose_fault_they_are(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    serve(httpserver, API, [
        status(400, {"errors": [{"message": "Does not contain a valid address.",
                                 "field": "personalizations.0.to.0.email"}]}),
        status(403, {"errors": [{"message": "The from address does not match a verified Sender Identity.",
                                 "field": "from"}]}),
        status(400, {"errors": [{"message": "The from email does not contain a valid address.",
                                 "field": "from.email"}]}),
        status(400, {"errors": [{"message": "Invalid type.", "field": "custom_args"}]}),
    ])
    with provider(httpserver, fake_time) as p:
        results = p.send_messages([make_message(i) for i in range(4)])
    assert [r.fault for r in results] == [Fault.RECIPIENT, Fault.ACCOUNT, Fault.ACCOUNT, Fault.MESSAGE]
