"""`drip split`: article file or URL → lesson files in a campaign folder."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from sender.content.campaign_files import write_campaign
from sender.content.document import Document, Figure, Heading, word_count
from sender.content.errors import ContentError
from sender.content.headlines import signoff
from sender.content.inline import plain_text
from sender.content.lesson_markdown import lesson_filename, lesson_markdown
from sender.content.lint import Finding, lint_campaign
from sender.content.readers import Source, read_source
from sender.content.splitter import Lesson, split_document

_WEB = ("http://", "https://")
# A campaign slug is one folder name inside campaigns_dir: no separators, no dot-files.
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class OutlineEntry:
    level: int  # as in the document: 1 is the shallowest heading level
    text: str
    words: int  # up to the next heading
    line: int | None
    section: bool  # a heading at the outline level the lessons follow


@dataclass
class SplitReport:
    campaign_dir: Path
    title: str
    lesson_files: list[Path]
    lessons: list[Lesson]
    chrome: list[str]  # site text removed from the article, never emailed
    notes: list[str]
    findings: list[Finding]
    outline: list[OutlineEntry] = field(default_factory=list)
    overwritten_edits: list[str] = field(default_factory=list)
    signoff: str = ""
    written: bool = True  # False for a dry run

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def campaign_folder(campaigns_dir: Path, slug: str) -> Path:
    """The folder of campaign ``slug``; refuses anything that would land outside campaigns_dir."""
    if not _SLUG.fullmatch(slug) or ".." in slug:
        raise ContentError(
            f"--campaign {slug!r}: a campaign is one folder name inside {campaigns_dir} "
            "(letters, digits, '-', '_' and '.'; no '/', '..' or absolute path)"
        )
    return campaigns_dir / slug


def resolve_media(doc: Document, base_url: str) -> None:
    """Make relative picture addresses absolute against ``base_url`` (left as they are without one)."""
    blocks = []
    for block in doc.blocks:
        if isinstance(block, Figure) and block.src and not block.src.startswith(_WEB):
            src = block.src
            if src.startswith("//"):
                absolute = f"{urlsplit(base_url).scheme or 'https'}:{src}"
            elif base_url and not src.startswith("data:"):
                absolute = urljoin(base_url, src)
            else:
                absolute = src
            block = replace(block, src=absolute)
        blocks.append(block)
    doc.blocks = blocks


def source_findings(doc: Document, article_copy: Path) -> list[Finding]:
    """Warnings about the article itself (the lessons no longer show them)."""
    out = []
    for block in doc.blocks:
        if not isinstance(block, Figure) or (block.src or "").startswith(_WEB):
            continue
        what = "video" if block.kind == "video" else "picture"
        caption = plain_text(block.legend or block.caption)
        label = f' "{caption}"' if caption else ""
        if block.src and not block.src.startswith("data:"):
            message = (
                f"{what}{label} has a relative address ({block.src}) and the article gives no base URL; "
                "pass --base-url https://… (where the article is published) to keep it"
            )
        else:
            lost = "its caption was left out of the lesson" if caption else "it is left out"
            message = f"{what}{label} is not in the article; {lost}"
        out.append(Finding("warning", article_copy, block.line or 0, message))
    return out


def outline(doc: Document, section_level: int | None) -> list[OutlineEntry]:
    """Headings with their levels and the words under each, for `drip split --dry-run`."""
    entries: list[OutlineEntry] = []
    starts = [i for i, block in enumerate(doc.blocks) if isinstance(block, Heading)]
    for at, end in zip(starts, [*starts[1:], len(doc.blocks)], strict=False):
        heading = doc.blocks[at]
        assert isinstance(heading, Heading)
        entries.append(
            OutlineEntry(
                level=heading.level,
                text=plain_text(heading.text),
                words=word_count(doc.blocks[at + 1 : end]),
                line=heading.line,
                section=section_level is not None and heading.level <= section_level,
            )
        )
    return entries


def split_article(
    article: Path | Source,
    campaign_dir: Path,
    *,
    lessons: int | None = None,
    fmt: str | None = None,
    force: bool = False,
    title: str | None = None,
    base_url: str | None = None,
    dry_run: bool = False,
) -> SplitReport:
    """Read, split, write and lint a campaign; see the package docstring.

    ``base_url`` (where the article is published) overrides the one the page
    gives; with ``dry_run`` nothing is written and the report says what would be.
    """
    source = article if isinstance(article, Source) else Source.from_file(article, fmt)
    doc = read_source(source, base_url or "")
    if title:
        doc.title = title
    resolve_media(doc, base_url or doc.base_url)
    try:
        plan = split_document(doc, lessons)
    except ContentError as exc:
        raise ContentError(f"{source.name}: {exc}") from exc
    files: dict[str, bytes] = {}
    for lesson in plan.lessons:
        files[lesson_filename(lesson)] = lesson_markdown(lesson).encode("utf-8")
    copy_name = f"article{source.suffix}"
    files[copy_name] = source.data
    sign = signoff(doc.bio)
    report = SplitReport(
        campaign_dir=campaign_dir,
        title=doc.title,
        lesson_files=[campaign_dir / lesson_filename(lesson) for lesson in plan.lessons],
        lessons=plan.lessons,
        chrome=doc.chrome,
        notes=doc.notes + plan.notes,
        findings=source_findings(doc, Path(source.name) if dry_run else campaign_dir / copy_name),
        outline=outline(doc, plan.section_level),
        signoff=sign,
        written=not dry_run,
    )
    if dry_run:
        return report
    result = write_campaign(
        campaign_dir,
        files,
        {"title": doc.title, "source": copy_name, "signoff": sign, "language": "en"},
        # source must follow the new copy; the title only changes when asked to
        {"source", "title"} if title else {"source"},
        force=force,
    )
    report.findings += lint_campaign(campaign_dir)
    report.overwritten_edits = result.overwritten_edits
    return report
