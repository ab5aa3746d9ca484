"""The console's background CSV import in headless Chromium: staff upload a file, the
progress bar fills in without the page reloading (under the console's CSP: its script is a
file allowed by the nonce), and ends with the report, rejected rows by line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, live_server
from tests.console.conftest import PASSWORD, make_console

pytestmark = pytest.mark.browser
ARTIFACTS = REPO / "tests" / "artifacts"
DEADLINE_MS = 180_000  # generous for a loaded machine; not a measure of speed


def test_staff_watch_a_big_import_reach_done(glute_project: Path, sqlite_url: str, browser: Any,
                                             tmp_path: Path) -> None:
    c = make_console(glute_project, sqlite_url)
    c.app.config["CONSOLE_IMPORT_WAIT"] = 0  # the progress page, whatever the file's size
    rows = 3000
    people = tmp_path / "people.csv"
    people.write_text("email,name\n" + "".join(f"p{i:05d}@example.com,Person {i}\n" for i in range(rows))
                      + "not-an-address,X\n")  # line rows + 2
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with live_server(c.app) as base:
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(base + "/console/subscribers")
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(base + "/console/subscribers")

        page.get_by_label("CSV file").set_input_files(str(people))
        page.get_by_role("button", name="Import").click()
        page.wait_for_url(base + "/console/subscribers/import/*")
        bar = page.locator("progress#import-bar")
        assert bar.get_attribute("max") == str(rows + 1)
        page.evaluate("window.sameDocument = true")  # gone if the page reloads

        page.locator("#import[data-state=done]").wait_for(timeout=DEADLINE_MS)
        assert page.evaluate("window.sameDocument") is True
        assert bar.evaluate("b => [b.value, b.max]") == [rows + 1, rows + 1]
        assert page.get_by_role("status").inner_text() == f"new {rows}, updated 0, duplicate 0, rejected 1"
        assert page.get_by_role("heading", name="Imported people.csv").is_visible()
        assert page.get_by_text(f"people.csv:{rows + 2}: rejected: email 'not-an-address' is not valid"
                                ).is_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(ARTIFACTS / "console-import-390.png"), full_page=True)
    assert len(c.engine.store.subscribers()) == rows
    assert not [e for e in errors if "Content Security Policy" in e], errors
