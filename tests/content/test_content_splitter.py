"""Splitting options: lesson counts, atomic blocks, the wrap-up at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from sender.content import ContentError, read_article
from sender.content.document import Exercise, ListBlock
from sender.content.footnotes import MarkerFinder
from sender.content.splitter import split_document


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 8, 10])
def test_any_lesson_count_keeps_blocks_whole_and_in_order(seed: Path, count: int) -> None:
    doc = read_article(seed)
    plan = split_document(doc, count)
    assert len(plan.lessons) == count
    # Every list / exercise reappears intact in exactly one lesson.
    atomic = [b for b in doc.blocks if isinstance(b, ListBlock | Exercise)]
    in_lessons = [b for lesson in plan.lessons for b in lesson.blocks if isinstance(b, ListBlock | Exercise)]
    assert [len(getattr(b, "items", getattr(b, "cues", ()))) for b in in_lessons] == [
        len(getattr(b, "items", getattr(b, "cues", ()))) for b in atomic
    ]
    last = plan.lessons[-1]
    assert any("free fitness assessment" in getattr(b, "text", "") for b in last.blocks)
    subjects = [lesson.subject for lesson in plan.lessons]
    assert len(set(subjects)) == count and all(len(s) <= 60 for s in subjects)


def test_asked_count_balances_reading_time(seed: Path) -> None:
    plan = split_document(read_article(seed), 3)
    words = [lesson.words for lesson in plan.lessons]
    assert max(words) < 2 * min(words)
    assert plan.notes == [
        "asked for 3 lessons; the article has 5 sections, so lessons were balanced by reading time"
    ]


def test_impossible_counts_are_errors(seed: Path, fixtures: Path) -> None:
    with pytest.raises(ContentError, match="between 1 and 100"):
        split_document(read_article(seed), 0)
    # nine paragraphs give at most nine lessons
    with pytest.raises(ContentError, match=r"cannot make 12 lessons: .* only 9 places"):
        split_document(read_article(fixtures / "no-headings.txt"), 12)


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("after your birth.1", "after your birth.[1]"),
        ("atrophy 2, we know", "atrophy[2], we know"),
        ("the pelvis and femur. 5+6", "the pelvis and femur.[5][6]"),
        ("as shown in trials [3].", "as shown in trials[3]."),
        ("move your hips 10 to 15 degrees", "move your hips 10 to 15 degrees"),
        ("Complete 10-20", "Complete 10-20"),
        ("then go to step 2, and rest", "then go to step 2, and rest"),
        ("version 2.0 of the plan.", "version 2.0 of the plan."),
        ("a sentence ending in 2019.", "a sentence ending in 2019."),
    ],
)
def test_glued_footnote_markers(text: str, marked: str) -> None:
    finder = MarkerFinder(reference_count=6)
    finder.last = 1
    result = finder.mark(text).replace("\ue000", "[").replace("\ue001", "]")
    assert result == marked
