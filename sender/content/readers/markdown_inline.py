"""Inline Markdown of one block, rewritten to stand on its own in a lesson.

A lesson holds only some blocks of the article, so text that leans on the
rest of the file must be made self-contained: reference-style links
(``[text][ref]``, ``[text][]``, ``[ref]``, whose definitions may sit anywhere)
become inline links, and footnote references (``[^label]``, ``^[inline]``)
become ``[^N]`` markers numbered in the article's reference list.

markdown-it does the resolving, by its own rules: its link, image and
footnote rules are wrapped to record where in the source each link starts
and ends and what it resolved to, and the source is then rewritten from
those spans. Everything else stays exactly as written (emphasis, code,
escapes, ``{{ }}`` placeholders).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.helpers import parseLinkLabel
from markdown_it.rules_inline import StateInline
from mdit_py_plugins.footnote import footnote_plugin

_SPANS = "dripcourse_inline_spans"
_RECORDED = ("link", "image", "backticks", "footnote_ref", "footnote_inline")
_UNRESOLVED = re.compile(r"\[\^([^\]\s]+)\](?![(:])")


@dataclass(frozen=True)
class _Span:
    kind: str  # "link", "image", "code" or "footnote"
    start: int
    end: int
    label_end: int = 0  # links and images: index of the "]" closing the text
    href: str = ""
    title: str = ""
    number: int = 0  # footnotes: 1-based


def markdown_parser() -> MarkdownIt:
    """CommonMark + tables + footnotes, recording inline spans in ``env``."""
    md = MarkdownIt("commonmark").enable("table").use(footnote_plugin)
    for rule in md.inline.ruler.__rules__:
        if rule.name in _RECORDED:
            md.inline.ruler.at(rule.name, _recording(rule.name, rule.fn))
    return md


_Rule = Callable[[StateInline, bool], bool]


def _recording(name: str, original: _Rule) -> _Rule:
    def rule(state: StateInline, silent: bool) -> bool:
        start, count = state.pos, len(state.tokens)
        if not original(state, silent):
            return False
        if not silent and (span := _span(name, state, start, count)):
            state.env.setdefault(_SPANS, {}).setdefault(state.src, set()).add(span)
        return True

    return rule


def _span(name: str, state: StateInline, start: int, count: int) -> _Span | None:
    if name == "backticks":
        return _Span("code", start, state.pos)
    # pushing a token first flushes pending text as a token of its own
    wanted = {"link": "link_open", "image": "image"}.get(name, "footnote_ref")
    token = next((t for t in state.tokens[count:] if t.type == wanted), None)
    if token is None:
        return None
    if name in ("footnote_ref", "footnote_inline"):
        return _Span("footnote", start, state.pos, number=int(token.meta["id"]) + 1)
    label_start = start + (2 if name == "image" else 1)
    label_end = parseLinkLabel(state, label_start - 1, name == "link")
    attrs = token.attrs
    href = str(attrs.get("src" if name == "image" else "href", ""))
    return _Span(name, start, state.pos, label_end, href, str(attrs.get("title") or ""))


def inline_markdown(src: str, env: dict[str, Any], unresolved: Callable[[str], str],
                    dead: Callable[[str], bool]) -> str:  # fmt: skip
    """``src`` (an inline token's content) with links inlined and footnote
    references numbered. ``unresolved`` renders a ``[^label]`` with no note;
    links whose address is ``dead`` become their text, and such images go."""
    spans = sorted(env.get(_SPANS, {}).get(src, ()), key=lambda s: (s.start, -s.end))
    return _rewrite(src, spans, 0, len(src), unresolved, dead)


def _rewrite(src: str, spans: list[_Span], lo: int, hi: int, unresolved: Callable[[str], str],
             dead: Callable[[str], bool]) -> str:  # fmt: skip
    out: list[str] = []
    position = lo

    def plain(text: str) -> str:
        return _UNRESOLVED.sub(lambda m: unresolved(m.group(1)), text)

    for span in spans:
        if span.start < position or span.start < lo or span.end > hi:
            continue  # nested in a span already written, or outside this stretch
        out.append(plain(src[position : span.start]))
        out.append(_render(src, spans, span, unresolved, dead))
        position = span.end
    out.append(plain(src[position:hi]))
    return "".join(out)


def _render(src: str, spans: list[_Span], span: _Span, unresolved: Callable[[str], str],
            dead: Callable[[str], bool]) -> str:  # fmt: skip
    if span.kind == "code":
        return src[span.start : span.end]
    if span.kind == "footnote":
        return f"[^{span.number}]"
    inline_form = src[span.end - 1] == ")"
    if span.kind == "image":
        if dead(span.href):
            return ""  # a picture whose address only the site generator knew
        if inline_form:
            return src[span.start : span.end]
        return f"![{src[span.start + 2 : span.label_end]}]({_destination(span)})"
    text = _rewrite(src, spans, span.start + 1, span.label_end, unresolved, dead)
    if dead(span.href):
        return text  # a link the email cannot follow: its text is what is left
    if inline_form:
        return "[" + text + src[span.label_end : span.end]
    return f"[{text}]({_destination(span)})"


def _destination(span: _Span) -> str:
    href = span.href
    if re.search(r"[\s()<>]", href):
        href = "<" + href.replace("<", "%3C").replace(">", "%3E") + ">"
    if span.title:
        return f'{href} "{span.title.replace(chr(34), chr(92) + chr(34))}"'
    return href
