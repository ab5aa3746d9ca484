"""Finding footnote markers in text that lost its superscripts.

Copying a web page as plain text glues footnote numbers to sentences:
"after your birth.1", "atrophy 2, we know", "pelvis and femur. 5+6". These
rules turn them into sentinels (``inline.footnote_sentinel``) that become
``[^N]`` markers once the text is escaped. Numbers are only taken as
markers when the article has a reference list to resolve them against,
and the weakest rule (a number after a word) only when it continues the
sequence of markers seen so far, so "step 2, then" is left alone.
"""

from __future__ import annotations

import re

from sender.content.inline import footnote_sentinel

_NUMBERS = r"\d{1,2}(?:\s?[,+&–-]\s?\d{1,2})*"
# One pass, left to right, so the "continues the sequence" test sees markers in order.
_MARKER = re.compile(
    # "[3]" — explicit bracket markers
    rf"(?P<bracket>\s?\[(?P<bn>\d{{1,2}}(?:\s?[,–-]\s?\d{{1,2}})*)\])"
    # "femur. 5+6" at the very end of a paragraph
    rf"|(?<=[.!?”\"’])\s+(?P<tn>{_NUMBERS})\s*$"
    # "birth.1", "extension.3" — digits glued after sentence punctuation
    rf"|(?<=[^\s\d])(?P<gp>[.!?”\"’)])(?P<gn>{_NUMBERS})(?=[\s,;:)]|$)"
    # "atrophy 2," — a number after a word, then punctuation or the end
    r"|(?<=[a-z]{3})\s(?P<wn>\d{1,2})(?=[,;:.]\s|[,;:.]?$)"
)
_COUNTED_NOUNS = {
    "page", "step", "chapter", "level", "number", "phase", "day", "days", "week", "weeks",
    "set", "sets", "rep", "reps", "part", "grade", "type", "stage", "zone", "lesson",
    "section", "figure", "table", "volume", "issue", "round", "minute", "minutes", "hour",
    "hours", "age", "size", "tip", "mile", "miles", "version", "item", "point", "points",
}  # fmt: skip


def expand(numbers: str) -> list[int]:
    """'5+6' -> [5, 6]; '3-5' -> [3, 4, 5]; '1, 4' -> [1, 4]."""
    out: list[int] = []
    for part in re.split(r"\s?[,+&]\s?", numbers):
        if m := re.fullmatch(r"(\d+)\s?[–-]\s?(\d+)", part):
            low, high = int(m.group(1)), int(m.group(2))
            out.extend(range(low, high + 1) if 0 < high - low < 10 else [low, high])
        elif part.strip().isdigit():
            out.append(int(part))
    return out


class MarkerFinder:
    """Replaces footnote numbers in successive paragraphs with sentinels."""

    def __init__(self, reference_count: int) -> None:
        self.reference_count = reference_count
        self.last = 0

    def _valid(self, numbers: list[int]) -> bool:
        return bool(numbers) and all(1 <= n <= self.reference_count for n in numbers)

    def _sentinels(self, numbers: list[int]) -> str:
        self.last = max(self.last, *numbers)
        return "".join(footnote_sentinel(n) for n in numbers)

    def mark(self, text: str) -> str:
        if self.reference_count == 0:
            return text

        def replace(m: re.Match[str]) -> str:
            if m.group("wn"):
                number = int(m.group("wn"))
                words = re.findall(r"[a-z]+", text[: m.start()].lower())
                plausible = number in (self.last, self.last + 1) and bool(words)
                if plausible and words[-1] not in _COUNTED_NOUNS and self._valid([number]):
                    return self._sentinels([number])
                return m.group(0)
            numbers = expand(m.group("bn") or m.group("tn") or m.group("gn"))
            if not self._valid(numbers):
                return m.group(0)
            return (m.group("gp") or "") + self._sentinels(numbers)

        return _MARKER.sub(replace, text)


# reStructuredText (PEP sources, Sphinx): ``[3]_`` cites ``.. [3] text``; ``[#]_`` / ``[#name]_``
# are auto-numbered and ``[*]_`` auto-symbol notes, matched to their definitions in order.
RST_DEFINITION = re.compile(r"^\.\.\s+\[(\d+|#[\w-]*|\*)\]\s*(.*)$")
_RST_MARKER = re.compile(r"\s?\[(\d+|#[\w-]*|\*)\]_(?![\w])")


class RstNotes:
    """Labels of ``.. [n]`` definitions, and their ``[n]_`` uses turned into sentinels."""

    def __init__(self) -> None:
        self._labels: dict[str, int] = {}
        self._anonymous: dict[str, list[int]] = {"#": [], "*": []}
        self._used: dict[str, int] = {"#": 0, "*": 0}

    def define(self, label: str, index: int) -> None:
        """Record that the definition labelled ``label`` is reference ``index`` (1-based)."""
        if label in self._anonymous:
            self._anonymous[label].append(index)
        else:
            self._labels[label] = index

    def __bool__(self) -> bool:
        return bool(self._labels) or any(self._anonymous.values())

    def _index(self, label: str) -> int | None:
        if label in self._anonymous:
            pool, used = self._anonymous[label], self._used[label]
            self._used[label] = used + 1
            return pool[used] if used < len(pool) else None
        return self._labels.get(label)

    def mark(self, text: str) -> str:
        def replace(m: re.Match[str]) -> str:
            index = self._index(m.group(1))
            return footnote_sentinel(index) if index else m.group(0)

        return _RST_MARKER.sub(replace, text)


def plain_rst_markers(text: str) -> str:
    """``[6]_`` inside a note's own text becomes a plain ``[6]``."""
    return _RST_MARKER.sub(lambda m: f" [{m.group(1)}]" if m.group(0).startswith(" ") else f"[{m.group(1)}]",
                           text)  # fmt: skip
