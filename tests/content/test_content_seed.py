"""The seed article: the five-lesson glute course the product ships."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from sender.content import lint_campaign, split_article

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "campaigns" / "glute-activation"
GOLDEN = Path(__file__).parent / "golden" / "glute-activation"

UMPHRED, SONENBLUM, WORRELL, MILLS, IRELAND, PRINS = (
    "Umphred", "Sonenblum", "Worrell", "Mills", "Ireland", "Prins",
)  # fmt: skip


@pytest.fixture
def course(seed: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    return split_article(seed, tmp_path / "glute-activation")


def _bodies(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [path.read_text("utf-8") for path in report.lesson_files]


def test_five_lessons_follow_the_article(course) -> None:  # type: ignore[no-untyped-def]
    subjects = [lesson.subject for lesson in course.lessons]
    assert subjects == [
        "4 Reasons Why You Can’t Activate Your Glutes",
        "Dominant Hamstrings",
        "Tight Hip Flexors",
        "Low Back Pain",
        "Knee Pain",
    ]
    bodies = _bodies(course)
    expectations = [
        ["Glute Amnesia", "Lower Cross Body Syndrome", "- Dominant hamstrings", "- Knee pathologies"],
        ["Active Leg Lower", "## How do you combat dominant hamstrings?", "wall push"],
        ["Thomas Test", "Self-Contract-Relax", "feet slightly elevated", "Higher reps of 12-15"],
        ["## How do you actively engage your glutes?", "“lock”"],
        ["valgus collapse", "## Closing Thoughts", "free fitness assessment"],
    ]  # fmt: skip
    for number, (body, phrases) in enumerate(zip(bodies, expectations, strict=True), 1):
        for phrase in phrases:
            assert phrase in body, f"lesson {number} should contain {phrase!r}"
    assert "free fitness assessment" not in "".join(bodies[:4])


def test_no_chrome_in_any_lesson(course) -> None:  # type: ignore[no-untyped-def]
    text = "\n".join(_bodies(course))
    assert not re.search(r"\d{3}\.\d{3}\.\d{4}", text), "phone number leaked into a lesson"
    for chrome in ("Richmond:", "straight to your email", "Thank you! Please check your email",
                   "About the author", "Andrea Lawson has been"):  # fmt: skip
        assert chrome not in text
    assert "Richmond: 604.271.7181" in course.chrome
    assert "Thank you! Please check your email and confirm your subscription." in course.chrome


def test_every_footnote_resolves_in_the_lesson_that_cites_it(course) -> None:  # type: ignore[no-untyped-def]
    refs = [[ref.split(",")[0].split(" ")[0] for ref in lesson.references] for lesson in course.lessons]
    assert refs == [[UMPHRED + "", SONENBLUM], [], [WORRELL, MILLS], [], [IRELAND, PRINS]]
    bodies = _bodies(course)
    assert "after your birth.[1]" in bodies[0]
    assert "weakness or atrophy[2], we do know" in bodies[0]
    assert "near full extension.[1]" in bodies[2]
    assert "resistance training.[2]" in bodies[2]
    assert "pelvis and femur.[1][2]" in bodies[4]
    # No glued number survives anywhere.
    assert not re.search(r"[a-z][.]\d\b|femur\. 5", "\n".join(bodies))


def test_exercise_blocks_and_callouts_are_kept_whole(course) -> None:  # type: ignore[no-untyped-def]
    body = _bodies(course)[1]
    block = re.search(
        r"\*\*Recommended Repetitions:\*\* Complete 10-20\n\n\*\*Coaching Cues:\*\*\n\n(- .+\n){3}", body
    )
    assert block, "exercise prescription and its three cues must stay together"
    assert "> **PRO TIP:** Adding a wall push" in body


def test_figure_captions_are_dropped_and_reported(course) -> None:  # type: ignore[no-untyped-def]
    text = "\n".join(_bodies(course))
    for caption in ("Glute Bridge Using Wall", "Hips Extension Patterns", "A valgus collapse"):
        assert f"\n{caption}\n" not in text
    caption_lines = sorted(
        f.line for f in course.findings if f.path.name == "article.txt" and "caption" in f.message
    )
    assert caption_lines == [20, 72, 83, 169]


def test_headlines_fit_the_inbox(course) -> None:  # type: ignore[no-untyped-def]
    for lesson in course.lessons:
        assert len(lesson.subject) <= 60
        assert 40 <= len(lesson.preheader) <= 110, lesson.preheader
        assert not lesson.preheader.lower().startswith(lesson.subject.lower())
    assert [lesson.teaser.startswith("Next: ") for lesson in course.lessons] == [True] * 4 + [False]


def test_lint_points_at_missing_media_and_bare_link_words(course) -> None:  # type: ignore[no-untyped-def]
    messages = {(f.path.name, f.line, f.message) for f in course.findings}
    assert ("05-knee-pain.md", 22, '"CLICK HERE" has no link') in messages
    assert ("02-dominant-hamstrings.md", 10, '"HERE" has no link') in messages
    assert any(
        name == "03-tight-hip-flexors.md" and "Here is a video" in message for name, _, message in messages
    )
    assert not course.errors


def test_campaign_settings(course) -> None:  # type: ignore[no-untyped-def]
    settings = tomllib.loads((course.campaign_dir / "campaign.toml").read_text("utf-8"))
    assert settings == {
        "title": "4 Reasons Why You Can’t Activate Your Glutes",
        "source": "article.txt",
        "signoff": "Andrea Lawson, founder of Balance in Motion",
        "language": "en",
    }


def test_shipped_campaign_is_the_split_of_the_seed(seed: Path) -> None:
    """campaigns/glute-activation is generated; regenerate it with
    `drip split tests/content/fixtures/glute-activation-article.txt campaigns/glute-activation --force`
    (or split_article(...) from Python) when the golden output changes."""
    assert (SHIPPED / "article.txt").read_bytes() == seed.read_bytes()
    shipped = sorted(p.name for p in SHIPPED.glob("[0-9]*.md"))
    assert shipped == sorted(p.name for p in GOLDEN.glob("*.md"))
    for name in shipped:
        assert (SHIPPED / name).read_text("utf-8") == (GOLDEN / name).read_text("utf-8"), name
    assert not [f for f in lint_campaign(SHIPPED) if f.severity == "error"]
