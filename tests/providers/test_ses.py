"""Amazon SES v2: SendEmail with Raw content, SigV4-signed, one message per request."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from sender.outcomes import Fault
from sender.providers.base import ProviderError
from sender.providers.ses import SesProvider, sigv4_headers
from tests.providers.conftest import (
    ENV,
    FAKE_APIS,
    FakeTime,
    endpoint_url,
    make_message,
    parse_email,
    serve,
    status,
)

API = FAKE_APIS["ses"]
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def provider(server: HTTPServer, fake_time: FakeTime, environ: dict[str, str] = ENV,
             **params: object) -> SesProvider:
    return SesProvider(endpoint_url(API, server, **params), environ=environ, clock=fake_time.source)


def test_sigv4_matches_the_example_in_the_aws_documentation() -> None:
    # "Example: GET Object" of the Amazon S3 SigV4 documentation (header-based authentication).
    headers = sigv4_headers(
        method="GET", url="https://examplebucket.s3.amazonaws.com/test.txt", body=b"",
        headers={"Range": "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256}, region="us-east-1",
        service="s3", access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        now=datetime(2013, 5, 24, tzinfo=UTC))
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


def test_request_is_signed_and_shaped_as_ses_documents(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    environ = {**ENV, "AWS_SESSION_TOKEN": "session-token"}
    with provider(httpserver, fake_time, environ, configuration_set="drip-events") as p:
        (result,) = p.send_messages([make_message(0)])
    assert result.provider_message_id == "ses-for-reader0@example.org"
    (req,) = served.requests
    body = req.get_json()
    assert body["Destination"] == {"ToAddresses": ["Reader 0 <reader0@example.org>"]}
    assert body["ConfigurationSetName"] == "drip-events"
    assert {"Name": "delivery", "Value": "100"} in body["EmailTags"]
    raw = parse_email(base64.b64decode(body["Content"]["Raw"]["Data"]))
    assert raw["Reply-To"] == "coach@example.com" and raw["Message-ID"] == "<msg0@example.com>"
    # The signature the fake server receives is the one its own bytes produce.
    assert req.headers["X-Amz-Security-Token"] == "session-token"
    expected = sigv4_headers(
        method="POST", url=f"http://{req.headers['Host']}/v2/email/outbound-emails", body=req.get_data(),
        headers={"Content-Type": req.headers["Content-Type"]}, region="us-east-1", service="ses",
        access_key=ENV["AWS_ACCESS_KEY_ID"], secret_key=ENV["AWS_SECRET_ACCESS_KEY"],
        now=datetime.fromtimestamp(fake_time.now, UTC), session_token="session-token")
    assert req.headers["Authorization"] == expected["Authorization"]
    assert req.headers["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/ses/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=")


def test_a_refused_sender_or_account_pauses_but_a_bad_request_fails_the_message(
        httpserver: HTTPServer, fake_time: FakeTime) -> None:
    serve(httpserver, API, [
        status(400, {"message": "Email address is not verified. The following identities failed the check "
                                "in region US-EAST-1: coach@example.com"},
               **{"x-amzn-ErrorType": "MessageRejected:http://internal.amazon.com/"}),
        status(400, {"message": "Sending paused"}, **{"x-amzn-ErrorType": "SendingPausedException"}),
        status(400, {"message": "Missing final '@domain'"}, **{"x-amzn-ErrorType": "BadRequestException"}),
    ])
    with provider(httpserver, fake_time, concurrency=1) as p:
        results = p.send_messages([make_message(i) for i in range(3)])
    assert [r.fault for r in results] == [Fault.ACCOUNT, Fault.ACCOUNT, Fault.MESSAGE]
    assert results[0].error is not None and results[0].error.startswith(
        "ses: HTTP 400: MessageRejected: Email address is not verified.")


def test_region_and_credentials_are_required() -> None:
    with pytest.raises(ProviderError, match="needs an AWS region"):
        SesProvider("ses://", environ=ENV)
    with pytest.raises(ProviderError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        SesProvider("ses://eu-west-1", environ={}).open()
    assert SesProvider("ses://eu-west-1", environ=ENV).options.endpoint == "https://email.eu-west-1.amazonaws.com"


def test_tag_names_and_values_keep_only_what_ses_allows(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    # SES v2 refuses the whole SendEmail call for a tag with "." (or "@", " "), which would
    # fail every lesson whose key or metadata carries one.
    served = serve(httpserver, API)
    message = make_message(0, metadata={"lesson": "01.intro", "kind.of": "a.b@example.org x"})
    with provider(httpserver, fake_time) as p:
        (result,) = p.send_messages([message])
    assert result.ok
    (req,) = served.requests
    assert req.get_json()["EmailTags"] == [{"Name": "lesson", "Value": "01_intro"},
                                           {"Name": "kind_of", "Value": "a_b_example_org_x"}]
