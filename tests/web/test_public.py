"""Public pages against a real store: double opt-in, unsubscribe (page and RFC 8058
one-click), preferences, resubscribe, and signed-link checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from sender.engine import Engine
from sender.providers.base import SendResult
from sender.providers.memory import MemoryProvider
from sender.store.schema import enrolments, events
from sender.subscribers import add_subscriber
from sender.web import create_app
from tests.test_engine import make_engine, run_course


@pytest.fixture
def site(project: Path, db_url: str) -> tuple[Engine, FlaskClient]:
    engine, _ = make_engine(project, db_url)
    return engine, create_app(engine).test_client()


def _links(engine: Engine, kind: str) -> list[str]:
    outbox = engine.provider.outbox
    return [m for msg in outbox for m in re.findall(rf"https?://[^\s\"<>]*/{kind}/[\w.-]+", msg.text)]


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_double_opt_in_enrols_only_after_the_confirmation_post(site: tuple[Engine, FlaskClient]) -> None:
    engine, client = site
    page = client.get("/subscribe/mini")
    assert page.status_code == 200 and b"Mini &amp; Course" in page.data

    answer = client.post("/subscribe/mini", data={"email": " Ana@Example.COM ", "name": "<b>Ana",
                                                   "timezone": "Europe/Lisbon"})
    assert answer.status_code == 200 and b"Check your inbox" in answer.data
    sub = engine.store.subscriber_by_email("ana@example.com")
    assert (sub.status, sub.timezone, sub.name) == ("pending", "Europe/Lisbon", "<b>Ana")
    [confirmation] = engine.provider.outbox
    assert confirmation.to == "ana@example.com" and "List-Unsubscribe" not in confirmation.headers
    assert "Hi &lt;b&gt;Ana" in confirmation.html  # subscriber data escaped in HTML

    [link] = _links(engine, "confirm")
    assert client.get(_path(link)).status_code == 200  # a link scanner's GET changes nothing
    assert engine.store.subscriber_by_email("ana@example.com").status == "pending"
    assert engine.store.enrolment_status(sub.id, engine.load("mini")[0]) is None

    done = client.post(_path(link))
    assert done.status_code == 200 and b"on its way" in done.data
    sub = engine.store.subscriber_by_email("ana@example.com")
    assert sub.status == "active" and sub.consent_source == "double opt-in: mini" and sub.consent_at
    assert engine.store.enrolment_status(sub.id, engine.load("mini")[0]) == "active"
    assert client.post(_path(link)).status_code == 200  # twice is harmless


def test_subscribe_form_rejects_a_bad_address_and_keeps_what_was_typed(
        site: tuple[Engine, FlaskClient]) -> None:
    engine, client = site
    answer = client.post("/subscribe/mini", data={"email": "not-an-address", "name": "Bo"})
    assert answer.status_code == 400 and b"doesn&#39;t look right" in answer.data
    assert b'value="not-an-address"' in answer.data and b'value="Bo"' in answer.data
    assert engine.store.subscribers() == [] and engine.provider.outbox == []
    # the honeypot: looks like success, stores and sends nothing
    bot = client.post("/subscribe/mini", data={"email": "bot@example.com", "website": "x"})
    assert bot.status_code == 200
    assert engine.store.subscribers() == []
    assert client.get("/subscribe/no-such-course").status_code == 404


def test_subscribe_when_the_provider_is_down_says_so_and_keeps_the_subscriber(
        project: Path, db_url: str) -> None:
    class Down(MemoryProvider):
        def send_messages(self, messages):  # type: ignore[no-untyped-def]
            return [SendResult(m, ok=False, error="503 from provider") for m in messages]

    engine, _ = make_engine(project, db_url, provider=Down("memory://down"))
    answer = create_app(engine).test_client().post("/subscribe/mini", data={"email": "ken@example.com"})
    assert answer.status_code == 503 and b"try again" in answer.data
    assert engine.store.subscriber_by_email("ken@example.com").status == "pending"


def _course_with_one_lesson_sent(engine: Engine, emails: list[str]) -> None:
    now = engine.clock()
    for email in emails:
        add_subscriber(engine.store, email, now=now, name="Maria")
    engine.enrol("mini")
    engine.clock.advance_to(engine.store.next_due_at())
    engine.tick()


def test_one_click_post_unsubscribes_from_everything_without_cookies(
        site: tuple[Engine, FlaskClient]) -> None:
    engine, client = site
    _course_with_one_lesson_sent(engine, ["maria@example.com", "ken@example.com"])
    maria = next(m for m in engine.provider.outbox if m.to.endswith("<maria@example.com>"))
    url = re.match(r"<(https?://[^>]+)>", maria.headers["List-Unsubscribe"]).group(1)

    answer = client.post(_path(url), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    assert engine.store.subscriber_by_email("maria@example.com").status == "unsubscribed"
    assert engine.store.subscriber_by_email("ken@example.com").status == "active"
    assert client.post(_path(url), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with engine.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)
                            .where(events.c.type == "unsubscribed")).scalar() == 1
    # the rest of the course goes to Ken only
    run_course(engine, engine.clock)
    assert {m.to for m in engine.provider.outbox[2:]} == {"Maria <ken@example.com>"}


def test_preferences_page_stops_one_course_and_resubscribe_restarts_it(
        site: tuple[Engine, FlaskClient]) -> None:
    engine, client = site
    _course_with_one_lesson_sent(engine, ["maria@example.com"])
    [manage] = _links(engine, "preferences")
    page = client.get(_path(manage))
    assert page.status_code == 200 and b"Unsubscribe from Mini &amp; Course" in page.data
    token = manage.rsplit("/", 1)[1]

    assert client.post(f"/unsubscribe/{token}", data={"scope": "course"}).status_code == 200
    sub = engine.store.subscriber_by_email("maria@example.com")
    campaign_id = engine.load("mini")[0]
    assert sub.status == "active" and engine.store.enrolment_status(sub.id, campaign_id) == "stopped"

    back = client.post(f"/resubscribe/{token}")
    assert back.status_code == 200 and b"Welcome back" in back.data
    assert engine.store.enrolment_status(sub.id, campaign_id) == "active"
    run_course(engine, engine.clock)
    assert len(engine.provider.outbox) == 3  # lessons 2 and 3 followed; lesson 1 not again


def test_tampered_and_foreign_tokens_get_400_and_change_nothing(site: tuple[Engine, FlaskClient]) -> None:
    engine, client = site
    _course_with_one_lesson_sent(engine, ["maria@example.com"])
    [url] = _links(engine, "unsubscribe")
    token = url.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    forged = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{mac}"
    for bad in (forged, token[:-3], "garbage", f"{payload}.{'A' * len(mac)}"):
        assert client.get(f"/unsubscribe/{bad}").status_code == 400
        assert client.post(f"/unsubscribe/{bad}", data={"List-Unsubscribe": "One-Click"}).status_code == 400
        assert client.post(f"/resubscribe/{bad}").status_code == 400
    # an unsubscribe token is not a confirmation token
    assert client.post(f"/confirm/{token}").status_code == 400
    assert engine.store.subscriber_by_email("maria@example.com").status == "active"


def test_a_suppressed_address_cannot_be_resubscribed_or_signed_up_again(
        site: tuple[Engine, FlaskClient]) -> None:
    engine, client = site
    _course_with_one_lesson_sent(engine, ["maria@example.com"])
    [url] = _links(engine, "unsubscribe")
    sub = engine.store.subscriber_by_email("maria@example.com")
    engine.store.suppress([sub.id], "complained", engine.clock())
    assert client.post(_path(url).replace("/unsubscribe/", "/resubscribe/")).status_code == 409
    before = len(engine.provider.outbox)
    assert client.post("/subscribe/mini", data={"email": "maria@example.com"}).status_code == 200
    assert len(engine.provider.outbox) == before  # no confirmation email to a complainer
    with engine.store.engine.connect() as conn:
        assert conn.execute(sa.select(enrolments.c.status)).scalar() == "stopped"
