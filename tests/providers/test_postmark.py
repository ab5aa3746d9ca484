"""Postmark: POST /email/batch, X-Postmark-Server-Token, up to 500 per call, per-message ErrorCode."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender.outcomes import Fault
from sender.providers.base import ProviderError
from sender.providers.postmark import PostmarkProvider
from sender.store.schema import deliveries
from sender.subscribers import add_subscriber
from tests.providers.conftest import ENV, FAKE_APIS, FakeTime, endpoint_url, make_message, serve
from tests.test_engine import make_engine

API = FAKE_APIS["postmark"]


def provider(server: HTTPServer, fake_time: FakeTime, **params: object) -> PostmarkProvider:
    return PostmarkProvider(endpoint_url(API, server, **params), environ=ENV, clock=fake_time.source)


def test_request_is_shaped_as_postmark_documents(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    with provider(httpserver, fake_time) as p:
        p.send_messages([make_message(0)])
    (req,) = served.requests
    assert req.headers["X-Postmark-Server-Token"] == "pm-token"
    assert req.headers["Accept"] == "application/json"
    (body,) = req.get_json()
    assert body["From"] == "Glute Course <course@example.com>"
    assert body["To"] == "Reader 0 <reader0@example.org>"
    assert body["MessageStream"] == "broadcast"
    assert body["ReplyTo"] == "coach@example.com"
    assert body["Tag"] == "glutes"
    assert body["Metadata"] == {"campaign": "glutes", "lesson": "01-start", "delivery": "100"}
    headers = {h["Name"]: h["Value"] for h in body["Headers"]}
    assert headers["Message-ID"] == "<msg0@example.com>"
    assert "Reply-To" not in headers  # it has a field of its own
    assert body["TextBody"].startswith("Hi reader 0") and body["HtmlBody"].startswith("<p>")


def test_batches_hold_at_most_500(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    with provider(httpserver, fake_time, concurrency=1) as p:
        results = p.send_messages([make_message(i) for i in range(1001)])
    assert [len(r.get_json()) for r in served.requests] == [500, 500, 1]
    assert all(r.ok for r in results)


def test_the_stream_can_be_chosen(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    with provider(httpserver, fake_time, stream="courses") as p:
        p.send_messages([make_message(0)])
    assert served.requests[0].get_json()[0]["MessageStream"] == "courses"


def test_each_result_of_a_200_batch_is_read(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    def partial(req: Request, n: int) -> Response:
        codes = [(0, "OK"), (406, "Inactive recipient"), (300, "Invalid 'To' address"), (405, "No credits")]
        return Response(json.dumps([{"ErrorCode": c, "Message": text, "MessageID": f"id{i}" if c == 0 else ""}
                                    for i, (c, text) in enumerate(codes)]), 200)

    serve(httpserver, API, [partial])
    with provider(httpserver, fake_time) as p:
        results = p.send_messages([make_message(i) for i in range(4)])
    assert [(r.ok, r.fault) for r in results] == [
        (True, None), (False, Fault.RECIPIENT), (False, Fault.RECIPIENT), (False, Fault.ACCOUNT)]
    assert results[0].provider_message_id == "id0"
    assert results[1].error == "postmark: ErrorCode 406: Inactive recipient"


def test_a_short_answer_leaves_no_message_without_a_result(httpserver: HTTPServer,
                                                            fake_time: FakeTime) -> None:
    serve(httpserver, API, [lambda req, n: Response(json.dumps([{"ErrorCode": 0, "MessageID": "a"}]), 200)])
    with provider(httpserver, fake_time) as p:
        results = p.send_messages([make_message(0), make_message(1)])
    assert [(r.ok, r.fault) for r in results] == [(True, None), (False, Fault.UNKNOWN)]


def test_a_missing_token_is_named_when_the_provider_is_opened() -> None:
    p = PostmarkProvider("postmark://", environ={})
    with pytest.raises(ProviderError, match="POSTMARK_SERVER_TOKEN"):
        p.open()


def test_unknown_outcomes_are_settled_from_postmarks_message_log(project: Path, sqlite_url: str,
                                                                 httpserver: HTTPServer) -> None:
    # Two deliveries whose answers were lost 20 minutes ago; Postmark's log has one of them.
    def search(req: Request) -> Response:
        assert req.headers["X-Postmark-Server-Token"] == ENV["POSTMARK_SERVER_TOKEN"]
        assert (req.args["count"], req.args["offset"]) == ("1", "0")
        found = req.args["metadata_delivery"] == str(ids[0])
        messages = [{"MessageID": "pm-found", "Metadata": {"delivery": req.args["metadata_delivery"]}}]
        return Response(json.dumps({"TotalCount": int(found), "Messages": messages if found else []}),
                        200, content_type="application/json")

    httpserver.expect_request("/messages/outbound", method="GET").respond_with_handler(search)
    with PostmarkProvider(endpoint_url(API, httpserver), environ=ENV) as provider:
        engine, clock = make_engine(project, sqlite_url, provider)
        for email in ("a@example.com", "b@example.com"):
            add_subscriber(engine.store, email, now=clock(), timezone="UTC")
        with engine.store.begin() as conn:
            cid = engine.store.ensure_campaign("mini", title="Mini", now=clock(), conn=conn)
            ids = [conn.execute(deliveries.insert().values(
                subscriber_id=s.id, campaign_id=cid, lesson_key="01-start", position=1, status="sending",
                claimed_at=clock() - timedelta(minutes=20))).inserted_primary_key[0]
                for s in engine.store.subscribers()]
        report = engine.tick()
    assert report.settled == 1
    with engine.store.engine.connect() as conn:
        rows = dict(conn.execute(sa.select(deliveries.c.id, deliveries.c.status)).all())
        found = conn.execute(sa.select(deliveries.c.provider_message_id)
                             .where(deliveries.c.id == ids[0])).scalar()
    assert (rows, found) == ({ids[0]: "sent", ids[1]: "sending"}, "pm-found")
