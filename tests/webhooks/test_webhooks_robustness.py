"""Whatever a verified request carries, the answer is events or a WebhookRejected: never a crash
(which the web layer would turn into a 500, and the provider into endless retries)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webhook_signing import (
    MAILGUN_ENV,
    NOW,
    POSTMARK_ENV,
    RESEND_ENV,
    SES_ENV,
    SendGridKeys,
    SnsSigner,
    basic_auth,
    dumps,
    mailgun_signature,
    svix_headers,
)

from sender.webhooks import EVENT_TYPES, ReplayGuard, WebhookRejected, WebhookResult, parse_webhook

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.sampled_from(["ana@example.com", "42", "2026-03-02T09:29:00Z"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children,
                                                                       max_size=4),
    max_leaves=12,
)
# Objects that look enough like the real thing to get past the first checks.
KEYS = ["RecordType", "Type", "Email", "Recipient", "BouncedAt", "DeliveredAt", "Metadata", "ID", "event",
        "email", "timestamp", "delivery", "sg_event_id", "type", "data", "created_at", "to", "tags", "bounce",
        "eventType", "mail", "messageId", "destination", "bouncedRecipients", "recipient", "severity"]
VALUES = st.sampled_from(["Bounce", "HardBounce", "Delivery", "SubscriptionChange", "bounce", "dropped",
                          "email.bounced", "email.clicked", "Bounce", "Click", "failed", "permanent",
                          "ana@example.com", "2026-03-02T09:29:00Z"]) | json_values
plausible = st.recursive(
    st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8),
    lambda children: st.dictionaries(st.sampled_from(KEYS), children | VALUES, max_size=6)
    | st.lists(children, max_size=3),
    max_leaves=20,
)
payloads = plausible | json_values
# Derandomized and without an example database: the same examples on every run, no files written.
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def outcome(call: Any) -> None:
    try:
        result = call()
    except WebhookRejected as rejected:
        assert rejected.status in (400, 401), rejected
        return
    assert isinstance(result, WebhookResult)
    for event in result.events:
        assert event.type in EVENT_TYPES
        assert event.at.tzinfo is not None
        if event.email is None:  # accepted without an address only when something links it
            assert event.delivery_id is not None or event.provider_message_id
        else:
            assert event.email == event.email.lower()


@SETTINGS
@given(payload=payloads)
def test_postmark(payload: Any) -> None:
    headers = basic_auth(POSTMARK_ENV["POSTMARK_WEBHOOK_USER"], POSTMARK_ENV["POSTMARK_WEBHOOK_PASSWORD"])
    outcome(lambda: parse_webhook("postmark", headers, dumps(payload), env=POSTMARK_ENV, now=NOW,
                                  replay_guard=ReplayGuard()))


@SETTINGS
@given(payload=payloads)
def test_sendgrid(sendgrid_keys: SendGridKeys, payload: Any) -> None:
    body = dumps(payload if not isinstance(payload, dict) else [payload])
    outcome(lambda: parse_webhook("sendgrid", sendgrid_keys.headers(body), body, env=sendgrid_keys.env(),
                                  now=NOW, replay_guard=ReplayGuard()))


@SETTINGS
@given(payload=payloads)
def test_mailgun(payload: Any) -> None:
    body = dumps({"signature": mailgun_signature(), "event-data": payload})
    outcome(lambda: parse_webhook("mailgun", {}, body, env=MAILGUN_ENV, now=NOW, replay_guard=ReplayGuard()))


@SETTINGS
@given(payload=payloads)
def test_resend(payload: Any) -> None:
    body = dumps(payload)
    outcome(lambda: parse_webhook("resend", svix_headers(body), body, env=RESEND_ENV, now=NOW,
                                  replay_guard=ReplayGuard()))


@SETTINGS
@given(payload=payloads)
def test_ses(sns: SnsSigner, payload: Any) -> None:
    document = sns.notification(payload)  # type: ignore[arg-type]  # any JSON as the SES event
    outcome(lambda: parse_webhook("ses", {}, dumps(document), env=SES_ENV, now=NOW,
                                  replay_guard=ReplayGuard(), fetch_certificate=sns.fetch))
