"""Resend (Svix signatures); payloads shaped like Resend's documented examples."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from webhook_signing import NOW, RESEND_ENV, TS, Parse, dumps, svix_headers

from sender.webhooks import WebhookRejected

EMAIL_ID = "56761188-7520-42d8-8898-ff6fc54ce618"


def payload(kind: str, **data: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "created_at": "2026-03-02T09:29:12.126Z",
        "data": {
            "created_at": "2026-03-02T09:20:11.894719+00:00",
            "email_id": EMAIL_ID,
            "from": "Coach <coach@dripcourse.example>",
            "to": ["Ana.Silva@Example.com"],
            "subject": "Lesson 2: why your glutes switch off",
            "tags": {"delivery": "42", "campaign": "glute-activation", "lesson": "2"},
            **data,
        },
    }


BOUNCE = {
    "message": "The recipient's email provider sent a hard bounce message.",
    "subType": "General",
    "type": "Permanent",
}


def test_bounce(parse: Parse) -> None:
    body = dumps(payload("email.bounced", bounce=BOUNCE))
    [e] = parse("resend", svix_headers(body), body, env=RESEND_ENV).events
    assert (e.provider, e.type, e.permanent) == ("resend", "bounced", True)
    assert e.email == "ana.silva@example.com"
    assert e.delivery_id == 42
    assert e.provider_message_id == EMAIL_ID
    assert e.at == datetime(2026, 3, 2, 9, 29, 12, 126000, tzinfo=UTC)
    assert e.external_id == "resend:msg_2Lh9KRb0pzN4LePd3XiA0EE0lAm"
    assert e.data["reason"].startswith("The recipient's email provider")


def test_transient_bounce_is_not_permanent(parse: Parse) -> None:
    body = dumps(payload("email.bounced", bounce={**BOUNCE, "type": "Transient", "subType": "MailboxFull"}))
    [e] = parse("resend", svix_headers(body), body, env=RESEND_ENV).events
    assert (e.type, e.permanent) == ("bounced", False)


@pytest.mark.parametrize(("kind", "expected"), [
    ("email.delivered", "delivered"), ("email.opened", "opened"), ("email.clicked", "clicked"),
    ("email.complained", "complained"), ("email.delivery_delayed", "deferred"), ("email.failed", "failed"),
])
def test_event_types(parse: Parse, kind: str, expected: str) -> None:
    click = {"ipAddress": "122.115.53.11", "link": "https://dripcourse.example/lesson-2",
             "timestamp": "2026-03-02T09:29:00.163Z", "userAgent": "Mozilla/5.0 (Macintosh)"}
    body = dumps(payload(kind, click=click) if kind == "email.clicked" else payload(kind))
    [e] = parse("resend", svix_headers(body, msg_id=f"msg_{kind}"), body, env=RESEND_ENV).events
    assert (e.type, e.permanent, e.delivery_id) == (expected, False, 42)
    if kind == "email.clicked":
        assert e.data["url"] == "https://dripcourse.example/lesson-2"


def test_tags_as_a_list_of_name_value_pairs(parse: Parse) -> None:
    body = dumps(payload("email.delivered", tags=[{"name": "delivery", "value": "7"}]))
    [e] = parse("resend", svix_headers(body), body, env=RESEND_ENV).events
    assert e.delivery_id == 7


def test_email_sent_is_not_an_outcome(parse: Parse) -> None:
    body = dumps(payload("email.sent"))
    assert parse("resend", svix_headers(body), body, env=RESEND_ENV).events == []


def test_any_matching_signature_in_the_list_is_enough(parse: Parse) -> None:
    body = dumps(payload("email.delivered"))
    headers = svix_headers(body)
    old = base64.b64encode(b"\x00" * 32).decode()
    headers["svix-signature"] = f"v1,{old} {headers['svix-signature']}"
    assert parse("resend", headers, body, env=RESEND_ENV).events


def test_tampered_body_is_refused(parse: Parse) -> None:
    body = dumps(payload("email.delivered"))
    headers = svix_headers(body)
    with pytest.raises(WebhookRejected) as caught:
        parse("resend", headers, body.replace(b'"42"', b'"43"'), env=RESEND_ENV)
    assert caught.value.status == 401


def test_wrong_secret_is_refused(parse: Parse) -> None:
    body = dumps(payload("email.delivered"))
    other = "whsec_" + base64.b64encode(b"someone-else-entirely-32-bytes!!").decode()
    with pytest.raises(WebhookRejected) as caught:
        parse("resend", svix_headers(body, secret=other), body, env=RESEND_ENV)
    assert caught.value.status == 401


@pytest.mark.parametrize("skew", [timedelta(minutes=-5, seconds=-1), timedelta(minutes=5, seconds=1)])
def test_expired_or_future_timestamp_is_refused(parse: Parse, skew: timedelta) -> None:
    body = dumps(payload("email.delivered"))
    headers = svix_headers(body, timestamp=int((NOW + skew).timestamp()))
    with pytest.raises(WebhookRejected) as caught:
        parse("resend", headers, body, env=RESEND_ENV)
    assert caught.value.status == 401


def test_replayed_request_is_refused_but_a_svix_retry_is_not(parse: Parse) -> None:
    body = dumps(payload("email.delivered"))
    headers = svix_headers(body)
    first = parse("resend", headers, body, env=RESEND_ENV)
    with pytest.raises(WebhookRejected) as caught:
        parse("resend", headers, body, env=RESEND_ENV, now=NOW + timedelta(seconds=5))
    assert caught.value.status == 401
    # Svix re-signs a retry with a fresh timestamp and the same id: accepted, same external_id.
    retry = parse("resend", svix_headers(body, timestamp=TS + 60), body, env=RESEND_ENV,
                  now=NOW + timedelta(seconds=60))
    assert retry.events[0].external_id == first.events[0].external_id


def test_valid_signature_over_invalid_json_is_400(parse: Parse) -> None:
    body = b'{"type": "email.delivered", "data": '
    with pytest.raises(WebhookRejected) as caught:
        parse("resend", svix_headers(body), body, env=RESEND_ENV)
    assert caught.value.status == 400


@pytest.mark.parametrize(("body_payload", "field_name"), [
    ({"created_at": "2026-03-02T09:29:12.126Z", "data": {}}, "type"),
    ({"type": "email.delivered", "created_at": "2026-03-02T09:29:12.126Z"}, "data"),
    (payload("email.delivered", to=[]), "data.to"),
    ({k: v for k, v in payload("email.delivered").items() if k != "created_at"}, "created_at"),
])
def test_missing_field_is_400_naming_it(parse: Parse, body_payload: dict[str, Any], field_name: str) -> None:
    body = dumps(body_payload)
    with pytest.raises(WebhookRejected) as caught:
        parse("resend", svix_headers(body), body, env=RESEND_ENV)
    assert caught.value.status == 400
    assert repr(field_name) in caught.value.reason


@pytest.mark.parametrize("env", [{}, {"RESEND_WEBHOOK_SECRET": ""}, {"RESEND_WEBHOOK_SECRET": "whsec_%%%"}])
def test_no_secret_configured_is_refused(parse: Parse, env: dict[str, str]) -> None:
    body = dumps(payload("email.delivered"))
    with pytest.raises(WebhookRejected) as caught:
        parse("resend", svix_headers(body), body, env=env)
    assert caught.value.status == 401


def test_missing_svix_headers_are_refused(parse: Parse) -> None:
    body = dumps(payload("email.delivered"))
    headers = svix_headers(body)
    del headers["svix-id"]
    with pytest.raises(WebhookRejected) as caught:
        parse("resend", headers, body, env=RESEND_ENV)
    assert caught.value.status == 401


def test_svix_documented_example_verifies(parse: Parse) -> None:
    # The example from Svix's verification docs: checks our signed-content format and secret
    # decoding against Svix's own numbers, not against our signer. It then fails as malformed,
    # since {"test": ...} is not a Resend event: proof that it got past verification.
    headers = {"svix-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "svix-timestamp": "1614265330",
               "svix-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    env = {"RESEND_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    then = datetime.fromtimestamp(1614265330, UTC)
    with pytest.raises(WebhookRejected) as caught:
        parse("resend", headers, b'{"test": 2432232314}', env=env, now=then)
    assert (caught.value.status, caught.value.reason) == (400, "missing field 'type'")
