"""`drip lint CAMPAIGN`: problems in lesson files, with file and line.

Warnings are things a reader of the email would trip over (a "picture
below" that is not there, a "CLICK HERE" without a link, a subject cut off
on phones); errors are things that make a lesson unsendable (no body, broken
front matter). Only errors should fail the command.

Lesson files and campaign.toml are read with the loader's own functions and
schema (`sender.campaign`), so lint and loading never disagree; each finding
keeps the line it is about.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sender.campaign import FrontMatterBlock, campaign_file_problems, front_matter_problems, read_front_matter
from sender.content.campaign_files import CAMPAIGN_TOML, lesson_files
from sender.content.headlines import (
    LINK_WORDS,
    MEDIA_POINTER,
    PREHEADER_MAX,
    PREHEADER_MIN,
    SUBJECT_MAX,
)

Severity = Literal["error", "warning"]
_LONG_LESSON_FACTOR = 2.0
_LONG_LESSON_MIN_WORDS = 300
_MD_LINK = re.compile(r"!?\[[^\]]*\]\([^)]*\)")
_UNRESOLVED = re.compile(r"\[\^(\w+)\]")
_LOCAL_MARKER = re.compile(r"\[(\d{1,3})\](?![(:])")
# An image, an embed, or a link to a video host right after the pointer.
_MEDIA_NEARBY = re.compile(r"!\[|<img|<iframe|<video|▶|\]\(https?://[^)]*(?:youtu|vimeo|wistia|loom)", re.I)
_WORD = re.compile(r"[\w’']+")


@dataclass(frozen=True)
class Finding:
    severity: Severity
    path: Path
    line: int  # 1-based; 0 means the file or folder as a whole
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.severity}: {self.message}"


@dataclass
class LessonSource:
    path: Path
    front: dict[str, Any]
    key_lines: dict[str, int]
    body_start: int  # 1-based line number of the first body line
    body_lines: list[str]
    problems: list[Finding] = field(default_factory=list)

    @property
    def words(self) -> int:
        return len(_WORD.findall("\n".join(self.body_lines)))


def read_lesson_source(path: Path) -> LessonSource:
    """Front matter, its key line numbers, and the body lines of a lesson file."""
    source = LessonSource(path=path, front={}, key_lines={}, body_start=1, body_lines=[])
    try:
        lines = path.read_text("utf-8-sig").split("\n")  # -sig: as the loader reads it
    except (OSError, UnicodeDecodeError) as exc:
        source.problems.append(Finding("error", path, 0, f"cannot read the file: {exc}"))
        return source
    # The loader's own reading of the front matter: the same problems at the same lines.
    block = read_front_matter(lines)
    if block.problem:
        source.problems.append(Finding("error", path, block.problem.line, block.problem.message))
    source.front, source.key_lines = block.meta, block.key_lines
    source.body_start = block.body_index + 1
    source.body_lines = lines[block.body_index :]
    return source


def lint_campaign(campaign_dir: Path) -> list[Finding]:
    findings: list[Finding] = []
    if not campaign_dir.is_dir():
        return [Finding("error", campaign_dir, 0, "no such campaign folder")]
    toml_path = campaign_dir / CAMPAIGN_TOML
    if not toml_path.exists():
        findings.append(Finding("error", toml_path, 0, "campaign.toml is missing"))
    else:
        try:
            text = toml_path.read_text("utf-8-sig")
        except UnicodeDecodeError as exc:
            findings.append(Finding("error", toml_path, 0, f"not valid TOML: {exc}"))
        else:  # the schema `load_campaign` checks: unknown keys, time zone, [utm], [button] …
            problems = campaign_file_problems(text)[2]
            findings += [Finding("error", toml_path, p.line, p.message) for p in problems]
    sources = [read_lesson_source(path) for path in lesson_files(campaign_dir)]
    if not sources:
        findings.append(Finding("error", campaign_dir, 0, "no lesson files (NN-name.md)"))
    for source in sources:
        findings.extend(source.problems)
        if not source.problems:  # a file that cannot be parsed gets one clear error, not ten
            findings.extend(_lint_front(source))
            findings.extend(_lint_body(source))
    findings.extend(_lint_across(sources))
    return findings


def _lint_front(source: LessonSource) -> list[Finding]:
    out: list[Finding] = []
    front, path = source.front, source.path

    def at(key: str) -> int:
        return source.key_lines.get(key, 1)

    # The schema the loader checks (unknown keys, subject, timing, references), then advice.
    block = FrontMatterBlock(front, source.key_lines, source.body_start - 1)
    out += [Finding("error", path, p.line, p.message) for p in front_matter_problems(block)[1]]
    subject = front.get("subject")
    if isinstance(subject, str) and len(subject) > SUBJECT_MAX:
        out.append(
            Finding("warning", path, at("subject"),
                    f"subject is {len(subject)} characters; phones cut it after {SUBJECT_MAX}")
        )  # fmt: skip
    preheader = front.get("preheader")
    if not isinstance(preheader, str) or not preheader.strip():
        out.append(
            Finding(
                "warning", path, at("preheader"), "no preheader; inboxes will show the body's first words"
            )
        )
    elif not PREHEADER_MIN <= len(preheader) <= PREHEADER_MAX:
        out.append(
            Finding("warning", path, at("preheader"),
                    f"preheader is {len(preheader)} characters; aim for {PREHEADER_MIN}–{PREHEADER_MAX}")
        )  # fmt: skip
    return out


def _lint_body(source: LessonSource) -> list[Finding]:
    out: list[Finding] = []
    path = source.path
    if not any(line.strip() for line in source.body_lines):
        out.append(Finding("error", path, source.body_start, "the lesson body is empty"))
        return out
    references = source.front.get("references") or []
    count = len(references) if isinstance(references, list) else 0
    cited: set[int] = set()
    in_fence = False
    numbered = list(enumerate(source.body_lines, start=source.body_start))
    for position, (line_no, line) in enumerate(numbered):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if in_fence:
            continue
        text = _MD_LINK.sub(" ", line)
        for match in LINK_WORDS.finditer(text):
            out.append(Finding("warning", path, line_no, f'"{match.group(0)}" has no link'))
        if pointer := MEDIA_POINTER.search(line):
            nearby = " ".join(text for _, text in numbered[position : position + 3])
            if not _MEDIA_NEARBY.search(nearby):
                out.append(
                    Finding("warning", path, line_no,
                            f'"{pointer.group(0)}" points at media the lesson does not have')
                )  # fmt: skip
        if line.rstrip().endswith(":") and not line.lstrip().startswith(("#", "**", "-", ">")):
            following = next((text for _, text in numbered[position + 1 :] if text.strip()), "")
            if not following or following.startswith("#"):
                out.append(Finding("warning", path, line_no, "ends with a colon but nothing follows it"))
        for match in _UNRESOLVED.finditer(text):
            out.append(Finding("warning", path, line_no, f"footnote [^{match.group(1)}] has no citation"))
        for match in _LOCAL_MARKER.finditer(text):
            number = int(match.group(1))
            if number > count:
                out.append(
                    Finding("warning", path, line_no,
                            f"footnote [{number}] has no entry in this lesson's references")
                )  # fmt: skip
            cited.add(number)
        if line.count("{{") != line.count("}}"):
            out.append(Finding("error", path, line_no, "unbalanced {{ }} placeholder"))
    for number in range(1, count + 1):
        if number not in cited:
            out.append(
                Finding("warning", path, source.key_lines.get("references", 1),
                        f"reference {number} is never cited in the body as [{number}]")
            )  # fmt: skip
    return out


def _lint_across(sources: list[LessonSource]) -> list[Finding]:
    out: list[Finding] = []
    seen: dict[str, Path] = {}
    for source in sources:
        subject = source.front.get("subject")
        if isinstance(subject, str) and subject.strip():
            key = subject.strip().lower()
            if key in seen:
                out.append(
                    Finding("warning", source.path, source.key_lines.get("subject", 1),
                            f"same subject as {seen[key].name}")
                )  # fmt: skip
            seen.setdefault(key, source.path)
    if len(sources) >= 3:
        words = [source.words for source in sources]
        for source in sources:
            others = statistics.median(w for s, w in zip(sources, words, strict=True) if s is not source)
            if source.words > max(_LONG_LESSON_FACTOR * others, _LONG_LESSON_MIN_WORDS):
                out.append(
                    Finding("warning", source.path, 0,
                            f"{source.words} words, over twice the other lessons' median "
                            f"({others:.0f}); consider splitting it")
                )  # fmt: skip
    return out
