"""Which email clients lack the HTML and CSS features an email uses, from the caniemail data.

The data is caniemail.com's, as the npm package `caniemail` ships it (sender/caniemail/:
caniemail.json, its VERSION and LICENSE); nothing is fetched. `report(html)` parses the
email as sent (BeautifulSoup for the HTML, tinycss2 for `<style>` blocks and `style`
attributes), finds the caniemail features it uses, the way the package's own checker
matches them (elements, attributes, properties, property values, functions, units,
at-rules, media features, selectors, comments, image formats), and lists for each one the
clients of `FAMILIES` that do not support it or support it in part, at the latest version
caniemail tested. Markup inside Outlook's conditional comments (`<!--[if mso]>`) is for
Outlook alone and is not checked, as in the package.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

import tinycss2
from bs4 import BeautifulSoup, Comment, Doctype, Tag
from tinycss2 import ast

# The clients react-email's preview checks by default: most opens happen in these.
FAMILIES = ("apple-mail", "gmail", "outlook", "yahoo")

# Titles that name several properties (as the npm package reads them).
_PROPERTY_SETS = {
    "css-block-inline-size": ("block-size", "inline-size"),
    "css-border-inline-block": ("border-inline", "border-block"),
    "css-border-inline-block-individual": ("border-block-end", "border-block-start", "border-inline-end",
                                           "border-inline-start"),
    "css-border-inline-block-longhand": ("border-block-color", "border-block-style", "border-block-width",
                                         "border-inline-color", "border-inline-style", "border-inline-width"),
    "css-border-radius-logical": ("border-end-end-radius", "border-end-start-radius",
                                  "border-start-end-radius", "border-start-start-radius"),
    "css-color-scheme": ("color-scheme",),
    "css-column-layout-properties": ("column-count", "column-fill", "column-gap", "column-rule",
                                     "column-rule-color", "column-rule-style", "column-rule-width",
                                     "column-span", "column-width", "columns"),
    "css-gap": ("column-gap", "gap", "row-gap"),
    "css-grid-template": ("grid-template", "grid-template-areas", "grid-template-columns",
                          "grid-template-rows"),
    "css-margin-block-start-end": ("margin-block-end", "margin-block-start"),
    "css-margin-inline-block": ("margin-block", "margin-inline"),
    "css-margin-inline-start-end": ("margin-inline-end", "margin-inline-start"),
    "css-padding-block-start-end": ("padding-block-end", "padding-block-start"),
    "css-padding-inline-block": ("padding-block", "padding-inline"),
    "css-padding-inline-start-end": ("padding-inline-end", "padding-inline-start"),
    "css-left-right-top-bottom": ("left", "right", "top", "bottom"),
}
# Keywords in a value that are features of their own.
_VALUE_SETS = {
    "css-intrinsic-size": ("fit-content", "max-content", "min-content"),
    "css-sytem-ui": ("system-ui", "ui-monospace", "ui-rounded", "ui-sans-serif", "ui-serif"),
}
_MEDIA_FEATURES = {
    "css-at-media-prefers-color-scheme": ("prefers-color-scheme",),
    "css-at-media-prefers-reduced-motion": ("prefers-reduced-motion",),
    "css-at-media-orientation": ("orientation",),
    "css-at-media-hover": ("hover", "any-hover"),
    "css-at-media-device-pixel-ratio": ("-webkit-device-pixel-ratio", "-webkit-min-device-pixel-ratio",
                                        "-webkit-max-device-pixel-ratio"),
}
_ELEMENT_SETS = {
    "html-address": ("address",),
    "html-h1-h6": ("h1", "h2", "h3", "h4", "h5", "h6"),
    "html-lists": ("ul", "ol", "dl"),
    "html-semantics": ("article", "aside", "details", "figcaption", "figure", "footer", "header", "main",
                       "mark", "nav", "section", "summary", "time"),
    "html-image-maps": ("map",),
    "html-svg": ("svg",),
}
_IMAGE_FORMATS = {"apng": "image-apng", "avif": "image-avif", "bmp": "image-bmp", "gif": "image-gif",
                  "heic": "image-heif", "heif": "image-heif", "ico": "image-ico", "jpeg": "image-jpg",
                  "jpg": "image-jpg", "png": "image-png", "svg": "image-svg", "svg+xml": "image-svg",
                  "tif": "image-tiff", "tiff": "image-tiff", "webp": "image-webp",
                  "vnd.microsoft.icon": "image-ico"}
# Features no static look at one email can find (a BIMI record is DNS; `inert` is listed
# under CSS but is an HTML attribute, matched as one).
UNDETECTED = frozenset({"bimi", "css-inert-attribute", "image-hdr", "image-mp4"})
_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


# -- the data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    features: dict[str, dict[str, Any]]  # by slug
    nicenames: dict[str, dict[str, str]]
    version: str  # the VERSION note: package version and data date
    updated: str

    def family(self, name: str) -> str:
        return self.nicenames["family"].get(name, name)

    def platform(self, name: str) -> str:
        return self.nicenames["platform"].get(name, name)


@cache
def data() -> Data:
    folder = files("sender") / "caniemail"
    raw = json.loads(folder.joinpath("caniemail.json").read_text(encoding="utf-8"))
    version = folder.joinpath("VERSION").read_text(encoding="utf-8").strip().splitlines()[0]
    return Data({f["slug"]: f for f in raw["data"]}, raw["nicenames"], version,
                str(raw.get("last_update_date", ""))[:10])


@dataclass(frozen=True)
class Matchers:
    """Which feature slugs each kind of thing in an email stands for."""

    elements: dict[str, list[str]]
    attributes: dict[str, list[str]]
    element_attribute_values: dict[tuple[str, str, str], list[str]]
    properties: dict[str, list[str]]
    property_values: dict[tuple[str, str], list[str]]
    functions: dict[str, list[str]]
    units: dict[str, list[str]]
    keywords: dict[str, list[str]]
    at_rules: dict[str, list[str]]
    media_features: dict[str, list[str]]
    pseudo: dict[str, list[str]]
    unmatched: frozenset[str]  # slugs no matcher stands for (see test_email_support)


def _add(table: dict[Any, list[str]], key: Any, slug: str) -> None:
    table.setdefault(key, []).append(slug)


@cache
def matchers() -> Matchers:
    """Read off the feature titles, as the npm package does, with its special cases."""
    m = Matchers({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, frozenset())
    done = set(UNDETECTED)
    handled_elsewhere = {"amp", "html-anchor-links", "html-mailto-links", "html-meta-color-scheme",
                         "html-comments", "html-doctype", "html-srcset", "css-comments", "css-variables",
                         "css-nesting", "css-important", "image-base64", "css-pseudo-class-lang"}
    done |= handled_elsewhere | set(_IMAGE_FORMATS.values())
    for slug, feature in data().features.items():
        title = feature["title"].strip()
        if slug in done:
            continue
        if slug in _ELEMENT_SETS:
            for tag in _ELEMENT_SETS[slug]:
                _add(m.elements, tag, slug)
        elif slug in _PROPERTY_SETS:
            for name in _PROPERTY_SETS[slug]:
                _add(m.properties, name, slug)
        elif slug in _VALUE_SETS:
            for word in _VALUE_SETS[slug]:
                _add(m.keywords, word, slug)
        elif slug in _MEDIA_FEATURES:
            for name in _MEDIA_FEATURES[slug]:
                _add(m.media_features, name, slug)
        elif slug.startswith("css-selector-"):
            continue  # `_check_complex_selector` finds these
        elif pair := re.fullmatch(r'<(\w+) (\w+)="(\w+)"> element', title):
            _add(m.element_attribute_values, (pair[1], pair[2], pair[3]), slug)
        elif element := re.fullmatch(r"<(\w+)>(?: element)?", title):
            _add(m.elements, element[1], slug)
        elif title.endswith(" attribute"):
            _add(m.attributes, title.removesuffix(" attribute"), slug)
        elif title.startswith(":"):
            _add(m.pseudo, title.removesuffix("()").lstrip(":"), slug)
        elif title.startswith("@"):
            _add(m.at_rules, title[1:], slug)
        elif title.endswith(" unit"):
            name = title.removesuffix(" unit")
            (_add(m.keywords, name, slug) if name == "initial" else _add(m.units, name, slug))
        elif "()" in title:
            for name in re.findall(r"([a-z-]+)\(\)", title):
                _add(m.functions, name, slug)
        elif pv := re.fullmatch(r"([a-z-]+):\s*([a-z-]+)", title):
            _add(m.property_values, (pv[1], pv[2]), slug)
        elif re.fullmatch(r"[a-z-]+", name := title.removesuffix(" shorthand").removesuffix(" property")):
            _add(m.properties, name, slug)
        else:
            continue
        done.add(slug)
    _add(m.pseudo, "lang", "css-pseudo-class-lang")
    selectors = {slug for slug in data().features if slug.startswith("css-selector-")}
    return dataclasses.replace(m, unmatched=frozenset(set(data().features) - done - selectors))


# -- finding the features an email uses -------------------------------------------------------


@dataclass
class Use:
    slug: str
    count: int = 0
    example: str = ""


class _Found:
    def __init__(self) -> None:
        self.uses: dict[str, Use] = {}

    def add(self, slugs: Iterable[str], example: str) -> None:
        for slug in slugs:
            use = self.uses.setdefault(slug, Use(slug))
            use.count += 1
            if not use.example:
                use.example = " ".join(example.split())[:90]


def features_used(html: str) -> dict[str, Use]:
    """The caniemail features `html` uses, by slug, each with a count and a first example."""
    found = _Found()
    soup = BeautifulSoup(html, "html.parser")
    m = matchers()
    for node in soup.contents:
        if isinstance(node, Doctype) and node.strip().lower() == "html":
            found.add(["html-doctype"], "<!doctype html>")
    for node in soup.descendants:
        if isinstance(node, Comment):
            # A conditional comment is Outlook's markup: it counts as a comment, not as HTML
            found.add(["html-comments"], f"<!--{node[:40]}-->")
        elif isinstance(node, Tag):
            _check_element(node, found, m)
            if node.name == "style" and node.string:
                _check_stylesheet(node.string, found, m)
    return found.uses


def _check_element(node: Tag, found: _Found, m: Matchers) -> None:
    name = node.name.lower()
    shown = f"<{name}>"
    found.add(m.elements.get(name, ()), shown)
    attrs = {k.lower(): (" ".join(v) if isinstance(v, list) else str(v)) for k, v in node.attrs.items()}
    for attr, value in attrs.items():
        if attr == "style":
            continue
        found.add(m.attributes.get(attr, ()), f'<{name} {attr}="{value[:30]}">')
        found.add(m.element_attribute_values.get((name, attr, value.strip().lower()), ()),
                  f'<{name} {attr}="{value}">')
    href = attrs.get("href", "")
    if name == "a" and (href.startswith("#") or "name" in attrs):
        found.add(["html-anchor-links"], f'<a href="{href[:40]}">')
    if name == "a" and href.lower().startswith("mailto:"):
        found.add(["html-mailto-links"], f'<a href="{href[:40]}">')
    if name == "meta" and attrs.get("name", "").lower() == "color-scheme":
        content = attrs.get("content", "")
        found.add(["html-meta-color-scheme"], f'<meta name="color-scheme" content="{content}">')
    if name == "html" and ({"⚡4email", "amp4email", "⚡"} & set(attrs)):
        found.add(["amp"], "<html ⚡4email>")
    if "srcset" in attrs or "sizes" in attrs:
        found.add(["html-srcset"], f"<{name} srcset>")
    images = [attrs["src"]] if name == "img" and attrs.get("src") else []
    images += [c.strip().split()[0] for c in attrs.get("srcset", "").split(",") if c.strip()]
    for url in images:
        found.add(_image_slugs(url), f'<{name} src="{url[:40]}">')
    if style := attrs.get("style"):
        where = f'<{name} style="…">'
        _check_declarations(tinycss2.parse_blocks_contents(style, skip_comments=False, skip_whitespace=True),
                            found, m, where)


def _image_slugs(url: str) -> list[str]:
    url = url.strip()
    if mime := re.match(r"data:image/([^;,]+)", url, re.IGNORECASE):
        return ["image-base64", *([s] if (s := _IMAGE_FORMATS.get(mime[1].lower())) else [])]
    path = re.split(r"[?#]", url, maxsplit=1)[0]
    ext = re.search(r"\.([a-z0-9]+)$", path, re.IGNORECASE)
    slug = _IMAGE_FORMATS.get(ext[1].lower()) if ext else None
    return [slug] if slug else []


def _check_stylesheet(css: str, found: _Found, m: Matchers) -> None:
    rules = tinycss2.parse_stylesheet(css, skip_comments=False, skip_whitespace=True)
    _check_rules(rules, found, m)


def _check_rules(rules: Iterable[Any], found: _Found, m: Matchers) -> None:
    for rule in rules:
        if isinstance(rule, ast.Comment):
            found.add(["css-comments"], f"/*{rule.value[:40]}*/")
        elif isinstance(rule, ast.QualifiedRule):
            selector = tinycss2.serialize(rule.prelude).strip()
            _check_selector(rule.prelude, found, m, selector)
            _check_declarations(tinycss2.parse_blocks_contents(rule.content, skip_comments=False,
                                                               skip_whitespace=True),
                                found, m, selector)
        elif isinstance(rule, ast.AtRule):
            prelude = tinycss2.serialize(rule.prelude).strip()
            found.add(m.at_rules.get(rule.lower_at_keyword, ()), f"@{rule.lower_at_keyword} {prelude}")
            if rule.lower_at_keyword == "media":
                for token in _tokens(rule.prelude):
                    if isinstance(token, ast.IdentToken):
                        found.add(m.media_features.get(token.lower_value, ()), f"@media {prelude}")
            if rule.content is not None and rule.lower_at_keyword in ("media", "supports", "document"):
                _check_rules(tinycss2.parse_blocks_contents(rule.content, skip_comments=False,
                                                            skip_whitespace=True), found, m)
            elif rule.content is not None and rule.lower_at_keyword == "font-face":
                _check_declarations(tinycss2.parse_blocks_contents(rule.content, skip_whitespace=True),
                                    found, m, "@font-face")


def _check_declarations(items: Iterable[Any], found: _Found, m: Matchers, where: str) -> None:
    for item in items:
        if isinstance(item, ast.Comment):
            found.add(["css-comments"], f"/*{item.value[:40]}*/ in {where}")
        elif isinstance(item, ast.Declaration):
            name = item.lower_name
            value = tinycss2.serialize(item.value).strip()
            shown = f"{name}: {value}{' !important' if item.important else ''} in {where}"
            if name.startswith("--"):
                found.add(["css-variables"], shown)
            found.add(_property_slugs(name, m), shown)
            found.add(m.property_values.get((name, value.lower()), ()), shown)
            if item.important:
                found.add(["css-important"], shown)
            for token in _tokens(item.value):
                if isinstance(token, ast.FunctionBlock):
                    if token.lower_name == "var":
                        found.add(["css-variables"], shown)
                    elif token.lower_name == "url":
                        found.add(_image_slugs(tinycss2.serialize(token.arguments).strip("'\" ")), shown)
                    found.add(m.functions.get(token.lower_name, ()), shown)
                elif isinstance(token, ast.URLToken):
                    found.add(_image_slugs(token.value), shown)
                elif isinstance(token, ast.DimensionToken):
                    found.add(m.units.get(token.lower_unit, ()), shown)
                elif isinstance(token, ast.PercentageToken):
                    found.add(m.units.get("%", ()), shown)
                elif isinstance(token, ast.IdentToken):
                    found.add(m.keywords.get(token.lower_value, ()), shown)
        elif isinstance(item, ast.QualifiedRule):  # a nested rule (CSS nesting)
            found.add(["css-nesting"], f"{tinycss2.serialize(item.prelude).strip()} in {where}")
            _check_rules([item], found, m)


def _property_slugs(name: str, m: Matchers) -> list[str]:
    """`padding-left` is `padding`, `border-top-left-radius` is `border-radius`; `font-family`
    is not the `font` shorthand; vendor-prefixed and `mso-` properties are no feature."""
    if name in m.properties:
        return m.properties[name]
    if name.startswith("-") or name.startswith("mso-"):
        return []
    if name.startswith("border-") and name.endswith("-radius"):
        return m.properties.get("border-radius", [])
    parts = name.split("-")
    for end in range(len(parts) - 1, 0, -1):
        prefix = "-".join(parts[:end])
        if prefix != "font" and prefix in m.properties:
            return m.properties[prefix]
    return []


def _tokens(tokens: Iterable[Any]) -> Iterator[Any]:
    """Every token, into functions and blocks."""
    for token in tokens:
        yield token
        if isinstance(token, ast.FunctionBlock):
            yield from _tokens(token.arguments)
        elif isinstance(token, ast.ParenthesesBlock | ast.SquareBracketsBlock | ast.CurlyBracketsBlock):
            yield from _tokens(token.content)


def _check_selector(prelude: list[Any], found: _Found, m: Matchers, shown: str) -> None:
    tokens = [t for t in prelude if not isinstance(t, ast.Comment)]
    groups: list[list[Any]] = [[]]
    for token in tokens:
        if isinstance(token, ast.LiteralToken) and token.value == ",":
            groups.append([])
        else:
            groups[-1].append(token)
    if len([g for g in groups if g]) >= 2:
        found.add(["css-selector-grouping"], shown)
    for group in groups:
        _check_complex_selector(group, found, m, shown)


def _check_complex_selector(tokens: list[Any], found: _Found, m: Matchers, shown: str) -> None:
    while tokens and isinstance(tokens[0], ast.WhitespaceToken):
        tokens = tokens[1:]
    while tokens and isinstance(tokens[-1], ast.WhitespaceToken):
        tokens = tokens[:-1]
    classes_in_compound, at_compound_start, pending_space, colons = 0, True, False, 0
    combinators = {">": "css-selector-child", "+": "css-selector-adjacent-sibling",
                   "~": "css-selector-general-sibling"}
    for token in tokens:
        if isinstance(token, ast.WhitespaceToken):
            pending_space = True
            continue
        literal = token.value if isinstance(token, ast.LiteralToken) else None
        if literal in combinators:
            found.add([combinators[literal]], shown)
            pending_space, at_compound_start, classes_in_compound = False, True, 0
            continue
        if pending_space:  # whitespace between two compounds, no other combinator
            found.add(["css-selector-descendant"], shown)
            pending_space, at_compound_start, classes_in_compound = False, True, 0
        if literal == ":":
            colons += 1
            continue
        if colons:
            name = token.lower_value if isinstance(token, ast.IdentToken) else \
                token.lower_name if isinstance(token, ast.FunctionBlock) else ""
            found.add(m.pseudo.get(name, ()), shown)
            colons, at_compound_start = 0, False
            continue
        if literal == ".":
            classes_in_compound += 1
            found.add(["css-selector-class"], shown)
            if classes_in_compound == 2:
                found.add(["css-selector-chaining"], shown)
        elif literal == "*":
            found.add(["css-selector-universal"], shown)
        elif literal == "&":
            found.add(["css-nesting"], shown)
        elif isinstance(token, ast.HashToken):
            found.add(["css-selector-id"], shown)
        elif isinstance(token, ast.SquareBracketsBlock):
            names = [t.lower_value for t in token.content if isinstance(t, ast.IdentToken)][:1]
            if names and names[0] not in ("id", "class"):
                found.add(["css-selector-attribute"], shown)
        elif isinstance(token, ast.IdentToken) and at_compound_start:
            found.add(["css-selector-type"], shown)
        at_compound_start = False


# -- client support ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """One client family's lack of a feature: on which of its platforms, and why."""

    family: str  # "Outlook"
    platforms: tuple[str, ...]  # ("Windows", "Windows Mail")
    notes: tuple[str, ...]


@dataclass
class FeatureReport:
    slug: str
    title: str
    url: str
    count: int
    example: str
    unsupported: list[Gap] = field(default_factory=list)
    partial: list[Gap] = field(default_factory=list)

    @property
    def clients_missing(self) -> int:
        return sum(len(g.platforms) for g in self.unsupported)


@dataclass
class SupportReport:
    gaps: list[FeatureReport]  # features some client of `families` lacks, worst first
    supported: list[FeatureReport]  # features every platform of them supports
    families: tuple[str, ...]
    version: str  # "caniemail 2.0.2"
    updated: str  # when caniemail's data was last updated, "2026-05-13"

    @property
    def family_names(self) -> list[str]:
        return [data().family(f) for f in self.families]


def _latest(versions: dict[str, str]) -> str:
    """The support value of the newest version tested ("2019", "16.80", "2022-12")."""
    def key(version: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", version)) or (0,)
    return versions[max(versions, key=key)] if versions else "u"


def _note_text(note: str) -> str:
    return " ".join(_MARKDOWN_LINK.sub(r"\1", note).replace("`", "").split())


def support(slug: str, families: Iterable[str] = FAMILIES) -> tuple[list[Gap], list[Gap]]:
    """(unsupported, partially supported) per family, for one feature."""
    d = data()
    feature = d.features[slug]
    notes_by_num = feature.get("notes_by_num") or {}
    none, partial = [], []
    for family in families:
        lacking: list[str] = []
        partly: list[str] = []
        notes: list[str] = []
        for platform, versions in (feature.get("stats", {}).get(family) or {}).items():
            value = _latest(versions)
            if value.startswith("n"):
                lacking.append(d.platform(platform))
            elif value.startswith("a"):
                partly.append(d.platform(platform))
                for number in re.findall(r"#(\d+)", value):
                    note = _note_text(notes_by_num.get(number, ""))
                    if note and note not in notes:
                        notes.append(note)
        if lacking:
            none.append(Gap(d.family(family), tuple(lacking), ()))
        if partly:
            partial.append(Gap(d.family(family), tuple(partly), tuple(notes)))
    return none, partial


def report(html: str, families: tuple[str, ...] = FAMILIES) -> SupportReport:
    """The client-support report of one email's HTML."""
    return _report(html, families)


@lru_cache(maxsize=16)  # a preview page and its reloads ask about the same HTML
def _report(html: str, families: tuple[str, ...]) -> SupportReport:
    d = data()
    gaps: list[FeatureReport] = []
    fine: list[FeatureReport] = []
    for slug, use in features_used(html).items():
        feature = d.features[slug]
        none, partial = support(slug, families)
        item = FeatureReport(slug, feature["title"].strip(), feature.get("url") or "", use.count, use.example,
                             none, partial)
        (gaps if none or partial else fine).append(item)
    gaps.sort(key=lambda f: (-f.clients_missing, -sum(len(g.platforms) for g in f.partial), f.title.lower()))
    fine.sort(key=lambda f: f.title.lower())
    return SupportReport(gaps, fine, families, d.version, d.updated)
