"""Front matter at the top of a Markdown post: YAML ``---``, TOML ``+++``
(Hugo, Zola) or JSON (``;;;`` fences, or Hugo's bare ``{ ... }`` object).

None of it is article text: the reader takes the title (and a few other
keys) from it and emails nothing else. Invalid front matter is a
ContentError naming the line in the file, never a traceback.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import frontmatter
import yaml

from sender.content.errors import ContentError

# Opening line -> (closing line pattern, format name).
_FENCES = {
    "---": (re.compile(r"^(?:---|\.\.\.)[ \t]*$"), "YAML"),
    "+++": (re.compile(r"^\+\+\+[ \t]*$"), "TOML"),
    ";;;": (re.compile(r"^;;;[ \t]*$"), "JSON"),
}
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")
# Keys that give the article's own address, against which relative images resolve.
_URL_KEYS = ("canonical_url", "canonicalURL", "canonical", "original_url", "permalink_url")


@dataclass
class FrontMatter:
    metadata: dict[str, Any] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1  # 1-based line of the file where the body starts

    def text(self, key: str) -> str:
        value = self.metadata.get(key)
        return value.strip() if isinstance(value, str) else ""

    @property
    def base_url(self) -> str:
        for key in _URL_KEYS:
            value = self.text(key)
            if value.startswith(("http://", "https://")):
                return value
        return ""


def split_front_matter(text: str) -> FrontMatter:
    """Separate the front matter (if any) from the Markdown body."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return FrontMatter(body=text)
    opening = lines[first].strip()
    if opening == "{":  # Hugo: a JSON object is the front matter, no fence
        return _json_object(text, lines, first)
    if opening not in _FENCES:
        return FrontMatter(body=text)
    closing, kind = _FENCES[opening]
    end = next((i for i in range(first + 1, len(lines)) if closing.match(lines[i])), None)
    if end is None:
        if opening == "---":  # a thematic break at the top, not front matter
            return FrontMatter(body=text)
        raise ContentError(f"line {first + 1}: the {kind} front matter opened here is never closed")
    source = "\n".join(lines[first + 1 : end])
    metadata = _parse(source, kind, first + 2)
    if metadata is None:
        return FrontMatter(body=text)
    return FrontMatter(metadata, "\n".join(lines[end + 1 :]), end + 2)


def _parse(source: str, kind: str, first_line: int) -> dict[str, Any] | None:
    """The mapping in the front matter; None when YAML fences hold no mapping."""
    try:
        if kind == "TOML":
            return tomllib.loads(source)
        if kind == "JSON":
            # python-frontmatter's ";;;" fences hold an object; some tools leave out its braces
            braced = source.lstrip().startswith("{")
            value = json.loads(source if braced else "{" + source + "}")
        else:
            value = frontmatter.YAMLHandler().load(source)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_POSITION.search(str(exc))
        line = first_line + int(found.group(1)) - 1 if found else first_line
        message = _TOML_POSITION.sub("", str(exc)).strip()
        raise ContentError(f"line {line}: the TOML front matter is not valid: {message}") from None
    except json.JSONDecodeError as exc:
        raise ContentError(f"line {first_line + exc.lineno - 1}: the JSON front matter is not valid: "
                           f"{exc.msg}") from None  # fmt: skip
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + mark.line if mark is not None else first_line
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContentError(f"line {line}: the YAML front matter is not valid: {problem}") from None
    if isinstance(value, dict):
        return value
    if kind == "YAML" and value is None:
        return {}  # "---" then "---": empty front matter
    if kind == "YAML":
        return None  # two thematic breaks around prose, not front matter
    raise ContentError(f"line {first_line - 1}: the JSON front matter is not an object")


def _json_object(text: str, lines: list[str], first: int) -> FrontMatter:
    start = sum(len(line) + 1 for line in lines[:first])
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise ContentError(f"line {exc.lineno}: the JSON front matter is not valid: {exc.msg}") from None
    if not isinstance(value, dict):
        return FrontMatter(body=text)
    consumed = text[:end].count("\n")
    rest = text[end:]
    newline = rest.find("\n")
    body = "" if newline < 0 else rest[newline + 1 :]
    return FrontMatter(value, body, consumed + 2)
