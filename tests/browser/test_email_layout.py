"""Every shipped glute lesson in headless Chromium: no sideways scrolling on a phone,
finger-sized buttons, centred at desktop width, readable in dark mode."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Preview

pytestmark = pytest.mark.browser

LESSONS = ["01-4-reasons-why-you-cant-activate-your-glutes", "02-dominant-hamstrings", "03-tight-hip-flexors",
           "04-low-back-pain", "05-knee-pain"]


def _email_url(preview: Preview, key: str) -> str:
    return f"{preview.base}/preview/glute-activation/{key}/email.html"


def test_each_lesson_on_a_phone_has_no_sideways_scroll_and_big_buttons(preview: Preview,
                                                                       browser: Any) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 740})
    for key in LESSONS:
        page.goto(_email_url(preview, key))
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]")
        assert max(widths[:2]) <= 375 == widths[2], (key, widths)
        buttons = page.locator(".btn a")
        assert buttons.count() >= 1, key
        for i in range(buttons.count()):
            box = buttons.nth(i).bounding_box()
            assert box["height"] >= 44, (key, buttons.nth(i).inner_text(), box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (key, box)
        assert page.get_by_role("link", name="Reply with a question").is_visible()
        assert page.get_by_role("link", name="Unsubscribe").is_visible()
        assert page.get_by_role("link", name="Manage preferences").is_visible()
    page.close()


def test_at_desktop_width_the_600px_layout_is_centred(preview: Preview, browser: Any) -> None:
    for width in (600, 800, 1280):
        page = browser.new_page(viewport={"width": width, "height": 900})
        for key in LESSONS:
            page.goto(_email_url(preview, key))
            card = page.locator("div.card").bounding_box()
            assert card["width"] == min(width, 600), (key, width, card)
            left, right = card["x"], width - card["x"] - card["width"]
            assert abs(left - right) <= 1, (key, width, left, right)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.close()


def test_screenshots_of_one_lesson_at_phone_and_desktop_width(preview: Preview, browser: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, scheme in ((375, "light"), (800, "light"), (375, "dark")):
        page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page.goto(_email_url(preview, "02-dominant-hamstrings"))
        path = ARTIFACTS / f"lesson-02-{width}px-{scheme}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        page.close()


CONTRAST = """() => {
  const rgb = c => c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const card = getComputedStyle(document.querySelector("div.card")).backgroundColor;
  const page = getComputedStyle(document.body).backgroundColor;
  const text = getComputedStyle(document.querySelector("td.body p:not(.muted)")).color;
  const footer = getComputedStyle(document.querySelector("td.footer p")).color;
  const link = getComputedStyle(document.querySelector("td.footer a")).color;
  return {body: ratio(text, card), footer: ratio(footer, page), link: ratio(link, page), card};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_stays_readable_in_light_and_dark_mode(preview: Preview, browser: Any, scheme: str) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 740}, color_scheme=scheme)
    page.goto(_email_url(preview, "03-tight-hip-flexors"))
    found = page.evaluate(CONTRAST)
    assert found["body"] >= 7 and found["footer"] >= 4.5 and found["link"] >= 4.5, found
    assert (found["card"] == "rgb(255, 255, 255)") == (scheme == "light")
    page.close()
