"""The unsubscribe page in headless Chromium, and a one-click POST over real HTTP as
a mailbox provider sends it (RFC 8058: no cookies, no page, done within the request)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from sender.web import create_app
from tests.conftest import DEADLINE, live_server
from tests.test_engine import make_engine
from tests.web.test_public import _course_with_one_lesson_sent

pytestmark = pytest.mark.browser


def test_unsubscribe_page_in_a_browser_and_one_click_over_http(project: Path, sqlite_url: str,
                                                                 browser: object) -> None:
    engine, _ = make_engine(project, sqlite_url)
    _course_with_one_lesson_sent(engine, ["maria@example.com", "ken@example.com"])
    urls = {m.to: re.match(r"<(https?://[^>]+)>", m.headers["List-Unsubscribe"]).group(1)
            for m in engine.provider.outbox}
    maria_url = urls["Maria <maria@example.com>"]
    ken_url = urls["Maria <ken@example.com>"]
    with live_server(create_app(engine)) as base:
        page = browser.new_page(viewport={"width": 375, "height": 740})  # type: ignore[attr-defined]
        page.goto(base + "/" + maria_url.split("/", 3)[3])
        button = page.get_by_role("button", name="Unsubscribe from Mini & Course")
        assert button.bounding_box()["height"] >= 44  # a finger-sized target on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        button.click()
        page.get_by_text("You will get no more lessons.").wait_for()
        assert page.get_by_role("button", name="Resubscribe to Mini & Course").is_visible()
        page.close()
        maria = engine.store.subscriber_by_email("maria@example.com")
        campaign_id = engine.load("mini")[0]
        assert maria.status == "active"  # this course only: she keeps anything else
        assert engine.store.enrolment_status(maria.id, campaign_id) == "stopped"

        # What Gmail's unsubscribe button sends: a bare POST, no cookies, no redirects followed.
        answer = requests.post(base + "/" + ken_url.split("/", 3)[3], data="List-Unsubscribe=One-Click",
                               headers={"Content-Type": "application/x-www-form-urlencoded"},
                               allow_redirects=False, timeout=DEADLINE)
        assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
        assert engine.store.subscriber_by_email("ken@example.com").status == "unsubscribed"
