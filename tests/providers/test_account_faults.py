"""A provider refusing the sending account (not the recipient) pauses the campaign with the
provider's words and keeps every lesson queued; `drip resume` then sends each exactly once."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from moto.server import ThreadedMotoServer
from pytest_httpserver import HTTPServer

from sender.engine import Engine
from sender.providers.http import HttpProvider
from sender.providers.postmark import PostmarkProvider
from sender.providers.resend import ResendProvider
from sender.providers.ses import SesProvider
from sender.schedule import SimulatedClock
from sender.store.schema import deliveries
from sender.subscribers import add_subscriber
from tests.providers.conftest import ENV, FAKE_APIS, endpoint_url, serve, status
from tests.test_engine import make_engine

PEOPLE = ("a@example.com", "b@example.com", "c@example.com")
FROM = "Coach <coach@bimkinesiology.ca>"


def enrolled(project: Path, url: str, provider: HttpProvider) -> tuple[Engine, SimulatedClock]:
    engine, clock = make_engine(project, url, provider)
    engine.settings = engine.settings.replace(from_address=FROM)
    for email in PEOPLE:
        add_subscriber(engine.store, email, now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    return engine, clock


def assert_paused_then_resumed(engine: Engine, words: str) -> None:
    report = engine.tick()
    assert (report.sent, report.failed, report.suppressed, report.kept) == (0, 0, 0, 3)
    assert report.paused == ["mini"] and report.problems
    campaign = engine.store.campaign_by_slug("mini")
    assert campaign.status == "paused" and words in campaign.paused_reason
    assert campaign.resume_at is None  # staff fix the account; it does not try again by itself
    assert {r.status for r in engine.store.delivery_log()} == {"queued"}
    assert engine.tick().sent == 0  # paused: nothing is claimed
    engine.store.set_campaign_status("mini", "active")  # `drip resume mini`
    report = engine.tick()
    assert (report.sent, report.failed) == (3, 0)
    assert sorted(r.status for r in engine.store.delivery_log()) == ["sent"] * 3


@pytest.mark.parametrize(("code", "message"), [
    (300, "Invalid 'From' address: 'coach@bimkinesiology'."),
    (405, "Not allowed to send: you have run out of credits."),
    (412, "Your account is pending approval."),
])
def test_postmark_refusing_the_account_pauses_the_campaign(project: Path, sqlite_url: str,
                                                           httpserver: HTTPServer,
                                                           code: int, message: str) -> None:
    api = FAKE_APIS["postmark"]
    served = serve(httpserver, api, [status(422, {"ErrorCode": code, "Message": message})])
    with PostmarkProvider(endpoint_url(api, httpserver), environ=ENV) as provider:
        engine, _ = enrolled(project, sqlite_url, provider)
        assert_paused_then_resumed(engine, message)
    assert sorted(d.to for d in served.delivered(api)) == sorted(PEOPLE)  # each once, after the resume


def test_resend_refusing_the_from_address_pauses_the_campaign(project: Path, sqlite_url: str,
                                                              httpserver: HTTPServer) -> None:
    api = FAKE_APIS["resend"]
    words = "Invalid `from` field. The email address needs to follow the `email@example.com` format."
    served = serve(httpserver, api, [status(422, {"statusCode": 422, "name": "validation_error",
                                                  "message": words})])
    with ResendProvider(endpoint_url(api, httpserver), environ=ENV) as provider:
        engine, _ = enrolled(project, sqlite_url, provider)
        assert_paused_then_resumed(engine, words)
    assert sorted(d.to for d in served.delivered(api)) == sorted(PEOPLE)


@pytest.fixture
def moto_ses() -> Iterator[tuple[str, Any]]:
    """Moto's SES v2 server on 127.0.0.1, and a boto3 client of it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    client = boto3.client("sesv2", region_name="us-east-1", endpoint_url=url,
                          aws_access_key_id=ENV["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=ENV["AWS_SECRET_ACCESS_KEY"])
    try:
        yield url, client
    finally:
        server.stop()


def test_ses_message_rejected_for_an_unverified_sender_pauses_the_campaign(
        project: Path, sqlite_url: str, moto_ses: tuple[str, Any]) -> None:
    url, client = moto_ses
    with SesProvider(f"ses://us-east-1?rate=0&endpoint={url}", environ=ENV) as provider:
        engine, _ = enrolled(project, sqlite_url, provider)
        report = engine.tick()
        assert (report.sent, report.failed, report.suppressed, report.paused) == (0, 0, 0, ["mini"])
        campaign = engine.store.campaign_by_slug("mini")
        assert "MessageRejected" in campaign.paused_reason
        assert {r.status for r in engine.store.delivery_log()} == {"queued"}

        client.create_email_identity(EmailIdentity="bimkinesiology.ca")  # the fix, in the account
        engine.store.set_campaign_status("mini", "active")
        report = engine.tick()
        assert (report.sent, report.failed) == (3, 0)
        with engine.store.engine.connect() as conn:
            rows = conn.execute(sa.select(deliveries.c.status, deliveries.c.provider_message_id)).all()
    assert sorted(r.status for r in rows) == ["sent"] * 3
    assert len({r.provider_message_id for r in rows}) == 3  # three messages SES accepted
