"""SES through SNS: a real RSA key and self-signed certificate, served by an injected fetcher;
SES events shaped like the examples in the SES developer guide."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from webhook_signing import CERT_URL, NOW, SES_ENV, SNS_MESSAGE_ID, TOPIC_ARN, Parse, SnsSigner, dumps

from sender.webhooks import WebhookRejected
from sender.webhooks.ses import CachedCertificateFetcher, confirm_subscription, is_sns_url

SES_MESSAGE_ID = "0102018e0b3c1d2e-4f5a6b7c-8d9e-4f01-a2b3-c4d5e6f70819-000000"
SNS_HEADERS = {"x-amz-sns-message-type": "Notification", "Content-Type": "text/plain; charset=UTF-8"}


def mail(**overrides: Any) -> dict[str, Any]:
    return {
        "timestamp": "2026-03-02T09:28:02.012Z",
        "source": "Coach <coach@dripcourse.example>",
        "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/dripcourse.example",
        "sendingAccountId": "123456789012",
        "messageId": SES_MESSAGE_ID,
        "destination": ["Ana.Silva@Example.com"],
        "headersTruncated": False,
        "commonHeaders": {"from": ["Coach <coach@dripcourse.example>"], "to": ["ana.silva@example.com"],
                          "messageId": SES_MESSAGE_ID, "subject": "Lesson 2: why your glutes switch off"},
        "tags": {"ses:configuration-set": ["dripcourse"], "ses:source-ip": ["192.0.2.0"],
                 "delivery": ["42"], "campaign": ["glute-activation"], "lesson": ["2"]},
        **overrides,
    }


def bounce(bounce_type: str = "Permanent") -> dict[str, Any]:
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "Ana.Silva@Example.com", "action": "failed",
                                   "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": "2026-03-02T09:29:02.669Z",
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "reportingMTA": "dsn; mta.example.com",
        },
        "mail": mail(),
    }


OTHER_EVENTS: list[tuple[dict[str, Any], str]] = [
    ({"eventType": "Delivery", "mail": mail(),
      "delivery": {"timestamp": "2026-03-02T09:28:03.100Z", "processingTimeMillis": 546,
                   "recipients": ["ana.silva@example.com"], "smtpResponse": "250 2.6.0 Message received",
                   "reportingMTA": "a8-70.smtp-out.amazonses.com"}}, "delivered"),
    ({"eventType": "Complaint", "mail": mail(),
      "complaint": {"complainedRecipients": [{"emailAddress": "ana.silva@example.com"}],
                    "timestamp": "2026-03-02T09:29:00.000Z", "feedbackId": "0100015f-example",
                    "complaintFeedbackType": "abuse", "userAgent": "Mozilla/5.0"}}, "complained"),
    ({"eventType": "Open", "mail": mail(),
      "open": {"ipAddress": "192.0.2.1", "timestamp": "2026-03-02T09:29:10.000Z",
               "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}}, "opened"),
    ({"eventType": "Click", "mail": mail(),
      "click": {"ipAddress": "192.0.2.1", "timestamp": "2026-03-02T09:29:20.000Z",
                "userAgent": "Mozilla/5.0", "link": "https://dripcourse.example/lesson-2",
                "linkTags": {"samplekey0": ["samplevalue0"]}}}, "clicked"),
    ({"eventType": "DeliveryDelay", "mail": mail(),
      "deliveryDelay": {"timestamp": "2026-03-02T09:29:30.000Z", "delayType": "TransientCommunicationFailure",
                        "expirationTime": "2026-03-02T21:28:02.012Z",
                        "delayedRecipients": [{"emailAddress": "ana.silva@example.com", "status": "4.4.1",
                                               "diagnosticCode": "smtp; 421 4.4.1 Unable to connect"}]}},
     "deferred"),
    ({"eventType": "Reject", "mail": mail(), "reject": {"reason": "Bad content"}}, "failed"),
]


def post(parse: Parse, sns: SnsSigner, document: dict[str, Any], **kwargs: Any) -> Any:
    headers = {**SNS_HEADERS, "x-amz-sns-message-type": document.get("Type", "Notification")}
    return parse("ses", headers, dumps(document), env=kwargs.pop("env", SES_ENV),
                 fetch_certificate=kwargs.pop("fetch", sns.fetch), **kwargs)


@pytest.mark.parametrize("version", ["1", "2"])
def test_hard_bounce(parse: Parse, sns: SnsSigner, version: str) -> None:
    result = post(parse, sns, sns.notification(bounce(), version=version))
    [e] = result.events
    assert (e.provider, e.type, e.permanent) == ("ses", "bounced", True)
    assert e.email == "ana.silva@example.com"
    assert e.delivery_id == 42
    assert e.provider_message_id == SES_MESSAGE_ID
    assert e.at == datetime(2026, 3, 2, 9, 29, 2, 669000, tzinfo=UTC)
    assert e.external_id == f"ses:{SNS_MESSAGE_ID}:ana.silva@example.com"
    assert e.data["reason"] == "smtp; 550 5.1.1 user unknown"
    assert result.subscribe_url is None
    assert sns.fetched == [CERT_URL]


def test_transient_bounce_is_soft(parse: Parse, sns: SnsSigner) -> None:
    [e] = post(parse, sns, sns.notification(bounce("Transient"))).events
    assert (e.type, e.permanent) == ("bounced", False)


@pytest.mark.parametrize(("ses_event", "kind"), OTHER_EVENTS, ids=[k for _, k in OTHER_EVENTS])
def test_event_types(parse: Parse, sns: SnsSigner, ses_event: dict[str, Any], kind: str) -> None:
    [e] = post(parse, sns, sns.notification(ses_event)).events
    assert (e.type, e.permanent, e.delivery_id, e.email) == (kind, False, 42, "ana.silva@example.com")
    if kind == "clicked":
        assert e.data["url"] == "https://dripcourse.example/lesson-2"


def test_identity_notification_without_tags(parse: Parse, sns: SnsSigner) -> None:
    event = bounce()
    event["notificationType"] = event.pop("eventType")
    del event["mail"]["tags"]
    [e] = post(parse, sns, sns.notification(event, Subject="Amazon SES Email Event Notification")).events
    assert (e.type, e.delivery_id) == ("bounced", None)


def test_send_event_is_not_an_outcome(parse: Parse, sns: SnsSigner) -> None:
    assert post(parse, sns, sns.notification({"eventType": "Send", "mail": mail(), "send": {}})).events == []


def test_tampered_message_is_refused(parse: Parse, sns: SnsSigner) -> None:
    document = sns.notification(bounce())
    document["Message"] = document["Message"].replace("Ana.Silva@Example.com", "eve@example.com")
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, document)
    assert caught.value.status == 401


@pytest.mark.parametrize("field_name", ["MessageId", "Timestamp", "Subject"])
def test_tampered_signed_field_is_refused(parse: Parse, sns: SnsSigner, field_name: str) -> None:
    document = sns.notification(bounce())
    document[field_name] = "changed"
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, document)
    assert caught.value.status == 401


def test_signature_from_another_key_is_refused(parse: Parse, sns: SnsSigner, sns_impostor: SnsSigner) -> None:
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, sns_impostor.notification(bounce()))
    assert caught.value.status == 401


def test_cert_url_outside_sns_is_refused_without_fetching(parse: Parse, sns: SnsSigner) -> None:
    for url in ("https://evil.example/cert.pem",
                "http://sns.eu-west-1.amazonaws.com/cert.pem",
                "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem",
                "https://sns.eu-west-1.amazonaws.com:8443/cert.pem",
                "https://user@sns.eu-west-1.amazonaws.com/cert.pem",
                "https://sns.eu-west-1.amazonaws.com/not-a-cert.txt",
                "https://s3.amazonaws.com/sns.eu-west-1.amazonaws.com/cert.pem"):
        document = sns.notification(bounce(), SigningCertURL=url)
        with pytest.raises(WebhookRejected) as caught:
            post(parse, sns, document)
        assert caught.value.status == 401, url
    assert sns.fetched == []


def test_unlisted_topic_is_refused_without_fetching(parse: Parse, sns: SnsSigner) -> None:
    document = sns.notification(bounce(), TopicArn="arn:aws:sns:eu-west-1:999999999999:someone-elses")
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, document)
    assert caught.value.status == 401
    assert sns.fetched == []


@pytest.mark.parametrize("env", [{}, {"SES_SNS_TOPIC_ARNS": ""}, {"SES_SNS_TOPIC_ARNS": " , "}])
def test_no_topic_configured_is_refused(parse: Parse, sns: SnsSigner, env: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, sns.notification(bounce()), env=env)
    assert caught.value.status == 401
    assert "SES_SNS_TOPIC_ARNS" in caught.value.reason


@pytest.mark.parametrize("age", [timedelta(hours=1, seconds=1), timedelta(minutes=-6)])
def test_expired_or_future_timestamp_is_refused(parse: Parse, sns: SnsSigner, age: timedelta) -> None:
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, sns.notification(bounce(), timestamp=NOW - age))
    assert caught.value.status == 401


def test_retry_within_the_hour_is_accepted(parse: Parse, sns: SnsSigner) -> None:
    assert post(parse, sns, sns.notification(bounce(), timestamp=NOW - timedelta(minutes=59))).events


def test_replayed_message_is_refused(parse: Parse, sns: SnsSigner) -> None:
    document = sns.notification(bounce())
    first = post(parse, sns, document)
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, copy.deepcopy(document), now=NOW + timedelta(minutes=10))
    assert caught.value.status == 401
    first.release()  # storing failed: SNS's identical retry must now get through
    assert post(parse, sns, document, now=NOW + timedelta(minutes=10)).events == first.events


def test_subscription_confirmation(parse: Parse, sns: SnsSigner) -> None:
    subscribe_url = (f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC_ARN}"
                     "&Token=2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3")
    document = sns.sign({
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3",
        "TopicArn": TOPIC_ARN,
        "Message": f"You have chosen to subscribe to the topic {TOPIC_ARN}.\nTo confirm the subscription, "
                   "visit the SubscribeURL included in this message.",
        "SubscribeURL": subscribe_url,
        "Timestamp": "2026-03-02T09:29:50.123Z",
    }, version="2")
    result = post(parse, sns, document)
    assert result.events == []
    assert result.subscribe_url == subscribe_url
    fetched: list[str] = []
    confirm_subscription(result, http_get=fetched.append)
    assert fetched == [subscribe_url]


def test_foreign_subscribe_url_is_refused(parse: Parse, sns: SnsSigner) -> None:
    document = sns.sign({
        "Type": "SubscriptionConfirmation", "MessageId": "265545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "abc", "TopicArn": TOPIC_ARN, "Message": "You have chosen to subscribe…",
        "SubscribeURL": "https://evil.example/?Action=ConfirmSubscription",
        "Timestamp": "2026-03-02T09:29:50.123Z",
    })
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, document)
    assert caught.value.status == 401
    fetched: list[str] = []
    with pytest.raises(WebhookRejected):
        confirm_subscription("https://evil.example/?Action=ConfirmSubscription", http_get=fetched.append)
    assert fetched == []


def test_unsubscribe_confirmation_returns_nothing(parse: Parse, sns: SnsSigner) -> None:
    document = sns.sign({
        "Type": "UnsubscribeConfirmation", "MessageId": "47138184-6831-46b8-8f7c-afc488602d7d",
        "Token": "2336412f37", "TopicArn": TOPIC_ARN,
        "Message": "You have chosen to deactivate subscription…",
        "SubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC_ARN}",
        "Timestamp": "2026-03-02T09:29:50.123Z",
    })
    result = post(parse, sns, document)
    assert (result.events, result.subscribe_url) == ([], None)


def test_message_that_is_not_json_is_400(parse: Parse, sns: SnsSigner) -> None:
    document = sns.sign({"Type": "Notification", "MessageId": "a1", "TopicArn": TOPIC_ARN,
                         "Message": "Hello world!", "Timestamp": "2026-03-02T09:29:50.123Z"})
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, document)
    assert caught.value.status == 400
    assert "'Message'" in caught.value.reason


@pytest.mark.parametrize(("mutate", "field_name"), [
    (lambda e: e["mail"].pop("messageId"), "Message.mail.messageId"),
    (lambda e: e["bounce"].pop("bouncedRecipients"), "Message.bounce.bouncedRecipients"),
    (lambda e: e["bounce"]["bouncedRecipients"][0].pop("emailAddress"),
     "Message.bounce.bouncedRecipients.emailAddress"),
    (lambda e: e.pop("eventType"), "Message.eventType"),
    (lambda e: e["bounce"].update(timestamp="yesterday"), "Message.bounce.timestamp"),  # present, unreadable
])
def test_missing_field_is_400_naming_it(parse: Parse, sns: SnsSigner, mutate: Any, field_name: str) -> None:
    event = bounce()
    mutate(event)
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, sns.notification(event))
    assert caught.value.status == 400
    assert repr(field_name) in caught.value.reason


@pytest.mark.parametrize(("ses_event", "missing"), [
    (bounce(), ["bounce"]),
    (bounce(), ["bounce", "mail"]),
    (OTHER_EVENTS[1][0], ["complaint"]),  # Complaint
    (OTHER_EVENTS[5][0], ["mail"]),  # Reject: its time is mail.timestamp
], ids=["bounce", "bounce and mail", "complaint", "reject"])
def test_missing_event_timestamp_falls_back_to_the_sns_timestamp(parse: Parse, sns: SnsSigner,
                                                                 ses_event: dict[str, Any],
                                                                 missing: list[str]) -> None:
    event = copy.deepcopy(ses_event)
    for key in missing:
        del event[key]["timestamp"]
    published = datetime(2026, 3, 2, 9, 29, 57, 123000, tzinfo=UTC)
    [e] = post(parse, sns, sns.notification(event, timestamp=published)).events
    assert (e.at, e.email, e.delivery_id) == (published, "ana.silva@example.com", 42)


def test_body_that_is_not_json_is_400(parse: Parse, sns: SnsSigner) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse("ses", SNS_HEADERS, b"<xml/>", env=SES_ENV, fetch_certificate=sns.fetch)
    assert caught.value.status == 400


def test_unknown_signature_version_is_refused(parse: Parse, sns: SnsSigner) -> None:
    document = sns.notification(bounce())
    document["SignatureVersion"] = "3"
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, document)
    assert caught.value.status == 401


def test_certificate_fetch_failure_is_refused(parse: Parse, sns: SnsSigner) -> None:
    def unreachable(url: str) -> bytes:
        raise OSError("no network in tests")

    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, sns.notification(bounce()), fetch=unreachable)
    assert caught.value.status == 401


def test_expired_certificate_is_refused(parse: Parse, sns: SnsSigner) -> None:
    with pytest.raises(WebhookRejected) as caught:
        post(parse, sns, sns.notification(bounce(), timestamp=NOW + timedelta(days=400)),
             now=NOW + timedelta(days=400))
    assert caught.value.status == 401
    assert "certificate" in caught.value.reason


def test_certificates_are_cached(parse: Parse, sns: SnsSigner) -> None:
    cached = CachedCertificateFetcher(sns.fetch)
    for n in range(3):
        post(parse, sns, sns.notification(bounce(), message_id=f"m-{n}"), fetch=cached)
    assert sns.fetched == [CERT_URL]


def test_sns_url_check() -> None:
    assert is_sns_url("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription")
    assert is_sns_url("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem", pem=True)
    assert not is_sns_url("https://sns.us-east-1.amazonaws.com/x.pem.txt", pem=True)
    assert not is_sns_url("https://evil.example/cert.pem", pem=True)
    assert not is_sns_url(None)


def test_notification_body_is_the_documented_shape(sns: SnsSigner) -> None:
    # Guard for the fixtures themselves: the SES event travels as a JSON string in Message.
    document = sns.notification(bounce())
    assert json.loads(document["Message"])["eventType"] == "Bounce"
    assert document["SignatureVersion"] == "1" and document["SigningCertURL"] == CERT_URL
