"""Signed payloads posted to `POST /webhooks/<provider>` against a real store: events that name
no recipient (or no timestamp) are accepted and land on the right delivery and subscriber, and
their effect (unsubscribe, suppression) reaches that subscriber only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from webhook_signing import (
    MAILGUN_ENV,
    NOW,
    POSTMARK_ENV,
    SES_ENV,
    TS,
    Parse,
    SendGridKeys,
    SnsSigner,
    basic_auth,
    dumps,
    mailgun_signature,
)

import sender.web.webhooks as webhook_route
from sender.engine import Engine
from sender.store.schema import deliveries, events, subscribers
from sender.web import create_app
from tests.test_engine import make_engine
from tests.web.test_public import _course_with_one_lesson_sent

MARIA, KEN = "maria@example.com", "ken@example.com"
POSTMARK_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
MAILGUN_ID = "20260302093000.1.ABCDEF0123456789@mg.dripcourse.example"  # the webhook drops the <>
SES_ID = "0102018e0b3c1d2e-4f5a6b7c-8d9e-4f01-a2b3-c4d5e6f70819-000000"
SENDGRID_ID = "W86EgYT6SQKk0lRflfLRsA"


@dataclass(frozen=True)
class Site:
    engine: Engine
    client: FlaskClient
    campaign_id: int

    def post(self, provider: str, body: bytes, headers: dict[str, str]) -> Any:
        return self.client.post(f"/webhooks/{provider}", data=body, headers=headers)

    def status(self, email: str) -> tuple[str, bool, str | None]:
        """(subscriber status, address suppressed, enrolment status) of one subscriber."""
        row = self.engine.store.subscriber_by_email(email)
        assert row is not None
        return (row.status, self.engine.store.is_suppressed(email),
                self.engine.store.enrolment_status(row.id, self.campaign_id))

    def subscriber_id(self, email: str) -> int:
        row = self.engine.store.subscriber_by_email(email)
        assert row is not None
        return int(row.id)

    def stored(self, provider: str) -> list[sa.Row[Any]]:
        with self.engine.store.engine.connect() as conn:
            return list(conn.execute(sa.select(events).where(events.c.provider == provider)
                                     .order_by(events.c.id)).all())

    def sent_as(self, email: str, provider_message_id: str) -> int:
        """Give the subscriber's delivery the id that provider's send API returned; its id."""
        with self.engine.store.begin() as conn:
            delivery = conn.execute(sa.select(deliveries.c.id).join(subscribers)
                                    .where(subscribers.c.email == email)).scalar_one()
            conn.execute(deliveries.update().where(deliveries.c.id == delivery)
                         .values(provider_message_id=provider_message_id))
        return int(delivery)


@pytest.fixture
def site(project: Path, db_url: str, parse: Parse, sendgrid_keys: SendGridKeys, sns: SnsSigner,
         monkeypatch: pytest.MonkeyPatch) -> Site:
    engine, _ = make_engine(project, db_url)
    _course_with_one_lesson_sent(engine, [MARIA, KEN])
    # The route's own verification, on this suite's fixed clock (the payloads are signed at NOW)
    # and this test's replay guard.
    monkeypatch.setattr(webhook_route, "parse_webhook", parse)
    env = {**POSTMARK_ENV, **MAILGUN_ENV, **SES_ENV, **sendgrid_keys.env()}
    client = create_app(engine, env=env, fetch_certificate=sns.fetch).test_client()
    return Site(engine, client, engine.load("mini")[0])


# -- Postmark: a Bounce record with no Email --------------------------------------------------------


@pytest.mark.parametrize(("bounce_type", "type_code", "kind", "after"), [
    # the recipient asked to stop: the subscription ends, the address is not blocked
    ("Unsubscribe", 16, "unsubscribed", ("unsubscribed", False, "stopped")),
    ("HardBounce", 1, "bounced", ("bounced", True, "stopped")),
])
def test_postmark_bounce_without_email_is_linked_by_message_id(
        site: Site, bounce_type: str, type_code: int, kind: str, after: tuple[str, bool, str]) -> None:
    delivery = site.sent_as(MARIA, POSTMARK_ID)
    payload = {  # Postmark's Bounce webhook fields, minus Email (and without our Metadata)
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807,
        "Type": bounce_type, "TypeCode": type_code, "Name": bounce_type, "Tag": "",
        "MessageID": POSTMARK_ID, "ServerID": 23, "Description": "", "Details": "",
        "From": "coach@dripcourse.example", "BouncedAt": "2026-03-02T04:28:10.2735393-05:00",
        "DumpAvailable": False, "Inactive": bounce_type == "HardBounce", "CanActivate": True,
        "Subject": "Lesson 1",
    }
    auth = basic_auth(POSTMARK_ENV["POSTMARK_WEBHOOK_USER"], POSTMARK_ENV["POSTMARK_WEBHOOK_PASSWORD"])
    answer = site.post("postmark", dumps(payload), {**auth, "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.json
    assert answer.json == {"received": 1, "stored": 1, "suppressed": int(after[1])}
    [event] = site.stored("postmark")
    assert (event.type, event.delivery_id, event.subscriber_id) == (kind, delivery, site.subscriber_id(MARIA))
    assert site.status(MARIA) == after
    assert site.status(KEN) == ("active", False, "active")


# -- Mailgun: a rejected event with no recipient ----------------------------------------------------


def mailgun_rejected(*, delivery: int | None, message_id: str | None) -> bytes:
    data: dict[str, Any] = {  # Mailgun's rejected event-data: no recipient, the reason in "reject"
        "id": "G9Bn5sl1TC6Sz3wd5CkK-w", "timestamp": TS - 5.5, "log-level": "warn", "event": "rejected",
        "reject": {"reason": "Sandbox subdomains are for test purposes only", "description": ""},
        "message": {"headers": {"from": "Coach <coach@dripcourse.example>", "subject": "Lesson 1"},
                    "attachments": [], "size": 2048},
        "flags": {"is-test-mode": False}, "tags": [],
    }
    if message_id:
        data["message"]["headers"]["message-id"] = message_id
    if delivery:
        data["user-variables"] = {"delivery": str(delivery), "campaign": "mini"}
    return dumps({"signature": mailgun_signature(), "event-data": data})


@pytest.mark.parametrize("link", ["delivery variable", "message id"])
def test_mailgun_rejected_without_recipient_is_linked_to_its_delivery(site: Site, link: str) -> None:
    delivery = site.sent_as(MARIA, f"<{MAILGUN_ID}>")
    body = mailgun_rejected(delivery=delivery if link == "delivery variable" else None,
                            message_id=MAILGUN_ID if link == "message id" else None)
    answer = site.post("mailgun", body, {"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.json
    assert answer.json == {"received": 1, "stored": 1, "suppressed": 0}
    [event] = site.stored("mailgun")
    assert (event.type, event.delivery_id, event.subscriber_id) == ("failed", delivery,
                                                                    site.subscriber_id(MARIA))
    assert event.data["reason"] == "Sandbox subdomains are for test purposes only"
    assert site.status(MARIA) == ("active", False, "active")  # a refused send is not the address's fault


def test_mailgun_rejected_for_a_shared_batch_id_is_not_pinned_on_anyone(site: Site) -> None:
    # One Mailgun batch send returns one id for all its recipients: with no recipient and no
    # delivery variable, the event cannot say whose message it was, so it is kept unattributed.
    site.sent_as(MARIA, f"<{MAILGUN_ID}>")
    site.sent_as(KEN, f"<{MAILGUN_ID}>")
    answer = site.post("mailgun", mailgun_rejected(delivery=None, message_id=MAILGUN_ID), {})
    assert answer.status_code == 200, answer.json
    [event] = site.stored("mailgun")
    assert (event.delivery_id, event.subscriber_id) == (None, None)


# -- SES: events without timestamps ------------------------------------------------------------------


def ses_event(kind: str, delivery: int) -> dict[str, Any]:
    mail = {"source": "Coach <coach@dripcourse.example>", "sendingAccountId": "123456789012",
            "messageId": SES_ID, "destination": [MARIA], "headersTruncated": False,
            "tags": {"ses:configuration-set": ["dripcourse"], "delivery": [str(delivery)]}}
    # as SES documents them, but with neither the event's nor mail's "timestamp"
    if kind == "Bounce":
        return {"eventType": "Bounce", "mail": mail, "bounce": {
            "bounceType": "Permanent", "bounceSubType": "General", "feedbackId": "0100018e-example",
            "bouncedRecipients": [{"emailAddress": MARIA, "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}}
    return {"eventType": "Complaint", "mail": mail, "complaint": {
        "complainedRecipients": [{"emailAddress": MARIA}], "feedbackId": "0100018e-example",
        "complaintFeedbackType": "abuse"}}


@pytest.mark.parametrize(("kind", "stored_as"), [("Bounce", "bounced"), ("Complaint", "complained")])
def test_ses_event_without_timestamps_takes_the_sns_timestamp(site: Site, sns: SnsSigner, kind: str,
                                                              stored_as: str) -> None:
    delivery = site.sent_as(MARIA, SES_ID)
    published = NOW - timedelta(seconds=7)
    document = sns.notification(ses_event(kind, delivery), timestamp=published)
    answer = site.post("ses", dumps(document), {"x-amz-sns-message-type": "Notification",
                                                 "Content-Type": "text/plain; charset=UTF-8"})
    assert answer.status_code == 200, answer.json
    assert answer.json == {"received": 1, "stored": 1, "suppressed": 1}
    [event] = site.stored("ses")
    assert (event.type, event.delivery_id, event.subscriber_id) == (stored_as, delivery,
                                                                    site.subscriber_id(MARIA))
    assert event.at.astimezone(UTC) == published.replace(microsecond=published.microsecond // 1000 * 1000)
    assert site.status(MARIA) == (stored_as, True, "stopped")
    assert site.status(KEN) == ("active", False, "active")


# -- SendGrid: dropped for an address on its own suppression lists -----------------------------------


def sendgrid_dropped(email: str, delivery: int, reason: str, n: int) -> dict[str, Any]:
    return {"email": email, "timestamp": TS - 60, "smtp-id": f"<{SENDGRID_ID}@geopod-ismtpd-4-0>",
            "event": "dropped", "reason": reason, "status": "5.0.0", "category": ["mini"],
            "sg_event_id": f"ZHJvcC0{n}", "sg_message_id": f"{SENDGRID_ID}.filterdrecv-5bf99c48d-{n}.0",
            "delivery": str(delivery), "campaign": "mini"}


@pytest.mark.parametrize(("suppressing", "other"), [
    ("Bounced Address", "Spam Content"),
    ("Invalid", "Invalid SMTPAPI header"),
    ("Unsubscribed Address", "Spam Content"),
    ("Spam Reporting Address", "Invalid SMTPAPI header"),
])
def test_sendgrid_drop_for_a_listed_address_suppresses_it_and_other_drops_do_not(
        site: Site, sendgrid_keys: SendGridKeys, suppressing: str, other: str) -> None:
    # One batch send: SendGrid returns one X-Message-Id for both messages.
    maria, ken = site.sent_as(MARIA, SENDGRID_ID), site.sent_as(KEN, SENDGRID_ID)
    body = json.dumps([sendgrid_dropped(MARIA, maria, suppressing, 1),
                       sendgrid_dropped(KEN, ken, other, 2)]).encode()
    answer = site.post("sendgrid", body, sendgrid_keys.headers(body))
    assert answer.status_code == 200, answer.json
    assert answer.json == {"received": 2, "stored": 2, "suppressed": 1}
    assert [(e.type, e.delivery_id, e.subscriber_id, e.data["reason"]) for e in site.stored("sendgrid")] == [
        ("failed", maria, site.subscriber_id(MARIA), suppressing),
        ("failed", ken, site.subscriber_id(KEN), other),
    ]
    assert site.status(MARIA) == ("bounced", True, "stopped")
    assert site.status(KEN) == ("active", False, "active")


def test_unlinkable_postmark_bounce_is_still_400_naming_the_field(site: Site) -> None:
    payload = {"RecordType": "Bounce", "ID": 7, "Type": "Unsubscribe", "TypeCode": 16,
               "BouncedAt": "2026-03-02T09:00:00Z"}  # no Email, no MessageID, no Metadata
    auth = basic_auth(POSTMARK_ENV["POSTMARK_WEBHOOK_USER"], POSTMARK_ENV["POSTMARK_WEBHOOK_PASSWORD"])
    answer = site.post("postmark", dumps(payload), {**auth, "Content-Type": "application/json"})
    assert answer.status_code == 400 and "'Email'" in answer.json["error"]
    assert site.stored("postmark") == []
    assert site.status(MARIA) == ("active", False, "active")
