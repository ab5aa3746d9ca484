"""The lesson editor in headless Chromium: the preview follows the typing, a save
writes the file, a broken placeholder is refused with its line, and lessons move and
become drafts from the list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sender.campaign import load_campaign
from tests.conftest import live_server
from tests.console.conftest import COURSE, PASSWORD, make_console

pytestmark = pytest.mark.browser
SECOND = "02-dominant-hamstrings"


def test_staff_edit_preview_save_reorder_and_draft(glute_project: Path, sqlite_url: str,
                                                  browser: Any) -> None:
    c = make_console(glute_project, sqlite_url)
    course = glute_project / "campaigns" / COURSE
    errors: list[str] = []
    with live_server(c.app) as base:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(base + f"/console/campaigns/{COURSE}/lessons/{SECOND}")
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(base + f"/console/campaigns/{COURSE}/lessons/{SECOND}")

        frame = page.frame_locator("iframe[name=lesson-preview]")
        frame.get_by_text("Dominant Hamstrings").first.wait_for()  # shown on load
        page.get_by_label("Subject").fill("Hamstrings for {{ subscriber.first_name }}")
        page.get_by_label("Body").fill("Live **preview** text.")
        frame.get_by_role("heading", name="Hamstrings for Alex").wait_for()  # typed, not saved
        frame.get_by_text("Live preview text.").first.wait_for()
        assert "Live" not in (course / f"{SECOND}.md").read_text()
        page.get_by_role("button", name="Save").click()
        page.get_by_text(f"Saved {SECOND}.md.").wait_for()
        assert "Live **preview** text." in (course / f"{SECOND}.md").read_text()

        before = (course / f"{SECOND}.md").read_text()
        page.get_by_label("Body").fill("One.\n\nTwo {{ subscriber.nickname")
        page.get_by_role("button", name="Save").click()
        line = load_campaign(course).lesson(2).body_line + 2
        page.get_by_text(f"Not saved (line {line} of {SECOND}.md)").wait_for()
        assert (course / f"{SECOND}.md").read_text() == before

        page.goto(base + f"/console/campaigns/{COURSE}/lessons")
        page.get_by_role("button", name="Move Hamstrings for {{ subscriber.first_name }} up").click()
        page.get_by_text("Moved 'Hamstrings for {{ subscriber.first_name }}' up.").wait_for()
        assert load_campaign(course).lessons[0].key == SECOND
        page.get_by_role("button", name="Make a draft of Tight Hip Flexors").click()
        page.get_by_text("'Tight Hip Flexors' is a draft").wait_for()
        assert "03-tight-hip-flexors" not in [lesson.key for lesson in load_campaign(course).lessons]
        assert page.locator("tr[data-key='03-tight-hip-flexors'] .pill").inner_text() == "draft"
    assert not [e for e in errors if "Content Security Policy" in e]
