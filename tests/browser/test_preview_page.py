"""The preview page in headless Chromium: phone and desktop frames, live reload of an
edited lesson, errors shown in the page, a test send through the provider."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Preview

# Live reload takes about a second; a busy machine may take far longer, and the test only
# asserts that the page does reload (the figure belongs in a benchmark, not here).
RELOAD_WAIT_MS = 30_000

pytestmark = pytest.mark.browser

LESSON = "02-dominant-hamstrings"


def _open(preview: Preview, browser: Any, query: str = "") -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{preview.base}/preview/glute-activation/{LESSON}{query}")
    return page


def test_lesson_shown_at_phone_and_desktop_width_with_text_headers_and_inbox_row(
        preview: Preview, browser: Any) -> None:
    page = _open(preview, browser,
                 "?name=%3Cscript%3Ewindow.hacked%3D1%3C%2Fscript%3E+Ann&timezone=Asia/Tokyo")
    inbox = page.get_by_label("Inbox row")
    expect(inbox).to_contain_text("BIM Kinesiology")
    expect(inbox).to_contain_text("Dominant Hamstrings")
    expect(inbox).to_contain_text("The problem with dominant hamstrings")
    phone = page.frame_locator("iframe[title^='Phone']")
    desktop = page.frame_locator("iframe[title^='Desktop']")
    assert page.locator("iframe[title^='Phone']").bounding_box()["width"] == 375
    assert page.locator("iframe[title^='Desktop']").bounding_box()["width"] >= 600
    for frame in (phone, desktop):
        expect(frame.get_by_text("Hi <script>window.hacked=1</script>,")).to_be_visible()  # escaped, shown
        expect(frame.get_by_role("link", name="Reply with a question")).to_be_visible()
    assert page.evaluate("window.hacked") is None  # nothing ran, in the page or the frames
    expect(page.locator("#plain-text")).to_contain_text("Hi <script>window.hacked=1</script>,")
    expect(page.locator("#plain-text")).to_contain_text("Lesson 3 arrives")
    expect(page.locator("#headers")).to_contain_text("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    expect(page.locator("#headers")).to_contain_text("Subject: Dominant Hamstrings")
    expect(page.get_by_text("For <script>window.hacked=1</script> Ann in Asia/Tokyo")).to_be_visible()
    page.close()


def test_saving_a_lesson_shows_the_new_subject(preview: Preview, browser: Any) -> None:
    page = _open(preview, browser)
    subject = page.get_by_label("Inbox row").locator(".subject")
    expect(subject).to_have_text("Dominant Hamstrings")
    path = preview.lesson_file(LESSON)
    path.write_text(path.read_text(encoding="utf-8").replace("subject: Dominant Hamstrings",
                                                             "subject: Hamstrings that take over"),
                    encoding="utf-8")
    expect(subject).to_have_text("Hamstrings that take over", timeout=RELOAD_WAIT_MS)
    phone_heading = page.frame_locator("iframe[title^='Phone']").locator("h1")
    expect(phone_heading).to_have_text("Hamstrings that take over")
    page.close()


def test_saving_a_template_reloads_too(preview: Preview, browser: Any) -> None:
    page = _open(preview, browser)
    expect(page.frame_locator("iframe[title^='Phone']").get_by_role("link", name="Manage preferences")) \
        .to_be_visible()
    footer = preview.project / "templates" / "partials" / "footer.mjml"
    footer.write_text(footer.read_text(encoding="utf-8").replace(">Manage preferences<", ">Your settings<"),
                      encoding="utf-8")
    expect(page.frame_locator("iframe[title^='Phone']").get_by_role("link", name="Your settings")) \
        .to_be_visible(timeout=RELOAD_WAIT_MS)
    page.close()


def test_an_undefined_variable_is_a_readable_error_in_the_page(preview: Preview, browser: Any) -> None:
    path = preview.lesson_file(LESSON)
    original = path.read_text(encoding="utf-8")
    broken = original.replace("But that’s not the end", "But {{ subscriber.nickname }}, that’s not the end")
    path.write_text(broken, encoding="utf-8")
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "nickname" in text)
    page = _open(preview, browser)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"{path}: undefined variable: this subscriber has no field 'nickname', "
                                  f"at line {line}: {{{{ subscriber.nickname }}}}")
    assert "Traceback" not in page.content()
    path.write_text(original, encoding="utf-8")  # fixed: the page comes back by itself
    subject = page.get_by_label("Inbox row").locator(".subject")
    expect(subject).to_have_text("Dominant Hamstrings", timeout=RELOAD_WAIT_MS)
    page.close()


def test_send_a_test_of_the_current_lesson(preview: Preview, browser: Any) -> None:
    page = _open(preview, browser, "?name=Ann+Lee&timezone=Europe/Lisbon")
    page.get_by_label("To", exact=True).fill("staff@example.com")
    page.get_by_role("button", name="Send this lesson").click()
    expect(page.get_by_role("status")).to_contain_text("Test sent to Ann Lee <staff@example.com>")
    [sent] = preview.engine.provider.outbox
    assert sent.subject == "[Test] Dominant Hamstrings" and "Hi Ann," in sent.text
    page.close()


def test_index_lists_campaigns_with_timing(preview: Preview, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{preview.base}/preview/?timezone=Asia/Tokyo")
    row = page.get_by_role("row").filter(has_text="Tight Hip Flexors")
    expect(row).to_contain_text("2 days after lesson 2, 09:00–11:00, any day")
    expect(row).to_contain_text("09:00 JST")
    row.get_by_role("link", name="Tight Hip Flexors").click()
    expect(page.get_by_label("Inbox row")).to_contain_text("Tight Hip Flexors")
    page.close()
