"""Mailgun: HMAC-SHA256 of timestamp+token; payloads shaped like Mailgun's webhook examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from webhook_signing import MAILGUN_ENV, NOW, TS, Parse, dumps, mailgun_signature

from sender.webhooks import WebhookRejected


def event_data(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": "CPgfbmQMTCKtHW6uIWtuVe",
        "timestamp": TS - 30.123,
        "log-level": "info",
        "event": kind,
        "recipient": "Ana.Silva@Example.com",
        "recipient-domain": "example.com",
        "tags": ["glute-activation"],
        "envelope": {"sender": "bounce@mg.dripcourse.example", "transport": "smtp",
                     "targets": "ana.silva@example.com"},
        "message": {
            "headers": {
                "to": "Ana Silva <ana.silva@example.com>",
                "message-id": "20260302093000.1.ABCDEF0123456789@mg.dripcourse.example",
                "from": "Coach <coach@dripcourse.example>",
                "subject": "Lesson 2: why your glutes switch off",
            },
            "attachments": [],
            "size": 111,
        },
        "user-variables": {"delivery": "42", "campaign": "glute-activation", "lesson": "2"},
        "flags": {"is-routed": False, "is-authenticated": True, "is-system-test": False,
                  "is-test-mode": False},
        **fields,
    }


def body_for(data: dict[str, Any], **signature: Any) -> bytes:
    return dumps({"signature": mailgun_signature(**signature), "event-data": data})


def test_permanent_failure_is_a_hard_bounce(parse: Parse) -> None:
    data = event_data("failed", severity="permanent", reason="bounce",
                      **{"delivery-status": {"code": 550, "message": "5.1.1 No such user",
                                             "description": "", "attempt-no": 1}})
    [e] = parse("mailgun", {"Content-Type": "application/json"}, body_for(data), env=MAILGUN_ENV).events
    assert (e.provider, e.type, e.permanent) == ("mailgun", "bounced", True)
    assert e.email == "ana.silva@example.com"
    assert e.delivery_id == 42
    # The send API returns the id in angle brackets; the webhook omits them.
    assert e.provider_message_id == "<20260302093000.1.ABCDEF0123456789@mg.dripcourse.example>"
    assert e.at == datetime.fromtimestamp(TS - 30.123, UTC)
    assert e.data["code"] == 550
    assert e.external_id.startswith("mailgun:CPgfbmQMTCKtHW6uIWtuVe:")


def test_temporary_failure_is_deferred(parse: Parse) -> None:
    data = event_data("failed", severity="temporary", reason="generic")
    [e] = parse("mailgun", {}, body_for(data), env=MAILGUN_ENV).events
    assert (e.type, e.permanent) == ("deferred", False)


@pytest.mark.parametrize(("kind", "expected"), [
    ("delivered", "delivered"), ("opened", "opened"), ("clicked", "clicked"), ("complained", "complained"),
    ("unsubscribed", "unsubscribed"), ("rejected", "failed"),
])
def test_event_types(parse: Parse, kind: str, expected: str) -> None:
    data = event_data(kind, url="https://dripcourse.example/lesson-2",
                      **{"client-info": {"user-agent": "Mozilla/5.0", "client-type": "browser"}})
    [e] = parse("mailgun", {}, body_for(data, token=f"token-{kind}".ljust(50, "x")), env=MAILGUN_ENV).events
    assert (e.type, e.permanent, e.delivery_id) == (expected, False, 42)


def test_rejected_without_recipient_is_linked_by_message_id_and_delivery(parse: Parse) -> None:
    data = {k: v for k, v in event_data("rejected", reject={"reason": "Sandbox subdomains are for test "
                                                                      "purposes only", "description": ""})
            .items() if k != "recipient"}
    [e] = parse("mailgun", {}, body_for(data), env=MAILGUN_ENV).events
    assert (e.type, e.email, e.delivery_id, e.permanent) == ("failed", None, 42, False)
    assert e.provider_message_id == "<20260302093000.1.ABCDEF0123456789@mg.dripcourse.example>"
    assert e.data["reason"].startswith("Sandbox subdomains")


def test_accepted_is_not_an_outcome(parse: Parse) -> None:
    assert parse("mailgun", {}, body_for(event_data("accepted")), env=MAILGUN_ENV).events == []


def test_tampered_signed_fields_are_refused(parse: Parse) -> None:
    signature = mailgun_signature()
    for field_name, value in (("timestamp", str(TS - 1)), ("token", "f" * 50), ("signature", "0" * 64)):
        body = dumps({"signature": {**signature, field_name: value}, "event-data": event_data("delivered")})
        with pytest.raises(WebhookRejected) as caught:
            parse("mailgun", {}, body, env=MAILGUN_ENV)
        assert caught.value.status == 401, field_name


def test_wrong_key_is_refused(parse: Parse) -> None:
    body = body_for(event_data("delivered"), key="key-someone-elses")
    with pytest.raises(WebhookRejected) as caught:
        parse("mailgun", {}, body, env=MAILGUN_ENV)
    assert caught.value.status == 401


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_expired_or_future_timestamp_is_refused(parse: Parse, skew: timedelta) -> None:
    body = body_for(event_data("delivered"), timestamp=int((NOW + skew).timestamp()))
    with pytest.raises(WebhookRejected) as caught:
        parse("mailgun", {}, body, env=MAILGUN_ENV)
    assert caught.value.status == 401


def test_replayed_token_is_refused(parse: Parse) -> None:
    body = body_for(event_data("delivered"))
    parse("mailgun", {}, body, env=MAILGUN_ENV)
    with pytest.raises(WebhookRejected) as caught:
        parse("mailgun", {}, body, env=MAILGUN_ENV, now=NOW + timedelta(seconds=10))
    assert caught.value.status == 401
    assert "replay" in caught.value.reason


def test_missing_signature_block_is_refused(parse: Parse) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse("mailgun", {}, dumps({"event-data": event_data("delivered")}), env=MAILGUN_ENV)
    assert caught.value.status == 401


def test_invalid_json_is_400(parse: Parse) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse("mailgun", {}, b"signature=abc&token=def", env=MAILGUN_ENV)
    assert caught.value.status == 400


@pytest.mark.parametrize(("data", "field_name"), [
    (None, "event-data"),
    ({k: v for k, v in event_data("delivered").items() if k != "recipient"}, "event-data.recipient"),
    ({k: v for k, v in event_data("delivered").items() if k != "timestamp"}, "event-data.timestamp"),
    (event_data("failed"), "event-data.severity"),
    # a rejected event may lack the recipient, but then something must link it to a delivery
    ({k: v for k, v in event_data("rejected", message={"headers": {}}).items()
      if k not in ("recipient", "user-variables")}, "event-data.recipient"),
])
def test_valid_signature_missing_field_is_400_naming_it(parse: Parse, data: Any, field_name: str) -> None:
    payload: dict[str, Any] = {"signature": mailgun_signature()}
    if data is not None:
        payload["event-data"] = data
    with pytest.raises(WebhookRejected) as caught:
        parse("mailgun", {}, dumps(payload), env=MAILGUN_ENV)
    assert caught.value.status == 400
    assert repr(field_name) in caught.value.reason


@pytest.mark.parametrize("env", [{}, {"MAILGUN_WEBHOOK_SIGNING_KEY": "  "}])
def test_no_key_configured_is_refused(parse: Parse, env: dict[str, str]) -> None:
    # Signed with the empty key: still refused, an unset secret never verifies anything.
    body = body_for(event_data("delivered"), key="")
    with pytest.raises(WebhookRejected) as caught:
        parse("mailgun", {}, body, env=env)
    assert caught.value.status == 401
    assert "MAILGUN_WEBHOOK_SIGNING_KEY" in caught.value.reason
