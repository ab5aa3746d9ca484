"""`POST /webhooks/<provider>` against a real store: events land on their delivery once,
hard bounces and complaints suppress, and unverified requests change nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from sender.engine import Engine
from sender.store.schema import events
from sender.web import create_app
from tests.test_engine import make_engine
from tests.web.test_public import _course_with_one_lesson_sent

ENV = {"POSTMARK_WEBHOOK_USER": "hooks", "POSTMARK_WEBHOOK_PASSWORD": "s3cret-pass"}


def _auth(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def site(project: Path, db_url: str) -> tuple[Engine, FlaskClient]:
    engine, _ = make_engine(project, db_url)
    _course_with_one_lesson_sent(engine, ["maria@example.com", "ken@example.com"])
    return engine, create_app(engine, env=ENV).test_client()


def _bounce(engine: Engine, email: str, kind: str, event_id: int) -> dict[str, object]:
    message = next(m for m in engine.provider.outbox if m.to.endswith(f"<{email}>"))
    return {"RecordType": "Bounce", "ID": event_id, "Type": kind, "TypeCode": 1,
            "MessageID": "pm-" + message.metadata["delivery"], "Email": email, "From": "hello@example.com",
            "BouncedAt": "2026-03-25T12:05:00Z", "Description": "The address does not exist.",
            "Details": "550 5.1.1 user unknown", "Inactive": kind == "HardBounce", "CanActivate": True,
            "Subject": message.subject, "MessageStream": "outbound", "Tag": "",
            "Metadata": dict(message.metadata), "ServerID": 1}


def _stored(engine: Engine) -> list[sa.Row]:
    with engine.store.engine.connect() as conn:
        return conn.execute(sa.select(events).where(events.c.provider == "postmark")).all()


def test_a_hard_bounce_is_stored_on_its_delivery_once_and_suppresses(
        site: tuple[Engine, FlaskClient]) -> None:
    engine, client = site
    payload = json.dumps(_bounce(engine, "maria@example.com", "HardBounce", 4323372036))
    answer = client.post("/webhooks/postmark", data=payload, content_type="application/json",
                         headers=_auth("hooks", "s3cret-pass"))
    assert answer.status_code == 200 and answer.json == {"received": 1, "stored": 1, "suppressed": 1}
    [event] = _stored(engine)
    maria = engine.store.subscriber_by_email("maria@example.com")
    delivered = {r.email: r.id for r in engine.store.delivery_log()}
    assert (event.type, event.delivery_id, event.subscriber_id) == ("bounced", delivered["maria@example.com"],
                                                                     maria.id)
    assert maria.status == "bounced" and engine.store.is_suppressed("maria@example.com")
    assert engine.store.enrolment_status(maria.id, engine.load("mini")[0]) == "stopped"
    # Postmark retries a webhook it thinks failed: the same event is stored once
    again = client.post("/webhooks/postmark", data=payload, content_type="application/json",
                        headers=_auth("hooks", "s3cret-pass"))
    assert again.status_code == 200 and again.json["stored"] == 0 and len(_stored(engine)) == 1


def test_a_soft_bounce_is_recorded_without_suppressing(site: tuple[Engine, FlaskClient]) -> None:
    engine, client = site
    payload = json.dumps(_bounce(engine, "ken@example.com", "SoftBounce", 77))
    answer = client.post("/webhooks/postmark", data=payload, content_type="application/json",
                         headers=_auth("hooks", "s3cret-pass"))
    assert answer.status_code == 200 and answer.json["suppressed"] == 0
    assert engine.store.subscriber_by_email("ken@example.com").status == "active"


@pytest.mark.parametrize("headers", [_auth("hooks", "wrong"), _auth("other", "s3cret-pass"), {}],
                         ids=["wrong password", "wrong user", "no credentials"])
def test_unverified_requests_get_401_and_change_nothing(site: tuple[Engine, FlaskClient],
                                                        headers: dict[str, str]) -> None:
    engine, client = site
    payload = json.dumps(_bounce(engine, "maria@example.com", "HardBounce", 1))
    answer = client.post("/webhooks/postmark", data=payload, content_type="application/json", headers=headers)
    assert answer.status_code == 401
    assert _stored(engine) == [] and engine.store.subscriber_by_email("maria@example.com").status == "active"


def test_no_secret_configured_refuses_and_unknown_provider_is_404(project: Path, sqlite_url: str) -> None:
    engine, _ = make_engine(project, sqlite_url)
    client = create_app(engine, env={}).test_client()
    answer = client.post("/webhooks/postmark", data="{}", content_type="application/json",
                         headers=_auth("", ""))
    assert answer.status_code == 401
    assert client.post("/webhooks/nosuch", data="{}").status_code == 404


def test_a_malformed_verified_payload_is_400_naming_the_field(site: tuple[Engine, FlaskClient]) -> None:
    engine, client = site
    answer = client.post("/webhooks/postmark", data='{"RecordType": "Bounce", "Type": "HardBounce"}',
                         content_type="application/json", headers=_auth("hooks", "s3cret-pass"))
    assert answer.status_code == 400 and "Email" in answer.json["error"]
    assert _stored(engine) == []
