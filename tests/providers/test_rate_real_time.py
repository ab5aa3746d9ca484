"""A 429 with Retry-After as the provider sees it, on the real clock: every message
delivered once, and the retry no sooner than the server asked."""

from __future__ import annotations

import time

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender.providers.postmark import PostmarkProvider
from tests.providers.conftest import FAKE_APIS, make_message

POSTMARK = FAKE_APIS["postmark"]


def test_a_busy_server_is_retried_after_the_time_it_asks_for(httpserver: HTTPServer) -> None:
    arrivals: list[float] = []
    delivered: list[str] = []

    def handler(req: Request) -> Response:
        arrivals.append(time.monotonic())
        if len(arrivals) == 2:  # the provider is busy once: it must wait as told, then go on
            return Response('{"ErrorCode": 429, "Message": "slow down"}', 429, {"Retry-After": "1"})
        delivered.extend(m["To"] for m in req.get_json())
        return POSTMARK.answer(req, len(arrivals))

    httpserver.expect_request("/email/batch", method="POST").respond_with_handler(handler)
    # 1,000 messages/s in batches of 500: two requests a second, whatever the concurrency.
    url = f"postmark://?rate=1000&concurrency=4&endpoint=http://127.0.0.1:{httpserver.port}"
    messages = [make_message(i) for i in range(2500)]
    with PostmarkProvider(url, environ={"POSTMARK_SERVER_TOKEN": "t"}) as provider:
        results = provider.send_messages(messages)

    assert all(r.ok for r in results)
    assert sorted(delivered) == sorted(m.to for m in messages)  # each exactly once
    assert len(arrivals) == 6  # five batches and one retry
    # Retry-After: 1 was honoured. The gap can only grow on a busy machine; how many
    # requests a second the throttle lets through is tested on a fake clock.
    assert arrivals[2] - arrivals[1] >= 0.95, [round(a - arrivals[0], 2) for a in arrivals]
