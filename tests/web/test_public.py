"""Public pages against a real store: double opt-in, unsubscribe (page and RFC 8058
one-click), preferences, resubscribe, and signed-link checks."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from sender.engine import Engine
from sender.providers.base import SendResult
from sender.providers.memory import MemoryProvider
from sender.store.schema import enrolments, events, suppressions
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


def test_the_page_offers_resubscribing_exactly_when_it_would_work(site: tuple[Engine, FlaskClient]) -> None:
    """One rule for "may come back": an address on the suppression list (here, one that was
    suppressed before this subscriber row existed) is neither offered nor taken back."""
    engine, client = site
    _course_with_one_lesson_sent(engine, ["maria@example.com"])
    [manage] = _links(engine, "preferences")
    token = manage.rsplit("/", 1)[1]
    assert client.post(f"/unsubscribe/{token}", data={"scope": "course"}).status_code == 200
    assert b"Resubscribe to" in client.get(_path(manage)).data
    with engine.store.begin() as conn:
        conn.execute(suppressions.insert().values(
            email_hash=engine.store.email_hash("Maria@example.com"), reason="complained",
            created_at=engine.clock()))
    assert b"Resubscribe to" not in client.get(_path(manage)).data
    assert client.post(f"/resubscribe/{token}").status_code == 409


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


# -- confirmation emails are limited ------------------------------------------------------


def test_a_second_confirmation_within_ten_minutes_is_not_sent_and_the_page_says_so(
        site: tuple[Engine, FlaskClient]) -> None:
    engine, client = site
    first = client.post("/subscribe/mini", data={"email": "ana@example.com"})
    assert first.status_code == 200 and b"We sent you an email" in first.data
    for attempt in range(14):  # the 15 POSTs of the report; the address spelt differently too
        email = "ana@example.com" if attempt % 2 else " ANA@Example.com "
        again = client.post("/subscribe/mini", data={"email": email})
        page = again.get_data(as_text=True)
        assert again.status_code == 429, page
        assert "We sent a link to ana@example.com a moment ago" in page
        assert "try again in 10 minutes" in page and int(again.headers["Retry-After"]) <= 600
    assert len(engine.provider.outbox) == 1
    engine.clock.advance_to(engine.clock() + timedelta(minutes=9, seconds=30))
    page = client.post("/subscribe/mini", data={"email": "ana@example.com"}).get_data(as_text=True)
    assert "try again in 1 minute." in page and len(engine.provider.outbox) == 1
    engine.clock.advance_to(engine.clock() + timedelta(seconds=30))
    assert client.post("/subscribe/mini", data={"email": "ana@example.com"}).status_code == 200
    assert [m.to for m in engine.provider.outbox] == ["ana@example.com"] * 2


def test_the_limit_answers_the_same_for_an_address_we_would_never_mail(
        site: tuple[Engine, FlaskClient]) -> None:
    """The repeat page must not tell a suppressed (or unknown) address from any other."""
    engine, client = site
    add_subscriber(engine.store, "gone@example.com", now=engine.clock())
    engine.store.suppress([engine.store.subscriber_by_email("gone@example.com").id], "complained",
                          engine.clock())
    answers = {}
    for email in ("gone@example.com", "new@example.com"):
        first = client.post("/subscribe/mini", data={"email": email})
        second = client.post("/subscribe/mini", data={"email": email})
        answers[email] = (first.status_code, first.data, second.status_code,
                          second.get_data(as_text=True).replace(email, "ADDRESS"))
    assert answers["gone@example.com"] == answers["new@example.com"]
    assert [m.to for m in engine.provider.outbox] == ["new@example.com"]


def test_one_client_gets_ten_confirmations_an_hour_others_are_not_held_up(
        site: tuple[Engine, FlaskClient]) -> None:
    engine, client = site
    here = {"REMOTE_ADDR": "203.0.113.7"}
    for i in range(10):
        assert client.post("/subscribe/mini", data={"email": f"p{i}@example.com"},
                           environ_base=here).status_code == 200
    refused = client.post("/subscribe/mini", data={"email": "p10@example.com"}, environ_base=here)
    assert refused.status_code == 429 and "Too many sign-ups just now" in refused.get_data(as_text=True)
    assert "try again in 60 minutes" in refused.get_data(as_text=True)
    assert engine.store.subscriber_by_email("p10@example.com") is None  # refused before anything is stored
    # the same IPv6 /64 is one client; another network is not held up by this one
    assert client.post("/subscribe/mini", data={"email": "q@example.com"},
                       environ_base={"REMOTE_ADDR": "2001:db8:1:2::5"}).status_code == 200
    assert client.post("/subscribe/mini", data={"email": "r@example.com"},
                       environ_base={"REMOTE_ADDR": "2001:db8:1:2:ffff::9"}).status_code == 200
    assert len(engine.provider.outbox) == 12
    engine.clock.advance_to(engine.clock() + timedelta(hours=1))
    assert client.post("/subscribe/mini", data={"email": "p10@example.com"},
                       environ_base=here).status_code == 200


def test_behind_a_proxy_on_this_machine_each_forwarded_client_counts_alone(
        site: tuple[Engine, FlaskClient]) -> None:
    _, client = site
    for i in range(10):  # the proxy (a loopback peer) names the client it saw last in the header
        client.post("/subscribe/mini", data={"email": f"p{i}@example.com"},
                    headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.1"})
    assert client.post("/subscribe/mini", data={"email": "x@example.com"},
                       headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429
    assert client.post("/subscribe/mini", data={"email": "y@example.com"},
                       headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 200
    # a client that is not on this machine can't pick its own address with the header
    spoofing = {"REMOTE_ADDR": "192.0.2.50"}
    for i in range(10):
        client.post("/subscribe/mini", data={"email": f"s{i}@example.com"}, environ_base=spoofing,
                    headers={"X-Forwarded-For": f"10.0.0.{i}"})
    assert client.post("/subscribe/mini", data={"email": "s10@example.com"}, environ_base=spoofing,
                       headers={"X-Forwarded-For": "10.9.9.9"}).status_code == 429


def test_every_process_counts_in_the_same_store(project: Path, db_url: str) -> None:
    """Two apps on two connection pools to one database: what `drip serve` processes are."""
    first, _ = make_engine(project, db_url)
    second, _ = make_engine(project, db_url)
    assert create_app(first).test_client().post("/subscribe/mini", data={"email": "ana@example.com"}
                                                ).status_code == 200
    assert create_app(second).test_client().post("/subscribe/mini", data={"email": "ana@example.com"}
                                                 ).status_code == 429
    assert len(first.provider.outbox) == 1  # (one shared memory mailbox)


def test_many_posts_at_once_send_one_confirmation(project: Path, db_url: str) -> None:
    engine, _ = make_engine(project, db_url)
    apps = [create_app(make_engine(project, db_url)[0]) for _ in range(6)]
    start = threading.Barrier(len(apps))

    def post(app: Any) -> int:
        start.wait(timeout=60)
        return app.test_client().post("/subscribe/mini", data={"email": "ana@example.com"}).status_code

    with ThreadPoolExecutor(len(apps)) as pool:
        codes = sorted(pool.map(post, apps))
    assert codes == [200] + [429] * (len(apps) - 1)
    assert len(engine.provider.outbox) == 1


def test_a_confirmation_the_provider_refused_does_not_count(project: Path, db_url: str) -> None:
    class Flaky(MemoryProvider):
        down = True

        def send_messages(self, messages):  # type: ignore[no-untyped-def]
            if self.down:
                return [SendResult(m, ok=False, error="503 from provider") for m in messages]
            return super().send_messages(messages)

    provider = Flaky("memory://flaky")
    provider.outbox.clear()
    engine, _ = make_engine(project, db_url, provider=provider)
    client = create_app(engine).test_client()
    assert client.post("/subscribe/mini", data={"email": "ken@example.com"}).status_code == 503
    provider.down = False
    answer = client.post("/subscribe/mini", data={"email": "ken@example.com"})  # "try again": it works
    assert answer.status_code == 200 and len(provider.outbox) == 1
    again = client.post("/subscribe/mini", data={"email": "ken@example.com"})
    assert again.status_code == 429  # a confirmation that went does count


def test_the_sign_up_page_writes_nothing_until_the_form_is_posted(site: tuple[Engine, FlaskClient]) -> None:
    # A GET must not take SQLite's one write lock: a send may be holding it.
    engine, client = site
    assert client.get("/subscribe/mini").status_code == 200
    assert engine.store.campaign_by_slug("mini") is None
    assert client.get("/subscribe/no-such-course").status_code == 404
