"""The security headers in headless Chromium: the pages still work under their CSP (the
subscribe form's time-zone script, the preview's frames and live reload), nothing is
reported as refused, and another site can't frame a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sender.web import create_app
from tests.conftest import live_server, wait_until
from tests.test_engine import make_engine

pytestmark = pytest.mark.browser


def _watch(page: Any) -> list[str]:
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return refused


def test_subscribe_form_runs_its_script_under_the_csp_and_says_when_it_already_sent(
        project: Path, sqlite_url: str, browser: Any) -> None:
    engine, _ = make_engine(project, sqlite_url)
    with live_server(create_app(engine)) as base:
        context = browser.new_context(timezone_id="Asia/Tokyo")
        page = context.new_page()
        refused = _watch(page)
        for _ in range(2):
            page.goto(base + "/subscribe/mini")
            page.get_by_label("Email").fill("ana@example.com")
            page.get_by_role("button", name="Start the course").click()
            page.get_by_role("heading", name="Check your inbox").wait_for()
        page.get_by_text("We sent a link to ana@example.com a moment ago").wait_for()
        context.close()
    # the browser's zone came from the inline script, which only its nonce lets run
    assert engine.store.subscriber_by_email("ana@example.com").timezone == "Asia/Tokyo"
    assert len(engine.provider.outbox) == 1
    assert refused == []


def test_preview_frames_its_own_email_and_no_other_site_can_frame_it(
        project: Path, sqlite_url: str, browser: Any, tmp_path: Path) -> None:
    engine, _ = make_engine(project, sqlite_url)
    with live_server(create_app(engine, preview=True)) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        refused = _watch(page)
        page.goto(base + "/preview/mini/01-start")
        phone = page.frame_locator("iframe[title^='Phone']")
        phone.get_by_role("link", name="Reply with a question").wait_for()
        # the page's script sized the frame to the email (it reads the framed document)
        page.wait_for_function("document.querySelector(\"iframe[title^='Phone']\").offsetHeight > 400")
        assert refused == []

        # A page of another origin (the same server under another name would be refused
        # outright; here a file: page) framing the preview gets nothing shown.
        framing = tmp_path / "framing.html"
        framing.write_text(f'<iframe id="f" src="{base}/preview/mini/01-start"></iframe>'
                           f'<iframe id="g" src="{base}/subscribe/mini"></iframe>')
        other = browser.new_page()
        blocked = _watch(other)
        other.goto(framing.as_uri())
        # other.wait_for_timeout, not time.sleep: the browser's console events arrive meanwhile
        wait_until(lambda: len([m for m in blocked if "frame-ancestors 'none'" in m]) >= 2,
                   pause=lambda seconds: other.wait_for_timeout(seconds * 1000))
        other.close()
        page.close()
    assert len([m for m in blocked if "frame-ancestors 'none'" in m]) == 2, blocked
