"""Mailgun: POST /v3/DOMAIN/messages, basic auth, h:/v:/o:tag fields, recipient-variables."""

from __future__ import annotations

import base64
import json

import pytest
from pytest_httpserver import HTTPServer

from sender.outcomes import Fault
from sender.providers.base import ProviderError
from sender.providers.mailgun import MailgunProvider
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

API = FAKE_APIS["mailgun"]


def provider(server: HTTPServer, fake_time: FakeTime) -> MailgunProvider:
    return MailgunProvider(endpoint_url(API, server, concurrency=1), environ=ENV, clock=fake_time.source)


def test_request_is_shaped_as_mailgun_documents(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    with provider(httpserver, fake_time) as p:
        (result,) = p.send_messages([make_message(0)])
    assert result.provider_message_id == "<mg-1@mg.example.com>"
    (req,) = served.requests
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"api:mg-key").decode()
    assert req.mimetype == "multipart/form-data"
    form = req.form
    assert form.getlist("to") == ["Reader 0 <reader0@example.org>"]
    assert form["from"] == "Glute Course <course@example.com>"
    assert form["h:Reply-To"] == "coach@example.com"
    assert form["h:Message-ID"] == "<msg0@example.com>"
    assert form["h:List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (form["v:campaign"], form["v:lesson"], form["v:delivery"]) == ("glutes", "01-start", "100")
    assert form["o:tag"] == "glutes"
    assert "recipient-variables" not in form


def test_identical_content_is_batched_with_recipient_variables(httpserver: HTTPServer,
                                                               fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    with provider(httpserver, fake_time) as p:
        results = p.send_messages([same_content(i) for i in range(3)])
    assert all(r.ok for r in results)
    (req,) = served.requests
    form = req.form
    assert len(form.getlist("to")) == 3
    assert form["h:List-Unsubscribe"] == "%recipient.h:List-Unsubscribe%"
    assert form["v:delivery"] == "%recipient.v:delivery%"
    assert form["v:campaign"] == "glutes"  # shared values go plain
    variables = json.loads(form["recipient-variables"])
    assert variables["reader2@example.org"]["v:delivery"] == "102"
    assert variables["reader2@example.org"]["h:List-Unsubscribe"].startswith("<https://ex.com/u/2>")


def test_batches_hold_at_most_1000_recipients(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    served = serve(httpserver, API)
    with provider(httpserver, fake_time) as p:
        p.send_messages([same_content(i) for i in range(1001)])
    assert [len(r.form.getlist("to")) for r in served.requests] == [1000, 1]


def test_the_eu_region_uses_the_eu_host() -> None:
    assert MailgunProvider("mailgun://mg.example.com?region=eu", environ=ENV).options.endpoint \
        == "https://api.eu.mailgun.net"
    assert MailgunProvider("mailgun://mg.example.com", environ=ENV).options.endpoint == "https://api.mailgun.net"
    with pytest.raises(ProviderError, match="region 'asia'"):
        MailgunProvider("mailgun://mg.example.com?region=asia", environ=ENV)


def test_a_domain_and_a_key_are_needed() -> None:
    with pytest.raises(ProviderError, match="needs the sending domain"):
        MailgunProvider("mailgun://", environ=ENV).open()
    with pytest.raises(ProviderError, match="MAILGUN_API_KEY"):
        MailgunProvider("mailgun://mg.example.com", environ={}).open()


def test_refusals_name_whose_fault_they_are(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    serve(httpserver, API, [
        status(400, {"message": "'to' parameter is not a valid address. please check documentation"}),
        status(400, {"message": "'from' parameter is not a valid address. please check documentation"}),
        status(404, {"message": "Domain not found: mg.example.com"}),
        status(400, {"message": "Too many tags"}),
    ])
    with provider(httpserver, fake_time) as p:
        results = [p.send_messages([make_message(i)])[0] for i in range(4)]
    assert [r.fault for r in results] == [Fault.RECIPIENT, Fault.ACCOUNT, Fault.ACCOUNT, Fault.MESSAGE]
