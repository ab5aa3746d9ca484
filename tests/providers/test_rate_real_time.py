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
    arrivals: list[tuple[float, frozenset[str]]] = []  # when each request came, and for whom
    delivered: list[str] = []

    def handler(req: Request) -> Response:
        recipients = frozenset(m["To"] for m in req.get_json())
        arrivals.append((time.monotonic(), recipients))
        if len(arrivals) == 2:  # the provider is busy once: it must wait as told, then go on
            return Response('{"ErrorCode": 429, "Message": "slow down"}', 429, {"Retry-After": "1"})
        delivered.extend(recipients)
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
    # Retry-After: 1 was honoured: the refused batch came back no sooner than a second after
    # it was refused. Measured from the refusal (the server's clock) to the same recipients'
    # next request, the gap can only grow on a busy machine; how many requests a second the
    # throttle lets through, and that a 429 holds the other requests too, is tested on a fake clock.
    refused_at, refused = arrivals[1]
    [retried_at] = [at for at, recipients in arrivals[2:] if recipients == refused]
    assert retried_at - refused_at >= 0.95, [round(at - arrivals[0][0], 2) for at, _ in arrivals]
