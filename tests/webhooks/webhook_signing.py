"""Signers and sample settings for the webhook tests (imported by conftest and the tests).

Every signature here is made the way the provider documents it, with real keys generated in
the test run (an HMAC secret, a P-256 key pair for SendGrid, an RSA key and a self-signed
certificate for SNS), so the verifiers are checked against the documented algorithms rather
than against themselves. Nothing touches the network: SNS certificates are served through the
injected `fetch_certificate`.

A plain module beside the tests (not conftest) so that it imports the same way under
``pytest`` and ``python -m pytest``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from sender.webhooks import WebhookResult

NOW = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)
TS = int(NOW.timestamp())

Parse = Callable[..., WebhookResult]


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, indent=2).encode()


# -- Postmark -------------------------------------------------------------------------------------

POSTMARK_ENV = {"POSTMARK_WEBHOOK_USER": "drip-hooks", "POSTMARK_WEBHOOK_PASSWORD": "s3cret:with:colons"}


def basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


# -- SendGrid -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendGridKeys:
    private: ec.EllipticCurvePrivateKey
    public_b64: str  # base64 DER SubjectPublicKeyInfo, as SendGrid's settings page shows it

    def env(self) -> dict[str, str]:
        return {"SENDGRID_WEBHOOK_PUBLIC_KEY": self.public_b64}

    def headers(self, body: bytes, timestamp: int = TS) -> dict[str, str]:
        signature = self.private.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": str(timestamp),
        }


def new_sendgrid_keys() -> SendGridKeys:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return SendGridKeys(private, base64.b64encode(der).decode())


# -- Mailgun --------------------------------------------------------------------------------------

MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
MAILGUN_ENV = {"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


MAILGUN_TOKEN = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"  # 50 characters, as Mailgun's


def mailgun_signature(timestamp: int | str = TS, token: str = MAILGUN_TOKEN,
                      key: str = MAILGUN_KEY) -> dict[str, str]:
    digest = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": str(timestamp), "token": token, "signature": digest}


# -- Resend (Svix) --------------------------------------------------------------------------------

RESEND_SECRET = "whsec_" + base64.b64encode(b"dripcourse-resend-test-secret-32").decode()
RESEND_ENV = {"RESEND_WEBHOOK_SECRET": RESEND_SECRET}


def svix_headers(body: bytes, *, msg_id: str = "msg_2Lh9KRb0pzN4LePd3XiA0EE0lAm", timestamp: int = TS,
                 secret: str = RESEND_SECRET) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"svix-id": msg_id, "svix-timestamp": str(timestamp), "svix-signature": f"v1,{signature}",
            "Content-Type": "application/json"}


# -- SES through SNS ------------------------------------------------------------------------------

TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:dripcourse-ses-events"
SES_ENV = {"SES_SNS_TOPIC_ARNS": f"arn:aws:sns:eu-west-1:123456789012:other, {TOPIC_ARN}"}
SNS_MESSAGE_ID = "c1a3e5f7-0b1d-5e2f-9a8b-7c6d5e4f3a21"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"


@dataclass
class SnsSigner:
    """Signs SNS documents as the SNS docs describe, and serves its certificate like SNS would."""

    key: rsa.RSAPrivateKey
    pem: bytes
    fetched: list[str] = field(default_factory=list)

    def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return self.pem

    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        # Written from the SNS developer guide, independently of sender.webhooks.ses.
        if message["Type"] == "Notification":
            keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        else:
            keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        text = "".join(f"{k}\n{message[k]}\n" for k in keys if k in message)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(text.encode(), padding.PKCS1v15(), algorithm)
        return {**message, "SignatureVersion": version, "Signature": base64.b64encode(signature).decode(),
                "SigningCertURL": message.get("SigningCertURL", CERT_URL)}

    def notification(self, ses_event: dict[str, Any], *, message_id: str = SNS_MESSAGE_ID,
                     timestamp: datetime = NOW - timedelta(seconds=3), version: str = "1",
                     **overrides: Any) -> dict[str, Any]:
        message = {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": TOPIC_ARN,
            "Message": json.dumps(ses_event),
            "Timestamp": timestamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "SigningCertURL": CERT_URL,
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                              f"{TOPIC_ARN}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
            **overrides,
        }
        return self.sign(message, version)


def self_signed(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)
