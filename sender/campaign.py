"""Campaign folders as staff edit them: `campaign.toml` plus one Markdown
lesson per file with front matter. After a split, these files are the source
of truth; the store only remembers who got which lesson key."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from sender.errors import DripError

SETTINGS_FILE = "campaign.toml"


class CampaignError(DripError):
    """A campaign folder or lesson file is wrong; the message names the file and line."""


@dataclass(frozen=True)
class Lesson:
    key: str  # file stem, e.g. "02-dominant-hamstrings"; what deliveries remember
    path: Path
    position: int  # 1-based order in the course
    subject: str
    preheader: str
    body: str  # Markdown, may hold {{ subscriber... }} placeholders
    delay: int | None = None  # days after the previous lesson; None = campaign default
    teaser: str = ""
    references: tuple[str, ...] = ()
    body_line: int = 1  # line of the file where the body starts, for error messages


@dataclass(frozen=True)
class Campaign:
    slug: str
    path: Path
    title: str
    lessons: tuple[Lesson, ...]
    signoff: str = ""
    language: str = "en"
    settings: dict[str, Any] = field(default_factory=dict)

    def lesson(self, position: int) -> Lesson | None:
        return self.lessons[position - 1] if 1 <= position <= len(self.lessons) else None


def _front_matter_lines(text: str) -> int:
    """How many lines the front matter block takes (0 if none)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return 0
    for i, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            return i
    return 0


def _require_str(meta: dict[str, Any], key: str, path: Path) -> str:
    value = meta.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CampaignError(f"{path}:1: front matter needs a non-empty '{key}'")
    return value.strip()


def load_lesson(path: Path, position: int) -> Lesson:
    text = path.read_text(encoding="utf-8")
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise CampaignError(f"{path}:{line}: front matter is not valid YAML: {exc}") from None
    meta = post.metadata
    delay = meta.get("delay")
    if delay is not None and (not isinstance(delay, int) or delay < 0):
        raise CampaignError(f"{path}:1: 'delay' must be a whole number of days >= 0, got {delay!r}")
    refs = meta.get("references") or []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise CampaignError(f"{path}:1: 'references' must be a list of strings")
    if not post.content.strip():
        raise CampaignError(f"{path}: lesson body is empty")
    return Lesson(
        key=path.stem,
        path=path,
        position=position,
        subject=_require_str(meta, "subject", path),
        preheader=str(meta.get("preheader") or "").strip(),
        body=post.content,
        delay=delay,
        teaser=str(meta.get("teaser") or "").strip(),
        references=tuple(refs),
        body_line=_front_matter_lines(text) + 1,
    )


def load_campaign(path: Path) -> Campaign:
    path = path.resolve()
    settings_file = path / SETTINGS_FILE
    if not settings_file.is_file():
        raise CampaignError(f"{path}: not a campaign folder (no {SETTINGS_FILE}); run `drip split`")
    try:
        settings = tomllib.loads(settings_file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"{settings_file}: {exc}") from None
    files = sorted(p for p in path.glob("*.md") if p.name[0].isdigit())
    if not files:
        raise CampaignError(f"{path}: no lesson files (NN-name.md)")
    lessons = tuple(load_lesson(p, i) for i, p in enumerate(files, start=1))
    return Campaign(
        slug=path.name,
        path=path,
        title=str(settings.get("title") or path.name),
        lessons=lessons,
        signoff=str(settings.get("signoff") or ""),
        language=str(settings.get("language") or "en"),
        settings=settings,
    )


def campaign_dirs(campaigns_dir: Path) -> list[Path]:
    if not campaigns_dir.is_dir():
        return []
    return sorted(p for p in campaigns_dir.iterdir() if (p / SETTINGS_FILE).is_file())
