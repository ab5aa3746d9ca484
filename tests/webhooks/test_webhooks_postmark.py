"""Postmark: Basic credentials from the webhook URL; payloads shaped like Postmark's examples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from webhook_signing import NOW, POSTMARK_ENV, Parse, basic_auth, dumps

from sender.webhooks import WebhookRejected

AUTH = basic_auth(POSTMARK_ENV["POSTMARK_WEBHOOK_USER"], POSTMARK_ENV["POSTMARK_WEBHOOK_PASSWORD"])


def bounce(**overrides: object) -> dict[str, object]:
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "glute-activation",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"delivery": "42", "campaign": "glute-activation", "lesson": "2"},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "Ana.Silva@Example.com",
        "From": "coach@dripcourse.example",
        "BouncedAt": "2026-03-02T04:28:10.2735393-05:00",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Lesson 2: why your glutes switch off",
        "Content": "Return-Path:<>\r\n…",
        **overrides,
    }


DELIVERY = {
    "RecordType": "Delivery",
    "ServerID": 23,
    "MessageStream": "outbound",
    "MessageID": "00000000-0000-0000-0000-000000000000",
    "Recipient": "ben@example.org",
    "Tag": "glute-activation",
    "DeliveredAt": "2026-03-02T09:29:01.1234567Z",
    "Details": "Test delivery webhook details",
    "Metadata": {"delivery": "7", "campaign": "glute-activation", "lesson": "1"},
}

OPEN = {
    "RecordType": "Open",
    "MessageStream": "outbound",
    "FirstOpen": True,
    "Client": {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"},
    "OS": {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
    "Platform": "WebMail",
    "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5) AppleWebKit/537.36",
    "ReadSeconds": 5,
    "Geo": {"CountryISOCode": "RS", "Country": "Serbia"},
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Metadata": {"delivery": "42"},
    "ReceivedAt": "2026-03-02T09:10:00Z",
    "Tag": "glute-activation",
    "Recipient": "ana.silva@example.com",
}

CLICK = {
    "RecordType": "Click",
    "MessageStream": "outbound",
    "ClickLocation": "HTML",
    "Platform": "Desktop",
    "UserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    "OriginalLink": "https://dripcourse.example/glutes/lesson-2",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "ReceivedAt": "2026-03-02T09:12:00Z",
    "Tag": "glute-activation",
    "Recipient": "ana.silva@example.com",
    "Metadata": {"delivery": "42"},
}

SPAM = {
    "RecordType": "SpamComplaint",
    "MessageStream": "outbound",
    "ID": 42,
    "Type": "SpamComplaint",
    "TypeCode": 512,
    "Name": "Spam complaint",
    "Tag": "glute-activation",
    "MessageID": "00000000-0000-0000-0000-000000000000",
    "Metadata": {"delivery": "7"},
    "ServerID": 1234,
    "Description": "",
    "Details": "Test spam complaint details",
    "Email": "ben@example.org",
    "From": "coach@dripcourse.example",
    "BouncedAt": "2026-03-02T09:00:00Z",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": False,
    "Subject": "Lesson 1",
}

UNSUBSCRIBE = {
    "RecordType": "SubscriptionChange",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "ServerID": 123456,
    "MessageStream": "outbound",
    "ChangedAt": "2026-03-02T09:20:00Z",
    "Recipient": "ana.silva@example.com",
    "Origin": "Recipient",
    "SuppressSending": True,
    "SuppressionReason": "ManualSuppression",
    "Tag": "glute-activation",
    "Metadata": {"delivery": "42"},
}


def test_hard_bounce(parse: Parse) -> None:
    result = parse("postmark", AUTH, dumps(bounce()), env=POSTMARK_ENV)
    [event] = result.events
    assert event.provider == "postmark"
    assert event.type == "bounced"
    assert event.permanent is True
    assert event.email == "ana.silva@example.com"
    assert event.delivery_id == 42
    assert event.provider_message_id == "883953f4-6105-42a2-a16a-77a8eac79483"
    assert event.at == datetime(2026, 3, 2, 9, 28, 10, 273539, tzinfo=UTC)
    assert event.external_id == "postmark:Bounce:4323372036854775807"
    assert event.data["bounce_type"] == "HardBounce"
    assert "5.1.1" in event.data["details"]


def test_soft_bounce_is_not_permanent(parse: Parse) -> None:
    payload = bounce(Type="SoftBounce", TypeCode=4096, Inactive=False, ID=99)
    [event] = parse("postmark", AUTH, dumps(payload), env=POSTMARK_ENV).events
    assert (event.type, event.permanent) == ("bounced", False)


def test_soft_bounce_that_deactivated_the_address_is_permanent(parse: Parse) -> None:
    payload = bounce(Type="SoftBounce", TypeCode=4096, Inactive=True, ID=100)
    [event] = parse("postmark", AUTH, dumps(payload), env=POSTMARK_ENV).events
    assert (event.type, event.permanent) == ("bounced", True)


def test_transient_is_deferred_and_autoresponder_is_ignored(parse: Parse) -> None:
    transient = bounce(Type="Transient", Inactive=False)
    [event] = parse("postmark", AUTH, dumps(transient), env=POSTMARK_ENV).events
    assert (event.type, event.permanent) == ("deferred", False)
    assert parse("postmark", AUTH, dumps(bounce(Type="AutoResponder")), env=POSTMARK_ENV).events == []


@pytest.mark.parametrize("kind", ["Unsubscribe", "HardBounce", "SpamComplaint"])
def test_bounce_without_email_is_linked_by_message_id(parse: Parse, kind: str) -> None:
    payload = {k: v for k, v in bounce(Type=kind, Inactive=False).items() if k not in ("Email", "Metadata")}
    [event] = parse("postmark", AUTH, dumps(payload), env=POSTMARK_ENV).events
    assert (event.email, event.delivery_id) == (None, None)
    assert event.provider_message_id == "883953f4-6105-42a2-a16a-77a8eac79483"
    assert event.type == {"Unsubscribe": "unsubscribed", "HardBounce": "bounced",
                          "SpamComplaint": "complained"}[kind]
    assert event.external_id == "postmark:Bounce:4323372036854775807"


@pytest.mark.parametrize(("payload", "kind", "delivery"), [
    (DELIVERY, "delivered", 7), (OPEN, "opened", 42), (CLICK, "clicked", 42), (SPAM, "complained", 7),
    (UNSUBSCRIBE, "unsubscribed", 42),
])
def test_record_types(parse: Parse, payload: dict[str, object], kind: str, delivery: int) -> None:
    [event] = parse("postmark", AUTH, dumps(payload), env=POSTMARK_ENV).events
    assert (event.type, event.delivery_id, event.permanent) == (kind, delivery, False)
    assert event.at.tzinfo is UTC


def test_click_keeps_url_and_user_agent(parse: Parse) -> None:
    [event] = parse("postmark", AUTH, dumps(CLICK), env=POSTMARK_ENV).events
    assert event.data["url"] == "https://dripcourse.example/glutes/lesson-2"
    assert event.data["user_agent"].startswith("Mozilla/5.0")


def test_reactivation_produces_no_event(parse: Parse) -> None:
    payload = {**UNSUBSCRIBE, "SuppressSending": False, "SuppressionReason": None}
    assert parse("postmark", AUTH, dumps(payload), env=POSTMARK_ENV).events == []


def test_header_names_are_case_insensitive(parse: Parse) -> None:
    headers = {"AUTHORIZATION": AUTH["Authorization"]}
    assert parse("postmark", headers, dumps(DELIVERY), env=POSTMARK_ENV).events


@pytest.mark.parametrize("headers", [
    {},
    basic_auth("drip-hooks", "wrong"),
    basic_auth("someone", POSTMARK_ENV["POSTMARK_WEBHOOK_PASSWORD"]),
    {"Authorization": "Bearer drip-hooks:s3cret"},
    {"Authorization": "Basic !!!not-base64"},
])
def test_wrong_credentials_are_refused(parse: Parse, headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse("postmark", headers, dumps(DELIVERY), env=POSTMARK_ENV)
    assert caught.value.status == 401


@pytest.mark.parametrize("env", [{}, {"POSTMARK_WEBHOOK_USER": "drip-hooks"},
                                 {"POSTMARK_WEBHOOK_USER": "", "POSTMARK_WEBHOOK_PASSWORD": ""}])
def test_no_secret_configured_is_refused(parse: Parse, env: dict[str, str]) -> None:
    # Even a request carrying credentials is refused: nothing to compare them with.
    with pytest.raises(WebhookRejected) as caught:
        parse("postmark", basic_auth("", ""), dumps(DELIVERY), env=env)
    assert caught.value.status == 401
    assert "POSTMARK_WEBHOOK_PASSWORD" in caught.value.reason


def test_malformed_json_is_400(parse: Parse) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse("postmark", AUTH, b'{"RecordType": "Delivery",', env=POSTMARK_ENV)
    assert caught.value.status == 400


@pytest.mark.parametrize(("payload", "field_name"), [
    ({k: v for k, v in DELIVERY.items() if k != "Recipient"}, "Recipient"),
    ({k: v for k, v in DELIVERY.items() if k != "DeliveredAt"}, "DeliveredAt"),
    ({k: v for k, v in DELIVERY.items() if k != "RecordType"}, "RecordType"),
    (bounce(BouncedAt="yesterday"), "BouncedAt"),
    # no address and nothing to link it by (no MessageID, no delivery in Metadata)
    ({k: v for k, v in bounce(Type="Unsubscribe").items() if k not in ("Email", "MessageID", "Metadata")},
     "Email"),
    (bounce(Email="not an address"), "Email"),
])
def test_missing_field_is_400_naming_it(parse: Parse, payload: dict[str, object], field_name: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse("postmark", AUTH, dumps(payload), env=POSTMARK_ENV)
    assert caught.value.status == 400
    assert field_name in caught.value.reason


def test_replayed_request_has_the_same_external_id(parse: Parse) -> None:
    # Postmark signs nothing, so a replay is not refused here: the store drops the duplicate.
    first = parse("postmark", AUTH, dumps(DELIVERY), env=POSTMARK_ENV, now=NOW)
    again = parse("postmark", AUTH, dumps(DELIVERY), env=POSTMARK_ENV, now=NOW)
    assert first.events[0].external_id == again.events[0].external_id
    other = parse("postmark", AUTH, dumps({**DELIVERY, "Recipient": "cy@example.net"}), env=POSTMARK_ENV)
    assert other.events[0].external_id != first.events[0].external_id
