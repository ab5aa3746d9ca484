"""The client-support report: the shipped caniemail data, every feature of it read by a
matcher, the features an email uses found where they are (and not inside Outlook's
conditional comments), and the clients that lack each one at their latest tested version."""

from __future__ import annotations

import json

from sender import email_support
from sender.email_support import data, features_used, matchers, report, support
from tests.render.helpers import REPO

EMAIL = """<!doctype html>
<html lang="en"><head>
<meta name="color-scheme" content="light dark">
<style>
  /* dark mode */
  @media (prefers-color-scheme: dark) { .card > p:hover, .a.b { color: var(--ink) !important; } }
  u + .body td { padding: 1rem; }
  [owa] .col { width: calc(100% - 2px); }
</style></head>
<body>
<!--[if mso]><table role="presentation"><tr><td><video src="x.mp4"></video></td></tr></table><![endif]-->
<div class="card" style="display:flex; border-top-left-radius: 4px; font-family: system-ui, sans-serif;
     padding-left: 8px; mso-line-height-rule: exactly; background-image: url('hero.webp')">
  <p>Hi</p><ul><li>one</li></ul>
  <img src="data:image/png;base64,iVBORw0KGgo=" alt="">
  <a href="mailto:coach@example.com">write</a> <a href="#top">top</a>
</div>
</body></html>
"""


def test_the_shipped_data_has_its_version_and_licence() -> None:
    folder = REPO / "sender" / "caniemail"
    raw = json.loads((folder / "caniemail.json").read_text(encoding="utf-8"))
    assert raw["api_version"] and len(raw["data"]) > 300
    version = (folder / "VERSION").read_text(encoding="utf-8")
    assert version.splitlines()[0] == "caniemail 2.0.2" == data().version
    assert "2026-05-13" in version and data().updated == "2026-05-13" == raw["last_update_date"][:10]
    licence = (folder / "LICENSE").read_text(encoding="utf-8")
    assert licence.count("Permission is hereby granted") == 2  # MIT: the npm package's and caniemail.com's
    assert "Andrew Powell" in licence and "HTeuMeuLeu" in licence


def test_every_feature_of_the_data_is_read_by_some_matcher() -> None:
    # A new caniemail version with a feature of a new kind shows up here, not as a silent gap.
    assert matchers().unmatched == frozenset()
    assert set(data().features) >= email_support.UNDETECTED


def test_the_features_an_email_uses_are_found_where_they_are() -> None:
    used = features_used(EMAIL)
    expected = {
        "html-doctype", "html-lang", "html-meta-color-scheme", "html-style", "html-body", "html-div",
        "html-p", "html-lists", "html-img", "image-base64", "image-png", "html-mailto-links",
        "html-anchor-links", "html-comments", "css-comments", "css-at-media",
        "css-at-media-prefers-color-scheme",
        "css-selector-child", "css-pseudo-class-hover", "css-selector-chaining", "css-variables",
        "css-important", "css-selector-adjacent-sibling", "css-selector-descendant", "css-selector-type",
        "css-selector-class", "css-selector-attribute", "css-unit-rem", "css-unit-calc", "css-unit-percent",
        "css-unit-px", "css-display-flex", "css-display", "css-border-radius", "css-sytem-ui", "css-padding",
        "css-background-image", "image-webp", "css-width",
    }
    assert expected <= set(used), sorted(expected - set(used))
    # Outlook's own markup, in a conditional comment, is no feature of the email
    assert not {"html-table", "html-video", "html-role", "image-mp4"} & set(used)
    # font-family is not the font shorthand; mso- properties are Outlook's, no feature
    assert "css-font" not in used
    assert used["css-border-radius"].example.startswith("border-top-left-radius: 4px in <div")
    assert used["css-selector-class"].count >= 3


def test_each_feature_lists_the_clients_lacking_it_at_their_latest_version() -> None:
    flex = data().features["css-display-flex"]["stats"]["outlook"]["windows"]
    assert max(flex.items())[1].startswith("n")  # the data: Outlook on Windows has no flexbox
    none, _ = support("css-display-flex")
    assert any(g.family == "Outlook" and "Windows" in g.platforms for g in none)
    # a client that lacked a feature once and supports it now is not listed against it
    seen = 0
    for slug, feature in data().features.items():
        for family in email_support.FAMILIES:
            for platform, versions in (feature["stats"].get(family) or {}).items():
                ordered = sorted(versions, key=lambda v: tuple(int(n) for n in v.replace("-", ".").split(".")
                                                               if n.isdigit()))
                if len(ordered) > 1 and versions[ordered[0]].startswith("n") and \
                        versions[ordered[-1]].startswith("y"):
                    seen += 1
                    lacking, partly = support(slug, (family,))
                    shown = data().platform(platform)
                    assert all(shown not in g.platforms for g in lacking + partly), (slug, family, platform)
    assert seen > 10  # the data has such cases (Yahoo's and Gmail's fixes over the years)


def test_the_report_puts_the_worst_first_and_names_every_family() -> None:
    found = report(EMAIL)
    assert found.family_names == ["Apple Mail", "Gmail", "Outlook", "Yahoo! Mail"]
    titles = [f.title for f in found.gaps]
    assert "display:flex" in titles and "@media (prefers-color-scheme)" in titles
    missing = [f.clients_missing for f in found.gaps]
    assert missing == sorted(missing, reverse=True)
    supported = {f.slug for f in found.supported}
    assert "html-p" in supported and not supported & {f.slug for f in found.gaps}
    partial = next(f for f in found.gaps if f.partial and any(g.notes for g in f.partial))
    assert all("](" not in note for g in partial.partial for note in g.notes)  # Markdown links as text
