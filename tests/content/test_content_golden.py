"""Golden output: every fixture article split with default settings.

The expected campaign folders live in tests/content/golden/<name>/. After an
intended change to the splitter, regenerate them and review the diff:

    DRIP_REGEN_GOLDEN=1 python -m pytest tests/content/test_content_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sender.content import split_article

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"
REGEN = "DRIP_REGEN_GOLDEN=1 python -m pytest tests/content/test_content_golden.py"
CASES = {
    "glute-activation": "glute-activation-article.txt",
    "sleep-habits": "sleep-habits.md",
    "desk-posture": "desk-posture.html",
    "first-10k": "first-10k.txt",
    "no-headings": "no-headings.txt",
}


def _generated(folder: Path) -> dict[str, str]:
    """Lesson files and campaign.toml (the article copy is the fixture itself)."""
    return {
        p.name: p.read_text("utf-8")
        for p in sorted(folder.iterdir())
        if (p.suffix == ".md" and not p.name.startswith("article.")) or p.name == "campaign.toml"
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_split_matches_golden(name: str, tmp_path: Path) -> None:
    out = tmp_path / name
    split_article(FIXTURES / CASES[name], out)
    actual = _generated(out)
    golden = GOLDEN / name
    if os.environ.get("DRIP_REGEN_GOLDEN") == "1":
        shutil.rmtree(golden, ignore_errors=True)
        golden.mkdir(parents=True)
        for file_name, text in actual.items():
            (golden / file_name).write_text(text, "utf-8")
        pytest.skip(f"regenerated {golden}")
    assert golden.is_dir(), f"no golden output for {name}; create it with: {REGEN}"
    expected = _generated(golden)
    assert sorted(actual) == sorted(expected), (
        f"{name}: lesson files differ from {golden}. If the change is intended, run: {REGEN}"
    )
    for file_name, text in expected.items():
        assert actual[file_name] == text, (
            f"{name}/{file_name} differs from the golden copy in {golden}. "
            f"If the change is intended, run: {REGEN} and review the diff"
        )
