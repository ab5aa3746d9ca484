"""The console's newsletter form and list: a time past, the audience, one greeting, each
issue's own count (issue 15)."""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path
from typing import Any

from sender.newsletters import schedule_newsletter
from sender.subscribers import add_subscriber
from tests.console.conftest import Console

# The console's clock: 2026-03-25 12:00 UTC.
FORM = {"subject": "Spring news", "preheader": "", "body": "Body.", "timezone": "UTC", "action": "schedule"}


def _said(answer: Any) -> str:
    return html.unescape(answer.get_data(as_text=True))


def _people(c: Console, *emails: str, tags: tuple[str, ...] = ()) -> None:
    for email in emails:
        add_subscriber(c.engine.store, email, now=c.clock(), name=email[:3].title(), timezone="UTC",
                       tags=tags)


def test_a_time_past_is_refused_unless_send_now_is_ticked(console: Console) -> None:
    c = console
    _people(c, "ana@example.com")
    past = c.post("/console/newsletters", {**FORM, "at": "2026-03-25T11:00"})
    assert past.status_code == 400
    assert ("--at 2026-03-25 11:00 is in the past: it is now 2026-03-25 12:00 in UTC; "
            "tick “Send now” to send it at the next tick anyway") in _said(past)
    assert not c.engine.store.newsletters()
    assert not list(c.engine.settings.path("newsletters_dir").glob("*.md"))  # no file left behind

    done = c.post("/console/newsletters", {**FORM, "at": "2026-03-25T11:00", "now": "1"})
    assert done.status_code == 302
    page = _said(c.client.get("/console/newsletters"))
    assert ("Scheduled newsletter 1 ('Spring news') for 2026-03-25T11:00 UTC, to 1 active subscriber; "
            "saved as 20260325-spring-news.md.") in page
    assert c.engine.tick().sent == 1


def test_a_segment_of_nobody_is_refused_and_the_audience_is_said(console: Console) -> None:
    c = console
    _people(c, "ana@example.com", "ben@example.com", tags=("vip",))
    typo = c.post("/console/newsletters", {**FORM, "at": "2026-04-01T09:00", "segment": "vpi"})
    assert typo.status_code == 400
    assert "segment 'vpi' matches no active subscriber; tags in use: vip" in _said(typo)
    vip = c.post("/console/newsletters", {**FORM, "at": "2026-04-01T09:00", "segment": "vip"})
    assert vip.status_code == 302
    assert ", to 2 subscribers tagged vip;" in _said(c.client.get("/console/newsletters"))


def test_the_preview_greets_once(sqlite_console: Console) -> None:
    c = sqlite_console
    mine = c.post("/console/newsletters", {**FORM, "body": "Hey {{ subscriber.first_name }},\n\nNews.",
                                           "action": "preview"})
    shown = _said(mine)
    assert shown.count("Hey Alex,") == 2 and "Hi Alex," not in shown  # the HTML (in srcdoc) and the text
    template = _said(c.post("/console/newsletters", {**FORM, "body": "News.", "action": "preview"}))
    assert template.count("Hi Alex,") == 2


def test_each_issue_counts_its_own_deliveries(sqlite_console: Console, tmp_path: Path) -> None:
    c = sqlite_console
    _people(c, "ana@example.com", tags=("vip",))
    _people(c, "ben@example.com", "cy@example.com")
    letter = tmp_path / "news.md"
    letter.write_text("---\nsubject: News\n---\nBody.\n")
    for segment in ("vip", None):  # the same file for the same time: two issues
        schedule_newsletter(c.engine.store, letter, at="2026-03-26 09:00", cron=None, local=False,
                            segment=segment, timezone="UTC", now=c.clock())
    c.clock.advance_to(c.clock() + timedelta(days=1))
    assert c.engine.tick().sent == 4
    page = c.client.get("/console/newsletters").get_data(as_text=True)
    sent = [cells.split('<td class="n">')[1].split("<")[0] for cells in page.split("<tr><td>")[1:3]]
    assert sent == ["3", "1"]  # newest first: everyone, then vip
