"""`drip split`: article file → lesson files in a campaign folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sender.content.campaign_files import write_campaign
from sender.content.document import Document, Figure
from sender.content.errors import ContentError
from sender.content.headlines import signoff
from sender.content.lesson_markdown import lesson_filename, lesson_markdown
from sender.content.lint import Finding, lint_campaign
from sender.content.readers import read_article
from sender.content.splitter import Lesson, split_document


@dataclass
class SplitReport:
    campaign_dir: Path
    title: str
    lesson_files: list[Path]
    lessons: list[Lesson]
    chrome: list[str]  # site text removed from the article, never emailed
    notes: list[str]
    findings: list[Finding]
    overwritten_edits: list[str] = field(default_factory=list)
    signoff: str = ""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def source_findings(doc: Document, article_copy: Path) -> list[Finding]:
    """Warnings about the article itself (the lessons no longer show them)."""
    out = []
    for block in doc.blocks:
        if isinstance(block, Figure) and not (block.src or "").startswith(("http://", "https://")):
            what = "video" if block.kind == "video" else "picture"
            label = f' "{block.caption}"' if block.caption else ""
            out.append(
                Finding("warning", article_copy, block.line or 0,
                        f"{what}{label} is not in the article; its caption was left out of the lesson")
            )  # fmt: skip
    return out


def split_article(
    article: Path,
    campaign_dir: Path,
    *,
    lessons: int | None = None,
    fmt: str | None = None,
    force: bool = False,
    title: str | None = None,
) -> SplitReport:
    """Read, split, write and lint a campaign; see the package docstring."""
    doc = read_article(article, fmt)
    if title:
        doc.title = title
    try:
        plan = split_document(doc, lessons)
    except ContentError as exc:
        raise ContentError(f"{article}: {exc}") from exc
    files: dict[str, bytes] = {}
    for lesson in plan.lessons:
        files[lesson_filename(lesson)] = lesson_markdown(lesson).encode("utf-8")
    copy_name = f"article{article.suffix.lower() or '.txt'}"
    files[copy_name] = article.read_bytes()
    sign = signoff(doc.bio)
    result = write_campaign(
        campaign_dir,
        files,
        {"title": doc.title, "source": copy_name, "signoff": sign, "language": "en"},
        # source must follow the new copy; the title only changes when asked to
        {"source", "title"} if title else {"source"},
        force=force,
    )
    findings = source_findings(doc, campaign_dir / copy_name) + lint_campaign(campaign_dir)
    return SplitReport(
        campaign_dir=campaign_dir,
        title=doc.title,
        lesson_files=[campaign_dir / lesson_filename(lesson) for lesson in plan.lessons],
        lessons=plan.lessons,
        chrome=doc.chrome,
        notes=doc.notes + plan.notes,
        findings=findings,
        overwritten_edits=result.overwritten_edits,
        signoff=sign,
    )
