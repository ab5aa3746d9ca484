"""SendGrid Signed Event Webhook: a real P-256 key pair, events shaped like SendGrid's examples."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from webhook_signing import NOW, TS, Parse, SendGridKeys, dumps

from sender.webhooks import WebhookRejected

MESSAGE_ID = "W86EgYT6SQKk0lRflfLRsA"  # what the send API returned in X-Message-Id


def event(kind: str, **fields: object) -> dict[str, object]:
    return {
        "email": "Ana.Silva@Example.com",
        "timestamp": TS - 60,
        "smtp-id": "<W86EgYT6SQKk0lRflfLRsA@geopod-ismtpd-4-0>",
        "event": kind,
        "category": ["glute-activation"],
        "sg_event_id": f"sg_event_id_{kind}",
        "sg_message_id": f"{MESSAGE_ID}.filterdrecv-p3las1-5bf99c48d-4v69b-19-5F0D9A5F-26.0",
        "delivery": "42",
        "campaign": "glute-activation",
        "lesson": "2",
        **fields,
    }


BATCH = [
    event("processed", pool={"name": "new_MY_test", "id": 210}),
    event("deferred", response="400 try again later", attempt="5"),
    event("delivered", response="250 OK"),
    event("open", useragent="Mozilla/4.0 (compatible; MSIE 6.1; Windows XP)", ip="255.255.255.255"),
    event("click", useragent="Mozilla/4.0", ip="255.255.255.255", url="http://www.sendgrid.com/"),
    event("bounce", reason="500 unknown recipient", status="5.0.0", type="bounce",
          bounce_classification="Invalid Address"),
    event("bounce", reason="550 blocked by recipient policy", status="5.7.1", type="blocked",
          sg_event_id="sg_event_id_blocked"),
    event("dropped", reason="Bounced Address", status="5.0.0"),
    event("spamreport"),
    event("unsubscribe"),
    event("group_unsubscribe", asm_group_id=10),
    event("group_resubscribe", asm_group_id=10),
]


def test_signed_batch_becomes_events(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    body = dumps(BATCH)
    events = parse("sendgrid", sendgrid_keys.headers(body), body, env=sendgrid_keys.env()).events
    assert [(e.type, e.permanent) for e in events] == [
        ("deferred", False), ("delivered", False), ("opened", False), ("clicked", False),
        ("bounced", True), ("bounced", False), ("failed", True), ("complained", False),
        ("unsubscribed", False), ("unsubscribed", False),
    ]
    for e in events:
        assert e.provider == "sendgrid"
        assert e.email == "ana.silva@example.com"
        assert e.delivery_id == 42
        assert e.provider_message_id == MESSAGE_ID  # the X-Message-Id prefix, not the suffix
        assert e.at == datetime.fromtimestamp(TS - 60, UTC)
    assert events[0].external_id == "sendgrid:sg_event_id_deferred"
    assert events[3].data["url"] == "http://www.sendgrid.com/"
    assert events[4].data["reason"] == "500 unknown recipient"
    assert len({e.external_id for e in events}) == len(events)


def test_event_without_our_metadata_has_no_delivery_id(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    payload = [{k: v for k, v in event("delivered").items() if k not in ("delivery", "sg_event_id")}]
    body = dumps(payload)
    [e] = parse("sendgrid", sendgrid_keys.headers(body), body, env=sendgrid_keys.env()).events
    assert e.delivery_id is None
    assert e.external_id.startswith("sha256:")  # derived, stable


def test_pem_public_key_is_accepted(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    der = base64.b64decode(sendgrid_keys.public_b64)
    pem = serialization.load_der_public_key(der).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    body = dumps([event("delivered")])
    result = parse("sendgrid", sendgrid_keys.headers(body), body, env={"SENDGRID_WEBHOOK_PUBLIC_KEY": pem})
    assert len(result.events) == 1


def test_tampered_body_is_refused(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    body = dumps([event("delivered")])
    headers = sendgrid_keys.headers(body)
    tampered = body.replace(b"ana.silva", b"eve.silva").replace(b"Ana.Silva", b"Eve.Silva")
    with pytest.raises(WebhookRejected) as caught:
        parse("sendgrid", headers, tampered, env=sendgrid_keys.env())
    assert caught.value.status == 401


def test_tampered_timestamp_is_refused(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    body = dumps([event("delivered")])
    headers = {**sendgrid_keys.headers(body), "X-Twilio-Email-Event-Webhook-Timestamp": str(TS + 1)}
    with pytest.raises(WebhookRejected) as caught:
        parse("sendgrid", headers, body, env=sendgrid_keys.env())
    assert caught.value.status == 401


def test_wrong_key_is_refused(parse: Parse, sendgrid_keys: SendGridKeys,
                              other_sendgrid_keys: SendGridKeys) -> None:
    body = dumps([event("delivered")])
    with pytest.raises(WebhookRejected) as caught:
        parse("sendgrid", other_sendgrid_keys.headers(body), body, env=sendgrid_keys.env())
    assert caught.value.status == 401


@pytest.mark.parametrize("skew", [timedelta(minutes=-5, seconds=-1), timedelta(minutes=5, seconds=1)])
def test_expired_or_future_timestamp_is_refused(parse: Parse, sendgrid_keys: SendGridKeys,
                                                skew: timedelta) -> None:
    body = dumps([event("delivered")])
    headers = sendgrid_keys.headers(body, timestamp=int((NOW + skew).timestamp()))
    with pytest.raises(WebhookRejected) as caught:
        parse("sendgrid", headers, body, env=sendgrid_keys.env())
    assert caught.value.status == 401


def test_timestamp_inside_the_window_is_accepted(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    body = dumps([event("delivered")])
    headers = sendgrid_keys.headers(body, timestamp=TS - 299)
    assert parse("sendgrid", headers, body, env=sendgrid_keys.env()).events


def test_replayed_request_is_refused(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    body = dumps([event("delivered")])
    headers = sendgrid_keys.headers(body)
    parse("sendgrid", headers, body, env=sendgrid_keys.env())
    with pytest.raises(WebhookRejected) as caught:
        parse("sendgrid", headers, body, env=sendgrid_keys.env(), now=NOW + timedelta(seconds=30))
    assert caught.value.status == 401
    assert "replay" in caught.value.reason


def test_released_request_is_accepted_again(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    body = dumps([event("delivered")])
    headers = sendgrid_keys.headers(body)
    first = parse("sendgrid", headers, body, env=sendgrid_keys.env())
    first.release()  # the caller could not store the events and will answer 5xx
    again = parse("sendgrid", headers, body, env=sendgrid_keys.env())
    assert again.events == first.events


def test_valid_signature_over_invalid_json_is_400(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    body = b'[{"event": "delivered", '
    with pytest.raises(WebhookRejected) as caught:
        parse("sendgrid", sendgrid_keys.headers(body), body, env=sendgrid_keys.env())
    assert caught.value.status == 400
    assert "JSON" in caught.value.reason


@pytest.mark.parametrize(("payload", "field_name"), [
    ([{k: v for k, v in event("delivered").items() if k != "email"}], "[0].email"),
    ([event("open"), {k: v for k, v in event("click").items() if k != "timestamp"}], "[1].timestamp"),
    ([{k: v for k, v in event("open").items() if k != "event"}], "[0].event"),
    ({"event": "delivered"}, "array"),
])
def test_missing_field_is_400_naming_it(parse: Parse, sendgrid_keys: SendGridKeys,
                                        payload: object, field_name: str) -> None:
    body = dumps(payload)
    with pytest.raises(WebhookRejected) as caught:
        parse("sendgrid", sendgrid_keys.headers(body), body, env=sendgrid_keys.env())
    assert caught.value.status == 400
    assert field_name in caught.value.reason


def test_malformed_request_does_not_burn_its_nonce(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    body = dumps([{"event": "delivered"}])
    headers = sendgrid_keys.headers(body)
    for _ in range(2):  # still a 400, not a "replay" 401
        with pytest.raises(WebhookRejected) as caught:
            parse("sendgrid", headers, body, env=sendgrid_keys.env())
        assert caught.value.status == 400


@pytest.mark.parametrize("env", [{}, {"SENDGRID_WEBHOOK_PUBLIC_KEY": ""},
                                 {"SENDGRID_WEBHOOK_PUBLIC_KEY": "not a key"}])
def test_no_key_configured_is_refused(parse: Parse, sendgrid_keys: SendGridKeys, env: dict[str, str]) -> None:
    body = dumps([event("delivered")])
    with pytest.raises(WebhookRejected) as caught:
        parse("sendgrid", sendgrid_keys.headers(body), body, env=env)
    assert caught.value.status == 401


def test_missing_signature_headers_are_refused(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    body = dumps([event("delivered")])
    with pytest.raises(WebhookRejected) as caught:
        parse("sendgrid", {"Content-Type": "application/json"}, body, env=sendgrid_keys.env())
    assert caught.value.status == 401


def test_lowercase_header_names_work(parse: Parse, sendgrid_keys: SendGridKeys) -> None:
    body = dumps([event("delivered")])
    headers = {k.lower(): v for k, v in sendgrid_keys.headers(body).items()}
    assert parse("sendgrid", headers, body, env=sendgrid_keys.env()).events


def test_sendgrid_documented_example_verifies(parse: Parse) -> None:
    # The key, signature and payload from SendGrid's own event-webhook helper tests: checks the
    # signed content (timestamp + raw body) against SendGrid's numbers, not our signer. The
    # payload is one object, not an array, so it then fails as malformed: past verification.
    key = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWj"
           "cMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==")
    signature = ("MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIg"
                 "JTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=")
    env = {"SENDGRID_WEBHOOK_PUBLIC_KEY": key}
    headers = {"X-Twilio-Email-Event-Webhook-Signature": signature,
               "X-Twilio-Email-Event-Webhook-Timestamp": "1588788367"}
    body = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'
    with pytest.raises(WebhookRejected) as caught:
        parse("sendgrid", headers, body, env=env, now=datetime.fromtimestamp(1588788367, UTC))
    assert caught.value.status == 400
    with pytest.raises(WebhookRejected) as caught:  # one byte changed: no longer verifies
        parse("sendgrid", headers, body.replace(b"test_event", b"test_evenT"), env=env,
              now=datetime.fromtimestamp(1588788367, UTC))
    assert caught.value.status == 401
