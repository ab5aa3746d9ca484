"""Segments in the console (issue 16): the live count endpoint, Start with a tag
expression, and, in Chromium, the count shown as staff type."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sender.store import console as queries
from sender.subscribers import add_subscriber
from tests.conftest import live_server
from tests.console.conftest import COURSE, PASSWORD, Console, make_console

PEOPLE = {"ana@example.com": ["vip", "en"], "ben@example.com": ["vip", "churned"],
          "cy@example.com": ["beta", "en"], "di@example.com": []}


def _people(c: Console) -> None:
    for email, tags in PEOPLE.items():
        add_subscriber(c.engine.store, email, now=c.clock(), name=email[:3].title(), timezone="UTC",
                       tags=tags)


def test_the_count_endpoint_counts_an_expression_or_names_its_error(console: Console) -> None:
    c = console
    _people(c)
    answer = c.client.get("/console/segments/count", query_string={"q": "(beta OR vip) AND NOT churned"})
    assert (answer.status_code, answer.get_json()) == (
        200, {"count": 2, "text": "matches 2 active subscribers"})
    one = c.client.get("/console/segments/count", query_string={"q": "churned"}).get_json()
    assert one == {"count": 1, "text": "matches 1 active subscriber"}
    everyone = c.client.get("/console/segments/count", query_string={"q": " "}).get_json()
    assert everyone == {"count": 4, "text": "everyone: 4 active subscribers"}
    bad = c.client.get("/console/segments/count", query_string={"q": "vip AND"})
    assert (bad.status_code, bad.get_json()) == (
        400, {"error": "segment 'vip AND': expected a tag after AND, at the end"})
    c.post("/console/logout")
    assert c.client.get("/console/segments/count?q=vip").status_code == 302  # staff only


def test_start_enrols_exactly_an_expressions_segment(console: Console) -> None:
    c = console
    _people(c)
    bad = c.post(f"/console/campaigns/{COURSE}/start", {"audience": "tag", "tag": "vip OR"})
    assert bad.status_code == 400
    said = html.unescape(bad.get_data(as_text=True))
    assert "segment 'vip OR': expected a tag after OR, at the end" in said
    assert c.engine.store.campaign_by_slug(COURSE) is None  # nothing stored for a malformed segment
    form = {"audience": "tag", "tag": "en OR vip AND NOT churned"}
    assert c.post(f"/console/campaigns/{COURSE}/start", form).status_code == 200  # the confirmation
    answer = c.post(f"/console/campaigns/{COURSE}/start", {**form, "expected": "2"})
    assert answer.status_code == 302
    shown = html.unescape(c.client.get(answer.headers["Location"]).get_data(as_text=True))
    assert f"Enrolled 2 new subscriber(s) matching en OR vip AND NOT churned in {COURSE}." in shown
    row = c.engine.store.campaign_by_slug(COURSE)
    assert queries.enrolment_counts(c.engine.store)[row.id] == {"active": 2}
    with c.engine.store.engine.connect() as conn:
        emails = set(conn.execute(sa.text("SELECT s.email FROM enrolments e JOIN subscribers s "
                                          "ON s.id = e.subscriber_id")).scalars())
    assert emails == {"ana@example.com", "cy@example.com"}


@pytest.mark.browser
def test_typing_a_segment_shows_how_many_it_matches(glute_project: Path, sqlite_url: str,
                                                    browser: Any) -> None:
    c = make_console(glute_project, sqlite_url)
    _people(c)
    with live_server(c.app) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(base + "/console/login")
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(base + "/console/")

        page.goto(base + "/console/newsletters")
        field = page.get_by_label("Only subscribers tagged")
        field.press_sequentially("vip AND NOT churned", delay=20)
        hint = page.locator("#newsletter-segment-count")
        hint.get_by_text("matches 1 active subscriber").wait_for()
        field.press_sequentially(" AND", delay=20)
        hint.get_by_text("segment 'vip AND NOT churned AND': expected a tag after AND, at the end") \
            .wait_for()
        field.fill("")
        field.press_sequentially("en", delay=20)
        hint.get_by_text("matches 2 active subscribers").wait_for()

        page.goto(base + f"/console/campaigns/{COURSE}")
        tag = page.get_by_label("Tag", exact=True)
        tag.press_sequentially("(beta OR vip)", delay=20)
        start_hint = page.locator("#start-segment-count")
        start_hint.get_by_text("matches 3 active subscribers").wait_for()
        assert blocked == []  # the script ran by its nonce, nothing refused
        context.close()
