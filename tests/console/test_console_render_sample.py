"""The console's previews are the preview app's emails: the lesson editor's live preview
and the newsletter form's preview render the sample subscriber's email as `drip preview`
does (`sender.sample.render_sample`), so a second way of setting one up shows up here as
two different emails for the same lesson."""

from __future__ import annotations

import html
import re
from io import BytesIO
from typing import Any

import pytest
from flask.testing import FlaskClient

from sender.campaign import load_campaign
from sender.web import create_app
from tests.console.conftest import COURSE, Console

BASE = f"/console/campaigns/{COURSE}/lessons"
# What the editor's frame adds above the email: the inbox line (subject, To).
INBOX = re.compile(r'(<body[^>]*>)<div style="font:14px sans-serif;[^"]*">.*?</div>', re.S)
LETTER = ("---\nsubject: Spring news\npreheader: What grew this month\n---\n"
          "Hey {{ subscriber.first_name }},\n\nThe [new course](https://example.com/course) opens Monday.\n")


def _preview_app(c: Console) -> FlaskClient:
    """`drip preview` over the console's engine: the same settings, store, clock and signing key."""
    return create_app(c.engine, public=True, preview=True, console=False).test_client()


def _editor_preview(c: Console, key: str) -> str:
    """The editor's live preview of the lesson's text as saved, without the frame's inbox line."""
    lesson = next(x for x in load_campaign(c.engine.settings.path("campaigns_dir") / COURSE).all_lessons
                  if x.key == key)
    answer = c.post(f"{BASE}/{key}/preview", {"subject": lesson.subject, "preheader": lesson.preheader,
                                              "body": lesson.body})
    assert answer.status_code == 200
    shown = answer.get_data(as_text=True)
    assert "can't be sent" not in shown, shown
    email, inbox_lines = INBOX.subn(r"\1", shown, count=1)
    assert inbox_lines == 1, shown[:500]
    return email


@pytest.mark.parametrize("draft", [False, True])
def test_the_lesson_editor_previews_the_email_the_preview_shows(sqlite_console: Console, draft: bool) -> None:
    """Each lesson, dated when it would reach the sample subscriber enrolled now: its "Lesson
    N arrives <day>" line, links and unsubscribe token are the preview's."""
    c = sqlite_console
    folder = c.engine.settings.path("campaigns_dir") / COURSE
    if draft:  # a draft is previewed as it will be once published, by both
        second = load_campaign(folder).lessons[1].key
        assert c.post(f"{BASE}/{second}/draft", {"draft": "1"}).status_code == 302
    lessons = load_campaign(folder).all_lessons
    assert len(lessons) >= 3 and any(lesson.draft for lesson in lessons) == draft
    preview, dated = _preview_app(c), 0
    for lesson in lessons:
        shown = preview.get(f"/preview/{COURSE}/{lesson.key}/email.html")
        assert shown.status_code == 200, shown.text
        assert "Hi Alex," in shown.text
        dated += bool(re.search(r"Lesson \d+ arrives \w+day\.", shown.text))
        assert _editor_preview(c, lesson.key) == shown.text, lesson.key
    assert dated >= 2  # each but the last names the next one's day: a date that could drift


def _srcdoc(answer: Any) -> str:
    found = re.search(r'<iframe class="email" title="Newsletter preview" sandbox="" srcdoc="([^"]*)"',
                      answer.get_data(as_text=True))
    assert found, answer.get_data(as_text=True)[:2000]
    return html.unescape(found.group(1))


def test_the_newsletter_form_previews_the_email_the_preview_shows(sqlite_console: Console) -> None:
    """The same Markdown, uploaded to the console's form and put in the newsletters folder
    for `drip preview`, is one email: the newsletter template, one greeting, the same links."""
    c = sqlite_console
    folder = c.engine.settings.path("newsletters_dir")
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{c.clock():%Y%m%d}-spring-news.md"  # as the console would save it
    (folder / name).write_text(LETTER, encoding="utf-8")
    shown = _preview_app(c).get(f"/preview/newsletters/{name}/email.html")
    assert shown.status_code == 200, shown.text
    assert shown.text.count("Hey Alex,") == 1

    answer = c.post("/console/newsletters", {"action": "preview", "timezone": "UTC",
                                             "file": (BytesIO(LETTER.encode()), "spring.md")},
                    content_type="multipart/form-data")
    assert answer.status_code == 200
    assert _srcdoc(answer) == shown.text
