"""The console in headless Chromium, as staff use it: log in (after a wrong
password), import a CSV, start the glute course, see the schedule chart,
schedule and cancel a newsletter, open a subscriber's timeline, log out. A
subscriber named like an XSS attack shows as text; a form without its CSRF token
is refused; the campaign page is photographed at 1280 px and 390 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, live_server
from tests.console.conftest import COURSE, PASSWORD, make_console

pytestmark = pytest.mark.browser
ARTIFACTS = REPO / "tests" / "artifacts"
EVIL = "<img src=x onerror=alert(1)>"


def test_staff_run_a_course_from_the_console(glute_project: Path, sqlite_url: str, browser: Any,
                                             tmp_path: Path) -> None:
    c = make_console(glute_project, sqlite_url)
    people = tmp_path / "people.csv"
    people.write_text("email,name,timezone,tags\nmaria@example.com,Maria,Europe/Lisbon,vip\n"
                      f"ken@example.com,Ken,Asia/Tokyo,\nevil@example.com,\"{EVIL}\",,\nnot-an-address,X,,\n")
    ARTIFACTS.mkdir(exist_ok=True)
    dialogs: list[str] = []
    with live_server(c.app) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        page.goto(base + "/console/subscribers")
        assert page.url.startswith(base + "/console/login?next=")
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Wrong user name or password.").wait_for()
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(base + "/console/subscribers")

        # A form posted without its token, with the browser's own session cookie: refused.
        forged = context.request.post(base + f"/console/campaigns/{COURSE}/start", form={"audience": "all"},
                                      max_redirects=0)
        assert forged.status == 400
        assert c.engine.store.campaign_by_slug(COURSE) is None

        page.get_by_label("CSV file").set_input_files(str(people))
        page.get_by_role("button", name="Import").click()
        page.get_by_text("new 3, updated 0, duplicate 0, rejected 1").wait_for()
        assert page.get_by_text("people.csv:5: rejected: email 'not-an-address' is not valid").is_visible()

        page.get_by_role("link", name="Campaigns").click()
        page.get_by_role("link", name="4 Reasons Why You Can’t Activate Your Glutes").click()
        page.get_by_role("button", name="Enrol").click()
        page.get_by_role("button", name="Enrol 3 and send lesson 1").click()  # the confirmation step
        page.get_by_text(f"Enrolled 3 new subscriber(s) in {COURSE}.").wait_for()
        sent_before = len(c.engine.provider.outbox)
        page.get_by_label("To").fill("staff@bimkinesiology.ca")
        page.get_by_role("button", name="Send test").click()
        page.get_by_text("Sent a test of lesson 1").wait_for()
        assert c.engine.provider.outbox[sent_before].subject.startswith("[Test] ")
        assert page.locator("svg.chart-wide").first.is_visible()
        page.screenshot(path=str(ARTIFACTS / "console-campaign-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.locator("svg.chart-narrow").first.is_visible()
        assert not page.locator("svg.chart-wide").first.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        page.screenshot(path=str(ARTIFACTS / "console-campaign-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

        page.get_by_role("link", name="Schedule").click()
        chart = page.locator("svg.chart-wide")
        chart.wait_for()
        assert chart.get_attribute("aria-label") == "Upcoming sends per day (UTC)"
        assert page.locator("svg.chart-wide rect title").filter(has_text="next lesson 3").count() == 1

        page.get_by_role("link", name="Newsletters").click()
        page.get_by_label("Subject", exact=True).fill("Spring news")
        page.get_by_label("Body").fill("Hello {{ subscriber.first_name }}.")
        page.get_by_label("Send at").fill("2026-04-01T09:00")
        page.get_by_role("button", name="Schedule").click()
        page.get_by_text("Scheduled newsletter 1 ('Spring news') for 2026-04-01T09:00 UTC").wait_for()
        page.get_by_role("button", name="Cancel newsletter 1").click()
        page.get_by_text("Cancelled newsletter 1").wait_for()
        assert c.engine.store.newsletters()[0].status == "cancelled"

        page.get_by_role("link", name="Subscribers").click()
        page.get_by_label("Email contains").fill("evil")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name="evil@example.com").click()
        assert page.get_by_text(EVIL, exact=True).first.is_visible()  # the name, as text
        assert page.locator("img").count() == 0
        timeline = page.locator("ol.timeline strong").all_inner_texts()
        assert timeline == ["added", "enrolled"]

        page.get_by_role("button", name="Log out admin").click()
        page.wait_for_url(base + "/console/login")
        page.goto(base + "/console/")
        assert page.url.startswith(base + "/console/login")
        context.close()
    assert dialogs == []  # no script ran
    assert (ARTIFACTS / "console-campaign-390.png").stat().st_size > 10_000
