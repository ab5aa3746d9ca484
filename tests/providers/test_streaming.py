"""Sending messages while they are still being rendered (HttpProvider.send_stream), and the
JSON of request bodies (encode_json)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from sender.providers.base import OutgoingMessage
from sender.providers.http import encode_json
from sender.providers.postmark import PostmarkProvider
from tests.conftest import wait_until
from tests.providers.conftest import ENV, FAKE_APIS, FakeTime, endpoint_url, make_message, serve

POSTMARK = FAKE_APIS["postmark"]


@given(st.text())
def test_encode_json_round_trips_any_text(text: str) -> None:
    assert json.loads(encode_json({"HtmlBody": text})) == {"HtmlBody": text}


def test_encode_json_of_awkward_bodies() -> None:
    for text in ('<a href="x">\\n</a>\n\r\t', "\x00\x1f\x7f", "’ — ✓ 😀", "\ud800 lone", ""):
        assert json.loads(encode_json([text])) == [text]


class SmallBatches(PostmarkProvider):
    batch_limit = 2


def test_the_first_request_goes_while_later_messages_are_still_coming(httpserver: HTTPServer,
                                                                      fake_time: FakeTime) -> None:
    served = serve(httpserver, POSTMARK)
    seen_while_producing: list[bool] = []

    def first_request_arrives() -> bool:
        return wait_until(lambda: served.requests)

    def produce() -> Iterator[OutgoingMessage]:
        for i in range(5):
            if i == 3:  # [0, 1] went to the pool when 2 arrived: the server has it before 3 exists
                seen_while_producing.append(first_request_arrives())
            yield make_message(i)

    provider = SmallBatches(endpoint_url(POSTMARK, httpserver), environ=ENV, clock=fake_time.source)
    with provider:
        results = provider.send_stream(produce())
    assert seen_while_producing == [True]
    assert [r.message.to for r in results] == [make_message(i).to for i in range(5)]
    assert all(r.ok for r in results)
    assert sorted(len(r.get_json()) for r in served.requests) == [1, 2, 2]  # concurrent: any order
    assert sorted(d.to for d in served.delivered(POSTMARK)) == [f"reader{i}@example.org" for i in range(5)]


def test_a_stream_with_a_malformed_message_and_nothing_else(httpserver: HTTPServer,
                                                            fake_time: FakeTime) -> None:
    served = serve(httpserver, POSTMARK)
    bad = make_message(0, subject="Hi\r\nBcc: x@example.com")
    with PostmarkProvider(endpoint_url(POSTMARK, httpserver), environ=ENV, clock=fake_time.source) as p:
        (result,) = p.send_stream(iter([bad]))
        assert p.send_stream(iter([])) == []
    assert not result.ok and result.permanent and "line break" in (result.error or "")
    assert served.requests == []


def test_the_body_is_the_json_postmark_documents(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, POSTMARK)
    odd = make_message(1, html='<p title="q">\\ “quoted” \t\x01</p>', text="line\r\nnext 😀")
    with PostmarkProvider(endpoint_url(POSTMARK, httpserver), environ=ENV, clock=fake_time.source) as p:
        assert all(r.ok for r in p.send_messages([make_message(0), odd]))
    (req,) = served.requests
    assert req.headers["Content-Type"] == "application/json"
    sent = [(m["HtmlBody"], m["TextBody"]) for m in req.get_json()]
    assert sent == [(m.html, m.text) for m in (make_message(0), odd)]
