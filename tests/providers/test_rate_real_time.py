"""The rate limit as the provider sees it: request arrival times counted at the fake server,
on the real clock, through a 429 with Retry-After."""

from __future__ import annotations

import itertools
import time

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender.providers.postmark import PostmarkProvider
from tests.providers.conftest import FAKE_APIS, make_message

POSTMARK = FAKE_APIS["postmark"]


def test_requests_per_second_at_the_server_stay_within_the_rate(httpserver: HTTPServer) -> None:
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
    for t in arrivals:
        in_a_second = [a for a in arrivals if t <= a < t + 0.95]
        assert len(in_a_second) <= 2, [round(a - arrivals[0], 2) for a in arrivals]
    assert max(b - a for a, b in itertools.pairwise(arrivals)) >= 0.95  # Retry-After: 1 was honoured
