"""Template tags in a Markdown post: Liquid (Jekyll, Octopress), Hugo
shortcodes, Zola shortcodes and Jinja.

A blog's source is written for its site generator: ``{% post_url … %}``,
``{% include … %}``, ``{{< figure … >}}``, ``{{ youtube(id=…) }}``. Lessons
are Jinja templates themselves (stage 2 of the renderer fills in
``{{ subscriber.first_name }}``), so a tag copied through makes the campaign
impossible to render. This module

* turns the tags whose meaning is clear into Markdown: an image tag with a
  source becomes ``![caption](src)``, a video one an embedded ``<video>``, a
  highlight block a code fence, a link to another post its link text;
* drops the others with a note for the split report (a paired tag keeps
  what it encloses);
* keeps the placeholders a lesson may use (``LESSON_NAMES``);
* and, last, makes any other ``{{``, ``{%`` or ``{#`` left in the text
  literal (``protect_literal_templates``), as in code samples.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta

# What stage 2 of the renderer gives a lesson (sender/messages.py builds it).
LESSON_NAMES = frozenset({"subscriber", "unsubscribe_url", "manage_url", "next_lesson_day"})
# Link target standing for "another page of the site": the link becomes its text.
SITE_PAGE = "dripcourse-site-page:"

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined)
_NO_BLANK = r"(?:[^\n]|\n(?![ \t]*\n))*?"  # a tag never spans a blank line
_TAG = re.compile(
    rf"\{{\{{<(?P<angle>{_NO_BLANK})>\}}\}}"
    rf"|\{{\{{%(?P<percent>{_NO_BLANK})%\}}\}}"
    rf"|\{{%(?P<stmt>{_NO_BLANK})%\}}"
    rf"|\{{\{{(?P<expr>{_NO_BLANK})\}}\}}"
    rf"|\{{#(?P<comment>{_NO_BLANK})#\}}"
)
_INLINE_TAG = r"\{\{<.*?>\}\}|\{\{%.*?%\}\}|\{%.*?%\}|\{\{.*?\}\}"
# A link or image destination that holds a tag: "](…)" or a "[ref]: …" definition.
_DESTINATION = re.compile(
    rf"(?P<lead>\]\(\s*|^[ ]{{0,3}}\[[^\]\n]+\]:[ \t]*)(?P<dest>(?:{_INLINE_TAG}|[^\s()])+)", re.M
)
_NAME_ARGS = re.compile(r"^\s*(/?)\s*([\w.-]+)\s*(.*?)\s*/?\s*$", re.S)
_CALL = re.compile(r"^\s*(\w+)\s*\((.*)\)\s*$", re.S)
_ARG = re.compile(r"""(?:(\w+)\s*[=:]\s*)?("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,"']+)""")
_IMAGE_FILE = re.compile(r"\.(?:png|jpe?g|gif|svg|webp|avif|bmp)(?:[?#]\S*)?$", re.I)
_VIDEO_FILE = re.compile(r"\.(?:mp4|webm|ogv|mov)(?:[?#]\S*)?$", re.I)
_SOURCE_KEYS = ("src", "url", "image", "img", "path", "file", "source", "href")
_CAPTION_KEYS = ("caption", "title", "alt", "description", "desc", "text")
_PAGE_TAGS = {"post_url", "link", "ref", "relref", "post_path", "get_url"}
_CODE_TAGS = {"highlight", "codeblock", "code", "syntax", "sourcecode"}
_DROP_BODY = {"comment", "capture"}  # what they enclose is never shown on the site either
_RAW_TAGS = {"raw", "verbatim"}
_OPEN_BRACE = '{{ "{" }}'  # Jinja printing a brace: "{{" that is not a placeholder
# A CommonMark code span: a run of backticks, then the same run again.
CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_LITERAL = re.compile(
    r"(?P<raw>\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\})"  # already literal
    r"|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\{\{|\{%|\{#",
    re.S,
)


@dataclass(frozen=True)
class _Tag:
    kind: str  # "shortcode" (Hugo), "stmt" ({% %}), "expr" ({{ }}), "comment"
    name: str
    args: str
    closing: bool
    start: int
    end: int
    raw: str


# -- what a lesson may keep ------------------------------------------------------------


@lru_cache(maxsize=1024)
def _compiles(source: str) -> frozenset[str] | None:
    """Names a Jinja snippet reads, or None when Jinja cannot compile it."""
    try:
        names = meta.find_undeclared_variables(_ENV.parse(source))
        _ENV.from_string(source)  # unknown filters fail here, as they would in the renderer
    except jinja2.TemplateError:
        return None
    return frozenset(names)


def is_lesson_placeholder(span: str) -> bool:
    """``{{ subscriber.first_name | default("there") }}``: reads only lesson names."""
    names = _compiles(span)
    return bool(names) and names <= LESSON_NAMES  # type: ignore[operator]


def _lesson_block(opener: str, name: str) -> bool:
    """``{% if subscriber.x %}`` / ``{% for … in subscriber.y %}`` over lesson names."""
    if name not in ("if", "for"):
        return False
    return is_lesson_placeholder(f"{opener}{{% end{name} %}}")


def protect_literal_templates(text: str) -> str:
    """Make every ``{{``, ``{%`` and ``{#`` that is not a lesson placeholder
    literal for the renderer's Jinja: a whole span wrapped in ``{% raw %}``, an
    opener alone printed by Jinja itself (``{{ "{" }}{``), which keeps as many
    ``{{`` as ``}}`` on the line for lint."""
    if "{" not in text:
        return text
    stack: list[bool] = []

    def replace(match: re.Match[str]) -> str:
        span = match.group(0)
        if len(span) == 2:
            return _OPEN_BRACE + span[1]
        if match.group("raw") or span == _OPEN_BRACE:
            return span  # already literal
        if span.startswith("{{") and span.endswith("}}") and len(span) > 4 and is_lesson_placeholder(span):
            return span
        if span.startswith("{%") and span.endswith("%}") and len(span) > 4:
            word = re.match(r"\{%-?\s*(\w*)", span)
            name = word.group(1) if word else ""
            if name in ("if", "for"):
                stack.append(_lesson_block(span, name))
                if stack[-1]:
                    return span
            elif (name in ("elif", "else") and stack and stack[-1]) or (
                name in ("endif", "endfor") and stack and stack.pop()
            ):
                return span
        return "{% raw %}" + span + "{% endraw %}"

    return _LITERAL.sub(replace, text)


# -- the source pass -------------------------------------------------------------------


@dataclass
class TemplatePass:
    text: str
    notes: list[str]


CodeRanges = Callable[[str], list[tuple[int, int]]]


def convert_template_tags(
    text: str, code_ranges: CodeRanges, metadata: Mapping[str, Any], first_line: int = 1
) -> TemplatePass:
    """Rewrite the template tags of a Markdown body. ``code_ranges`` gives the
    character ranges of code blocks and spans, where tags are examples and
    stay as written."""
    if "{" not in text and "@/" not in text:
        return TemplatePass(text, [])
    code = code_ranges(text)
    # Tags inside link targets first: they decide what the link is, not what it shows.
    linked = _Converter(text, code, metadata, first_line).destinations()
    if linked != text:
        text, code = linked, code_ranges(linked)
    converter = _Converter(text, code, metadata, first_line)
    return TemplatePass(converter.run(), converter.report())


class _Converter:
    def __init__(self, text: str, code: list[tuple[int, int]], metadata: Mapping[str, Any],
                 first_line: int) -> None:  # fmt: skip
        self.text = text
        self.code = sorted(code)
        self.code_starts = [start for start, _ in self.code]
        self.metadata = metadata
        self.first_line = first_line
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.dropped: dict[str, list[int]] = defaultdict(list)
        self.lesson_depth = 0

    # -- reading the tags --

    def _in_code(self, position: int) -> bool:
        index = bisect_right(self.code_starts, position) - 1
        return index >= 0 and position < self.code[index][1]

    def _tags(self, text: str, base: int) -> list[_Tag]:
        tags: list[_Tag] = []
        for match in _TAG.finditer(text):
            tag = _parse_tag(match, base)
            if tag is None:
                continue
            if self._in_code(tag.start):
                # Code shows tags as written, except the site's own escapes around them.
                if tag.kind == "stmt" and tag.name in ("raw", "endraw"):
                    tags.append(_Tag("escape", tag.name, "", False, tag.start, tag.end, ""))
                elif tag.kind == "shortcode" and tag.args.startswith("/*"):
                    tags.append(tag)
                continue
            tags.append(tag)
        return tags

    def line(self, position: int) -> int:
        return self.first_line + bisect_right(self.line_starts, position) - 1

    def drop(self, tag: _Tag) -> None:
        self.dropped[_label(tag)].append(self.line(tag.start))

    def report(self) -> list[str]:
        notes = []
        for label, lines in self.dropped.items():
            where = ", ".join(str(n) for n in lines[:8]) + (", …" if len(lines) > 8 else "")
            plural = "s" if len(lines) > 1 else ""
            notes.append(f"left out the site template tag {label} (line{plural} {where}): "
                         "only the site generator knows what it shows")  # fmt: skip
        return notes

    # -- rewriting --

    def destinations(self) -> str:
        return _DESTINATION.sub(self._destination, self.text)

    def run(self) -> str:
        tags = self._tags(self.text, 0)
        return self._render(self.text, 0, len(self.text), tags)

    def _destination(self, match: re.Match[str]) -> str:
        dest = match.group("dest")
        if ("{" not in dest and not dest.startswith("@/")) or self._in_code(match.start()):
            return match.group(0)
        if dest.startswith("@/"):
            return match.group("lead") + SITE_PAGE  # Zola's link to a page by its source file
        return match.group("lead") + _resolve_destination(dest)

    def _render(self, text: str, start: int, end: int, tags: list[_Tag]) -> str:
        out: list[str] = []
        position, index = start, 0
        while index < len(tags):
            tag = tags[index]
            out.append(text[position : tag.start])
            closer = _closer(tags, index)
            if closer is not None:
                inner = tags[index + 1 : closer]
                out.append(self._paired(text, tag, tags[closer], inner))
                position, index = tags[closer].end, closer + 1
            else:
                out.append(self._single(text, tag))
                position, index = tag.end, index + 1
        out.append(text[position:end])
        return "".join(out)

    def _paired(self, text: str, opener: _Tag, closer: _Tag, inner: list[_Tag]) -> str:
        body_start, body_end = opener.end, closer.start
        raw_body = text[body_start:body_end]
        name = opener.name
        if opener.kind == "escape":
            return raw_body
        if name in _RAW_TAGS:
            return raw_body
        if name in _DROP_BODY:
            return _newlines(opener.raw + raw_body + closer.raw)
        if name in _CODE_TAGS:
            words = _positional(opener.args)
            language = words[0].removeprefix("lang:") if words else ""
            body = raw_body.strip("\n")
            return f"```{language}\n{body}\n```"
        if opener.kind == "stmt" and _lesson_block(opener.raw, name):
            self.lesson_depth += 1  # its {% else %} belongs to the lesson too
            body = self._render(text, body_start, body_end, inner)
            self.lesson_depth -= 1
            return opener.raw + body + closer.raw
        body = self._render(text, body_start, body_end, inner)
        media = self._media(opener, caption_body=body)
        if media is not None:
            return _block(text, opener.start, closer.end, media)
        self.drop(opener)
        return body

    def _single(self, text: str, tag: _Tag) -> str:
        if tag.kind == "escape":
            return ""
        if tag.kind == "shortcode" and tag.args.startswith("/*"):
            return _literal_shortcode(tag)  # Hugo's way to show a shortcode as text
        if tag.kind == "comment":
            return _newlines(tag.raw)
        if tag.kind == "expr" and is_lesson_placeholder(tag.raw):
            return tag.raw
        if tag.kind == "stmt" and tag.name in ("else", "elif") and self.lesson_depth:
            return tag.raw
        if tag.kind == "stmt" and _lesson_block(tag.raw, tag.name):
            return tag.raw
        value = self._page_value(tag)
        if value is not None:
            return value
        media = self._media(tag)
        if media is not None:
            return _block(text, tag.start, tag.end, media)
        self.drop(tag)
        return _newlines(tag.raw)

    def _page_value(self, tag: _Tag) -> str | None:
        """``{{ page.title }}`` (Jekyll, Zola) or ``{{< param "title" >}}`` (Hugo): the
        front-matter value the site would print."""
        key = ""
        found = re.fullmatch(r"\s*page\.(?:extra\.|params\.)?(\w+)\s*", tag.args)
        if tag.kind == "expr" and found:
            key = found.group(1)
        elif tag.kind == "shortcode" and tag.name == "param":
            words = _positional(tag.args)
            key = words[0] if words else ""
        value = self.metadata.get(key) if key else None
        return str(value) if isinstance(value, str | int | float) else None

    def _media(self, tag: _Tag, caption_body: str = "") -> str | None:
        """Markdown for an image or video tag, or None when the tag is something else."""
        named, positional = _arguments(tag)
        caption = _flatten(caption_body) or next((named[k] for k in _CAPTION_KEYS if named.get(k)), "")
        source = next((named[k] for k in _SOURCE_KEYS if named.get(k)), "")
        if not source:
            source = next((word for word in positional if _IMAGE_FILE.search(word)), "")
        if not caption and source in positional:  # {% img [class] src [width] ["title" ["alt"]] %}
            quoted = re.findall(r'"([^"]+)"', tag.args)
            caption = quoted[-1] if quoted else ""
        video = _video_address(tag.name, named, positional)
        if video:
            source = video
        if source and (video or _VIDEO_FILE.search(source)):
            # <figure> opens an HTML block in CommonMark; the reader makes it a video Figure
            video_tag = f'<video src="{_attribute(source)}" title="{_attribute(caption)}"></video>'
            return f"<figure>{video_tag}</figure>"
        if source and (_IMAGE_FILE.search(source) or "figure" in tag.name or "image" in tag.name
                       or tag.name in ("img", "image")):  # fmt: skip
            definitions, caption = _take_definitions(caption)
            figure = f"![{_alt(caption)}](<{source}>)"
            return figure + ("\n\n" + "\n".join(definitions) if definitions else "")
        return None


def _label(tag: _Tag) -> str:
    """How a note names a tag: its kind and name, so repeats are counted together."""
    if tag.name and tag.kind == "shortcode":
        return f"{tag.raw[:3]} {tag.name} … {tag.raw[-3:]}"
    if tag.name and tag.kind == "expr":
        return f"{{{{ {tag.name}(…) }}}}"
    if tag.name and tag.kind == "stmt":
        return f"{{% {tag.name} … %}}"
    return tag.raw if len(tag.raw) <= 40 else tag.raw[:39] + "…"


def _parse_tag(match: re.Match[str], base: int) -> _Tag | None:
    start, end = base + match.start(), base + match.end()
    raw = match.group(0)
    if (inner := match.group("angle")) is not None or (inner := match.group("percent")) is not None:
        if inner.strip().startswith("/*"):
            return _Tag("shortcode", "", inner.strip(), False, start, end, raw)
        parts = _NAME_ARGS.match(inner)
        if not parts:
            return None
        return _Tag("shortcode", parts.group(2), parts.group(3), bool(parts.group(1)), start, end, raw)
    if (inner := match.group("stmt")) is not None:
        inner = inner.strip("-").strip()
        if call := _CALL.match(inner):  # Zola: {% name(args) %} … {% end %}
            return _Tag("stmt", call.group(1), call.group(2), False, start, end, raw)
        word = re.match(r"(\w+)\s*(.*)", inner, re.S)
        if not word:
            return None
        name = word.group(1)
        closing = name.startswith("end")
        return _Tag("stmt", name, word.group(2), closing, start, end, raw)
    if (inner := match.group("expr")) is not None:
        inner = inner.strip("-").strip()
        if call := _CALL.match(inner):  # Zola: {{ name(args) }}
            return _Tag("expr", call.group(1), call.group(2), False, start, end, raw)
        return _Tag("expr", "", inner, False, start, end, raw)
    return _Tag("comment", "", "", False, start, end, raw)


def _closer(tags: list[_Tag], index: int) -> int | None:
    """Index of the tag closing tags[index], when it opens a pair."""
    tag = tags[index]
    if tag.closing or tag.kind in ("expr", "comment") or re.search(r"/\s*[>%]\}\}$", tag.raw):
        return None  # closers, outputs and self-closing shortcodes ({{< name />}}) stand alone
    if tag.kind == "escape":
        if tag.name != "raw":
            return None
        return next((j for j in range(index + 1, len(tags))
                     if tags[j].kind == "escape" and tags[j].name == "endraw"), None)  # fmt: skip
    depth = 0
    for j in range(index + 1, len(tags)):
        other = tags[j]
        if other.kind != tag.kind:
            continue
        if tag.kind == "shortcode":
            if other.name == tag.name:
                depth += -1 if other.closing else 1
        elif other.name == tag.name and not other.closing:
            depth += 1
        elif other.closing and other.name in (f"end{tag.name}", "end"):
            if other.name == "end" and not _CALL.match(tag.raw.strip("{%}- ")):
                continue  # a bare {% end %} closes a Zola shortcode call, not a Liquid block
            depth -= 1
        if depth < 0:
            return j
    return None


def _arguments(tag: _Tag) -> tuple[dict[str, str], list[str]]:
    named: dict[str, str] = {}
    positional: list[str] = []
    for key, value in _ARG.findall(tag.args):
        value = _unquote(value)
        if key:
            named[key.lower()] = value
        else:
            positional.append(value)
    return named, positional


def _positional(args: str) -> list[str]:
    return [_unquote(value) for key, value in _ARG.findall(args) if not key]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].replace('\\"', '"')
    return value


def _video_address(name: str, named: Mapping[str, str], positional: list[str]) -> str:
    ident = named.get("id") or (positional[0] if positional else "")
    if not ident or not re.fullmatch(r"[\w-]+", ident):
        return ""
    if "youtube" in name.lower():
        return f"https://www.youtube.com/watch?v={ident}"
    if "vimeo" in name.lower():
        return f"https://vimeo.com/{ident}"
    return ""


def _resolve_destination(dest: str) -> str:
    """A link target holding tags: the path they leave, or SITE_PAGE."""
    tags = re.findall(_INLINE_TAG, dest)
    rest = re.sub(_INLINE_TAG, "", dest).strip()
    names = {word.group(1) for tag in tags if (word := re.match(r"\{[{%<]*[<%]?\s*/?\s*([\w.-]+)", tag))}
    if names & _PAGE_TAGS:
        return SITE_PAGE
    if rest and not rest.startswith("#"):
        return rest  # "{{ site.baseurl }}/images/a.png": the site root goes, the path stays
    for tag in tags:
        for quoted in re.findall(r"""["']([^"']+)["']""", tag):
            if ("/" in quoted or "." in quoted) and not quoted.endswith(".md"):
                return quoted  # {{ "/about/" | relative_url }}
    return SITE_PAGE


def _literal_shortcode(tag: _Tag) -> str:
    inner = tag.args.removeprefix("/*").removesuffix("*/")
    return tag.raw[:3] + inner + tag.raw[-3:]


def _take_definitions(caption: str) -> tuple[list[str], str]:
    """Reference definitions written inside a caption must stay definitions."""
    found = re.findall(r"\s*(\[[^\]\n]+\]:\s*\S+(?:\s+\"[^\"]*\")?)", caption)
    kept = re.sub(r"\s*\[[^\]\n]+\]:\s*\S+(?:\s+\"[^\"]*\")?", " ", caption)
    definitions = [d for d in found if re.match(r"\[[^\]]+\]:\s*\S", d)]
    return definitions, re.sub(r"\s+", " ", kept).strip()


def _flatten(text: str) -> str:
    lines = [line.strip() for line in text.strip().split("\n")]
    return "\n".join(line for line in lines if line)


def _alt(text: str) -> str:
    # brackets inside an image description must balance, or the image is lost
    if text.count("[") != text.count("]"):
        text = text.replace("[", "\\[").replace("]", "\\]")
    return text.replace("\n", " ")


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _newlines(text: str) -> str:
    """What a removed stretch leaves: its line breaks, so line numbers stay true."""
    return "\n" * text.count("\n")


def _block(text: str, start: int, end: int, markdown: str) -> str:
    """``markdown`` as a block of its own where the tag stood."""
    line_end = text.find("\n", end)
    before = text[text.rfind("\n", 0, start) + 1 : start]
    after = text[end : line_end if line_end >= 0 else len(text)]
    lead = "\n\n" if before.strip() else ""
    trail = "\n\n" if after.strip() else ""
    return lead + markdown + trail + _newlines(text[start:end])
