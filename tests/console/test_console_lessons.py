"""The console's lesson editor, reordering and drafts, on the shipped glute course: a save
keeps the front matter it doesn't edit, a lesson that would not load or render is refused
with its line and nothing written, the preview renders the unsaved text for a sample
subscriber, and the engine never resends a moved lesson nor sends a draft."""

from __future__ import annotations

import re
from pathlib import Path

from sender.campaign import load_campaign
from sender.sample import find_lesson
from sender.subscribers import add_subscriber
from tests.console.conftest import COURSE, Console, log_in, make_console
from tests.test_engine import run_course

BASE = f"/console/campaigns/{COURSE}/lessons"
SECOND = "02-dominant-hamstrings"


def _form(c: Console, key: str) -> dict[str, str]:
    html = c.client.get(f"{BASE}/{key}").get_data(as_text=True)
    version = re.search(r'name="version" value="([^"]+)"', html)
    assert version, html
    lesson = next(x for x in load_campaign(c.engine.settings.path("campaigns_dir") / COURSE).all_lessons
                  if x.key == key)
    return {"subject": lesson.subject, "preheader": lesson.preheader, "body": lesson.body,
            "version": version.group(1)}


def _course(c: Console) -> Path:
    return c.engine.settings.path("campaigns_dir") / COURSE


def test_saving_a_lesson_keeps_the_front_matter_it_does_not_edit(console: Console) -> None:
    path = _course(console) / f"{SECOND}.md"
    before = path.read_text()
    form = {**_form(console, SECOND), "subject": "Hamstrings that take over",
            "body": "Hi {{ subscriber.first_name }},\r\n\r\nNew **body**."}
    response = console.post(f"{BASE}/{SECOND}", form)
    assert response.status_code == 302
    after = path.read_text()
    assert after.startswith("---\nsubject: \"Hamstrings that take over\"\n")
    for kept in ("position: 2\n", "delay: 2\n", "references: []\n"):
        assert kept in before and kept in after
    assert [line for line in before.splitlines() if line.startswith("teaser:")] == \
        [line for line in after.splitlines() if line.startswith("teaser:")]
    assert after.endswith("---\n\nHi {{ subscriber.first_name }},\n\nNew **body**.\n")
    assert load_campaign(_course(console)).lesson(2).subject == "Hamstrings that take over"


def test_a_lesson_that_would_not_render_is_refused_with_its_line(console: Console) -> None:
    path = _course(console) / f"{SECOND}.md"
    before = path.read_text()
    form = {**_form(console, SECOND), "body": "First line.\n\nHello {{ subscriber.nickname"}
    response = console.post(f"{BASE}/{SECOND}", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    body_line = load_campaign(_course(console)).lesson(2).body_line
    assert f"{SECOND}.md:{body_line + 2}: template error" in html
    assert f"line {body_line + 2} of {SECOND}.md" in html
    assert "Hello {{ subscriber.nickname</textarea>" in html  # the text typed is kept to fix
    assert path.read_text() == before


def test_a_save_over_someone_elses_is_refused(console: Console) -> None:
    path = _course(console) / f"{SECOND}.md"
    form = _form(console, SECOND)
    path.write_text(path.read_text().replace("Dominant Hamstrings", "Edited elsewhere", 1))
    response = console.post(f"{BASE}/{SECOND}", {**form, "body": "Mine."})
    assert response.status_code == 400
    assert "changed since this page was opened" in response.get_data(as_text=True)
    assert "Mine." not in path.read_text()


def test_the_preview_renders_the_unsaved_text_for_a_sample_subscriber(console: Console) -> None:
    path = _course(console) / f"{SECOND}.md"
    before = path.read_text()
    form = {**_form(console, SECOND), "subject": "Hi {{ subscriber.first_name }}",
            "body": "A *fresh* paragraph."}
    response = console.post(f"{BASE}/{SECOND}/preview", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<b>Hi Alex</b>" in html and "<em>fresh</em>" in html
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    assert path.read_text() == before
    broken = console.post(f"{BASE}/{SECOND}/preview", {**form, "body": "{{ subscriber.nickname"})
    assert "template error" in broken.get_data(as_text=True)


def test_the_lesson_forms_need_their_csrf_token(console: Console) -> None:
    path = _course(console) / f"{SECOND}.md"
    before = path.read_text()
    for url in (f"{BASE}/{SECOND}", f"{BASE}/{SECOND}/move", f"{BASE}/{SECOND}/draft"):
        response = console.client.post(url, data={**_form(console, SECOND), "direction": "up", "draft": "1"})
        assert response.status_code == 400, url
    assert path.read_text() == before


def test_the_editor_page_allows_only_its_own_script(console: Console) -> None:
    response = console.client.get(f"{BASE}/{SECOND}")
    policy = response.headers["Content-Security-Policy"]
    nonce = policy.split("script-src 'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in response.get_data(as_text=True)
    assert "unsafe-inline" not in policy.split("script-src")[1]


def _engine_console(glute_project: Path, sqlite_url: str) -> Console:
    c = make_console(glute_project, sqlite_url)
    assert log_in(c.client).status_code == 302
    add_subscriber(c.engine.store, "early@example.com", now=c.clock(), timezone="UTC")
    c.engine.enrol(COURSE)
    return c


def _sent(c: Console, email: str) -> list[str]:
    return [m.metadata["lesson"] for m in c.engine.provider.outbox if m.to == email]


def test_moving_a_lesson_renames_nothing_and_never_resends_it(glute_project: Path, sqlite_url: str) -> None:
    c = _engine_console(glute_project, sqlite_url)
    first = load_campaign(_course(c)).lessons[0].key
    names = sorted(p.name for p in _course(c).glob("*.md"))
    c.clock.advance_to(c.engine.store.next_due_at())
    c.engine.tick()
    assert _sent(c, "early@example.com") == [first]
    assert c.post(f"{BASE}/{first}/move", {"direction": "down"}).status_code == 302
    assert c.post(f"{BASE}/{first}/move", {"direction": "down"}).status_code == 302
    assert sorted(p.name for p in _course(c).glob("*.md")) == names
    order = [lesson.key for lesson in load_campaign(_course(c)).lessons]
    assert order.index(first) == 2
    add_subscriber(c.engine.store, "late@example.com", now=c.clock(), timezone="UTC")
    c.engine.enrol(COURSE)
    run_course(c.engine, c.clock)
    assert _sent(c, "early@example.com") == [first, *(k for k in order if k != first)]
    assert _sent(c, "late@example.com") == order


def test_a_draft_is_skipped_until_published_then_sent_next(glute_project: Path, sqlite_url: str) -> None:
    c = _engine_console(glute_project, sqlite_url)
    keys = [lesson.key for lesson in load_campaign(_course(c)).lessons]
    draft = keys[2]
    assert c.post(f"{BASE}/{draft}/draft", {"draft": "1"}).status_code == 302
    campaign = load_campaign(_course(c))
    assert [lesson.key for lesson in campaign.lessons] == [k for k in keys if k != draft]
    assert [lesson.key for lesson in campaign.all_lessons] == keys  # the editor and preview list it
    assert c.client.get(f"{BASE}/{draft}").status_code == 200
    assert find_lesson(campaign, draft).draft  # `drip render` and the preview find it
    for _ in range(3):  # lessons 1, 2 and 4
        c.clock.advance_to(c.engine.store.next_due_at())
        c.engine.tick()
    assert _sent(c, "early@example.com") == [keys[0], keys[1], keys[3]]
    # Published: those still enrolled who have not had it get it next, even past its place.
    assert c.post(f"{BASE}/{draft}/draft", {"draft": "0"}).status_code == 302
    run_course(c.engine, c.clock)
    assert _sent(c, "early@example.com") == [keys[0], keys[1], keys[3], draft, keys[4]]


def test_the_only_published_lesson_cannot_become_a_draft(glute_project: Path, sqlite_url: str) -> None:
    c = make_console(glute_project, sqlite_url)
    assert log_in(c.client).status_code == 302
    keys = [lesson.key for lesson in load_campaign(_course(c)).lessons]
    for key in keys[1:]:
        assert c.post(f"{BASE}/{key}/draft", {"draft": "1"}).status_code == 302
    response = c.post(f"{BASE}/{keys[0]}/draft", {"draft": "1"})
    assert response.status_code == 400
    assert "the only published lesson can&#39;t be a draft" in response.get_data(as_text=True)
