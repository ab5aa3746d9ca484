"""The preview page in headless Chromium: phone and desktop frames, live reload of an
edited lesson, errors shown in the page, a test send through the provider.

Every wait is the browser fixture's (tests.conftest.DEADLINE): live reload takes about a
second, a busy machine far longer, and these tests assert only that the page does reload."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, Preview
from tests.conftest import DEADLINE_MS

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
    expect(subject).to_have_text("Hamstrings that take over")
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
        .to_be_visible()
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
    expect(subject).to_have_text("Dominant Hamstrings")
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


# -- dark mode, client support, checks, a phone-sized screen ------------------------------------

LIGHT_CARD, DARK_CARD = "rgb(255, 255, 255)", "rgb(28, 34, 38)"  # the card's background, #1c2226 dark
DARK_TEXT = "rgb(228, 231, 235)"  # #e4e7eb: body text in the email's dark styles


def _card(page: Any, frame: str) -> Any:
    return page.frame_locator(f"iframe[title^='{frame}']").locator("div.card").first


def test_dark_mode_toggle_applies_the_emails_dark_styles(preview: Preview, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme="light")
    page.goto(f"{preview.base}/preview/glute-activation/{LESSON}")
    toggle = page.get_by_role("button", name="Dark mode")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    for frame in ("Phone", "Desktop"):
        expect(_card(page, frame)).to_have_css("background-color", LIGHT_CARD)
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    for frame in ("Phone", "Desktop"):  # the browser still prefers light: the email's own dark CSS applies
        expect(_card(page, frame)).to_have_css("background-color", DARK_CARD)
        body_text = page.frame_locator(f"iframe[title^='{frame}']").locator("td.body p:not(.muted)").first
        expect(body_text).to_have_css("color", DARK_TEXT)
    assert "scheme=dark" in page.url
    page.reload()  # as a live reload does: the choice stays
    expect(page.get_by_role("button", name="Dark mode")).to_have_attribute("aria-pressed", "true")
    expect(_card(page, "Phone")).to_have_css("background-color", DARK_CARD)
    page.get_by_role("button", name="Dark mode").click()
    expect(_card(page, "Phone")).to_have_css("background-color", LIGHT_CARD)
    page.close()
    # A browser that prefers dark still shows the light email until the toggle says dark.
    dark_browser = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    dark_browser.goto(f"{preview.base}/preview/glute-activation/{LESSON}")
    expect(_card(dark_browser, "Phone")).to_have_css("background-color", LIGHT_CARD)
    dark_browser.close()


def test_client_support_report_names_the_clients_lacking_each_feature(preview: Preview, browser: Any) -> None:
    page = _open(preview, browser)
    report = page.get_by_role("table", name="Client support")
    expect(page.get_by_text("caniemail 2.0.2, updated 2026-05-13")).to_be_visible()
    feature = page.get_by_role("link", name="@media (prefers-color-scheme)")
    dark_query = report.get_by_role("row").filter(has=feature)
    expect(dark_query.get_by_role("cell").nth(1)).to_contain_text("Gmail: Desktop Webmail, iOS, Android")
    expect(dark_query.get_by_role("cell").nth(1)).to_contain_text("Outlook: Windows")
    expect(dark_query.get_by_role("link")).to_have_attribute(
        "href", "https://www.caniemail.com/features/css-at-media-prefers-color-scheme/")
    radius = report.get_by_role("row").filter(has=page.get_by_role("link", name="border-radius", exact=True))
    expect(radius.get_by_role("cell").nth(1)).to_contain_text("Outlook: Windows")
    expect(report).not_to_contain_text("display:flex")  # not used by this email
    page.close()


def test_check_links_button_shows_each_status(preview: Preview, browser: Any) -> None:
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:
        server.expect_request("/ok").respond_with_data("fine")
        server.expect_request("/missing").respond_with_data("no", status=404)
        server.expect_request("/gone-soon").respond_with_data("", status=302,
                                                              headers={"Location": server.url_for("/ok")})
        # the footer's unsubscribe and preferences links go to this server too
        server.expect_request(re.compile(r"^/(unsubscribe|preferences)/")).respond_with_data("page")
        preview.engine.settings = preview.engine.settings.replace(base_url=server.url_for("/").rstrip("/"))
        path = preview.lesson_file(LESSON)
        text = path.read_text(encoding="utf-8").replace(
            "You can learn more about them HERE.",
            f"Read [the guide]({server.url_for('/ok')}), [the old page]({server.url_for('/missing')}) "
            f"and [the moved page]({server.url_for('/gone-soon')}).")
        path.write_text(text, encoding="utf-8")
        page = _open(preview, browser)
        links = page.get_by_role("table", name="Links")
        row = links.get_by_role("row").filter(has_text="the old page")
        expect(row).to_contain_text("not checked")
        assert server.log == []  # nothing asked at page load
        page.get_by_role("button", name="Check links").click()
        expect(row).to_contain_text("404 Not Found")
        expect(links.get_by_role("row").filter(has_text="the guide")).to_contain_text("200 OK")
        expect(links.get_by_role("row").filter(has_text="the moved page")).to_contain_text(
            f"1 redirect → 200 OK at {server.url_for('/ok')}")
        expect(page.get_by_text("1 of 5 links failed.")).to_be_visible()
        page.close()
    finally:
        server.clear()
        server.stop()


def test_spam_score_button(preview: Preview, browser: Any) -> None:
    import os

    from sender import spamcheck

    if spamcheck.find_spamassassin() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("spamassassin is required in CI (Debian package spamassassin)")
        pytest.skip("no spamassassin on PATH")
    page = _open(preview, browser)
    page.get_by_role("button", name="Spam score").click()
    expect(page.get_by_text("(5 or more is spam): not spam.")).to_be_visible(
        timeout=int(spamcheck.TIMEOUT_S * 1000) + DEADLINE_MS)  # spamassassin's own limit, then the page
    expect(page.locator("#spam-rules")).to_contain_text("HTML_MESSAGE")
    page.close()


def test_preview_pages_fit_a_390px_screen_and_screenshots(preview: Preview, browser: Any) -> None:
    folder = preview.project / "newsletters"
    folder.mkdir()
    (folder / "june.md").write_text("---\nsubject: June news at the studio\npreheader: New classes\n---\n"
                                    "A new studio opens in June.\n", encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = {"index": "/preview/", "lesson-02": f"/preview/glute-activation/{LESSON}",
             "newsletter": "/preview/newsletters/june.md", "confirm": "/preview/system/confirm"}
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        for name, path in pages.items():
            page.goto(f"{preview.base}{path}")
            expect(page.locator("h1")).to_be_visible()
            scroll = page.evaluate("document.scrollingElement.scrollWidth")
            assert scroll <= width, (name, width, scroll)
            if name in ("lesson-02", "index"):
                shot = ARTIFACTS / f"preview-{name}-{width}px.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
        if width == 390:  # the phone frame is shown whole at 375 px
            page.goto(f"{preview.base}{pages['lesson-02']}")
            box = page.locator("iframe[title^='Phone']").bounding_box()
            assert box["width"] == 375 and box["x"] >= 0 and box["x"] + 375 <= 390, box
        page.close()
