"""reStructuredText in plain-text files: underlined and overlined headings,
``.. [n]`` notes, comments, directives and link targets, the document title,
and inline markup (literals, roles, links, emphasis) turned into CommonMark."""

from __future__ import annotations

import re

from sender.content.footnotes import RST_DEFINITION, RstNotes, plain_rst_markers
from sender.content.inline import escape_text
from sender.content.readers.plaintext_lines import ArticleText, clean

_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+<>:._])\1{2,}\s*$")
_RST_ROLE = re.compile(r":(\w[\w-]*):`([^`]+)`")
_RST_INLINE = re.compile(
    r"``(?P<code>.+?)``"
    r"|:(?P<role>\w[\w-]*):`(?P<rtext>[^`]+)`"
    r"|`(?P<ltext>[^`<]+?)\s*<(?P<url>[^>`]+)>`__?"
    r"|`(?P<ref>[^`]+)`__?"
    r"|(?<![\w*])\*\*(?P<strong>\S(?:.*?\S)?)\*\*(?![\w*])"
    r"|(?<![\w*])\*(?P<em>[^\s*](?:[^*]*?[^\s*])?)\*(?![\w*])"
    r"|`(?P<interp>[^`]+)`"
)


def rst_markup(doc: ArticleText, notes: RstNotes, references: list[str]) -> dict[str, str]:
    """Underlined headings, notes, comments and link targets of reStructuredText."""
    lines = doc.lines
    targets: dict[str, str] = {}
    index = 0
    while index < len(lines):
        text = lines[index]
        if text is None:
            index += 1
            continue
        under = lines[index + 1] if index + 1 < len(lines) else None
        blank_before = index == 0 or not (lines[index - 1] or "").strip()
        stripped = text.strip()
        if (
            stripped and under and _RST_UNDERLINE.match(under) and not _RST_UNDERLINE.match(text)
            and len(under.strip()) >= max(3, int(len(stripped) * 0.8)) and not text.startswith((" ", "\t"))
        ):  # fmt: skip
            style = under.strip()[0]
            over = index - 1
            if over >= 0 and (lines[over] or "").strip() == under.strip():
                style += "o"
                lines[over] = None
            elif not blank_before:
                index += 1
                continue
            doc.rst_heads[index] = style
            lines[index + 1] = None
            index += 2
            continue
        if stripped and _RST_UNDERLINE.match(stripped) and index + 2 < len(lines):
            # an overline: title (maybe indented) then the same line again
            title, below = lines[index + 1] or "", lines[index + 2] or ""
            if title.strip() and below.strip() == stripped and blank_before:
                doc.rst_heads[index + 1] = stripped[0] + "o"
                lines[index] = lines[index + 2] = None
                lines[index + 1] = title.strip()
                index += 3
                continue
        if definition := RST_DEFINITION.match(text):
            parts = [definition.group(2)]
            lines[index] = None
            index += 1
            while index < len(lines) and (lines[index] is None or (lines[index] or "").startswith((" ", "\t"))
                                          or not (lines[index] or "").strip()):  # fmt: skip
                if (lines[index] or "").strip():
                    parts.append((lines[index] or "").strip())
                elif index + 1 < len(lines) and not (lines[index + 1] or "").startswith((" ", "\t")):
                    break
                lines[index] = None
                index += 1
            references.append(plain_rst_markers(_rst_plain(" ".join(parts))))
            notes.define(definition.group(1), len(references))
            continue
        if target := re.match(r"^\.\.\s+_([^:]+):\s*(\S+)\s*$", text):
            targets[target.group(1).strip().lower()] = target.group(2)
            lines[index] = None
        elif re.match(r"^\.\.\s+(?:code(?:-block)?|sourcecode)::", text):
            doc.code_directives.add(index)
            lines[index] = None
        elif re.match(r"^\.\.(?:\s|$)", text) and "::" not in text:
            # a comment, with its indented continuation (editor settings, notes to editors)
            lines[index] = None
            while index + 1 < len(lines) and (lines[index + 1] or "").startswith((" ", "\t")):
                index += 1
                lines[index] = None
        elif re.match(r"^\.\.\s+[\w-]+::", text):
            lines[index] = None  # other directives: their content stays as text
        index += 1
    return targets


def _rst_plain(text: str) -> str:
    """RST inline markup to plain text (for notes)."""
    text = re.sub(r"``(.+?)``", r"\1", text)
    text = _RST_ROLE.sub(lambda m: _role_text(m.group(1), m.group(2)), text)
    text = re.sub(r"`([^`<]+?)\s*<([^>`]+)>`__?", r"\1 (\2)", text)
    return re.sub(r"`([^`]+)`_{0,2}", r"\1", text).replace("\\ ", "")


def _role_text(role: str, text: str) -> str:
    text = re.sub(r"\s*<[^>]*>$", "", text).lstrip("~!")
    if role.lower() in ("pep", "rfc"):
        return f"{role.upper()} {text}"
    return text


def _code_span(text: str) -> str:
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def rst_inline(text: str, targets: dict[str, str]) -> str:
    """RST inline markup to CommonMark: literals, roles, links, emphasis."""
    text = text.replace("\\ ", "")
    out: list[str] = []
    last = 0
    for m in _RST_INLINE.finditer(text):
        out.append(escape_text(text[last : m.start()]) if m.start() > last else "")
        last = m.end()
        if m.group("code") is not None:
            out.append(_code_span(m.group("code")))
        elif m.group("role") is not None:
            role_text = _role_text(m.group("role"), m.group("rtext"))
            literal = m.group("role") in ("code", "literal", "samp", "file", "command", "class", "func",
                                          "meth", "attr", "mod", "data", "const", "exc", "obj")  # fmt: skip
            out.append(_code_span(role_text) if literal else escape_text(role_text))
        elif m.group("url") is not None:
            out.append(f"[{escape_text(m.group('ltext'))}](<{m.group('url')}>)")
        elif m.group("ref") is not None:
            name = m.group("ref")
            url = targets.get(clean(name).lower())
            out.append(f"[{escape_text(name)}](<{url}>)" if url else escape_text(name))
        elif m.group("strong") is not None:
            out.append(f"**{escape_text(m.group('strong'))}**")
        elif m.group("em") is not None:
            out.append(f"*{escape_text(m.group('em'))}*")
        else:
            out.append(_code_span(m.group("interp")))
    out.append(escape_text(text[last:]))
    return "".join(out)


def find_rst_title(doc: ArticleText) -> int | None:
    """As docutils has it: an RST heading opening the text, in a style used
    only once, is the document's title."""
    if not doc.rst_heads:
        return None
    first = min(doc.rst_heads)
    style = doc.rst_heads[first]
    before = [i for i in doc.live() if i < first]
    if not before and list(doc.rst_heads.values()).count(style) == 1:
        return first
    return None
