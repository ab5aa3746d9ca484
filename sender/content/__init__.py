"""The content stage: article file (plain text, Markdown, HTML) → lessons.

Pipeline: ``readers`` (one per format) build a ``Document`` (title, blocks,
references, author bio, removed site chrome); ``structure`` applies the
format-independent rules (call-outs, exercise blocks, heading levels);
``splitter`` cuts it into lessons with subjects, preheaders and per-lesson
references; ``lesson_markdown`` and ``campaign_files`` write the campaign
folder; ``lint`` checks lesson files.

Public API (used by the CLI):
- ``split_article(article, campaign_dir, *, lessons=None, fmt=None, force=False, title=None)``
- ``lint_campaign(campaign_dir) -> list[Finding]``
- ``read_article(path, fmt=None) -> Document``
- ``ContentError`` and its subclass ``HandEditedError``
"""

from sender.content.document import Document
from sender.content.errors import ContentError, HandEditedError
from sender.content.lint import Finding, lint_campaign
from sender.content.pipeline import SplitReport, split_article
from sender.content.readers import read_article
from sender.content.splitter import Lesson

__all__ = [
    "ContentError",
    "Document",
    "Finding",
    "HandEditedError",
    "Lesson",
    "SplitReport",
    "lint_campaign",
    "read_article",
    "split_article",
]
