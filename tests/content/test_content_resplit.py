"""Re-splitting a campaign: hand edits are protected, staff settings survive."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from sender.content import HandEditedError, split_article


@pytest.fixture
def campaign(seed: Path, tmp_path: Path) -> Path:
    target = tmp_path / "campaigns" / "glute"
    split_article(seed, target)
    return target


def test_resplit_without_edits_is_allowed(seed: Path, campaign: Path) -> None:
    before = {p.name: p.read_bytes() for p in campaign.iterdir()}
    split_article(seed, campaign)
    assert {p.name: p.read_bytes() for p in campaign.iterdir()} == before
    assert [p.name for p in campaign.parent.iterdir()] == ["glute"]  # no staging leftovers


def test_hand_edits_block_resplit_and_are_named(seed: Path, campaign: Path) -> None:
    lesson = campaign / "03-tight-hip-flexors.md"
    edited = lesson.read_text("utf-8").replace(
        "Thomas Test.", "Thomas Test. {{ subscriber.first_name }}, try it!"
    )
    lesson.write_text(edited, "utf-8")
    (campaign / "06-bonus.md").write_text("---\nsubject: Bonus\n---\n\nExtra.\n", "utf-8")
    with pytest.raises(HandEditedError) as error:
        split_article(seed, campaign, lessons=4)
    assert error.value.files == ["03-tight-hip-flexors.md", "06-bonus.md"]
    assert "03-tight-hip-flexors.md, 06-bonus.md" in str(error.value)
    assert "--force" in str(error.value)
    assert lesson.read_text("utf-8") == edited, "refused split must not touch anything"
    assert len(list(campaign.glob("0*.md"))) == 6


def test_force_overwrites_hand_edits(seed: Path, campaign: Path) -> None:
    (campaign / "02-dominant-hamstrings.md").write_text("---\nsubject: Mine\n---\n\nMine.\n")
    report = split_article(seed, campaign, force=True, lessons=3)
    assert report.overwritten_edits == ["02-dominant-hamstrings.md"]
    assert len(list(campaign.glob("0*.md"))) == 3
    manifest = json.loads((campaign / ".split-manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(p.name for p in report.lesson_files)


def test_staff_settings_and_files_survive_a_resplit(seed: Path, campaign: Path) -> None:
    toml_path = campaign / "campaign.toml"
    toml_path.write_text(
        toml_path.read_text("utf-8").replace('"en"', '"en-GB"')
        + '\n# sent on weekday mornings\n[schedule]\nhour = 9\nweekdays = ["mon", "wed"]\n',
        "utf-8",
    )
    (campaign / "images").mkdir()
    (campaign / "images" / "bridge.png").write_bytes(b"\x89PNG")
    split_article(seed, campaign, title="Wake Up Your Glutes")
    text = toml_path.read_text("utf-8")
    settings = tomllib.loads(text)
    assert settings["schedule"] == {"hour": 9, "weekdays": ["mon", "wed"]}
    assert settings["language"] == "en-GB"
    assert settings["title"] == "Wake Up Your Glutes"
    assert "# sent on weekday mornings" in text
    assert (campaign / "images" / "bridge.png").read_bytes() == b"\x89PNG"


def test_lesson_front_matter_contract(campaign: Path) -> None:
    import yaml

    files = sorted(campaign.glob("0*.md"))
    for position, path in enumerate(files, 1):
        text = path.read_text("utf-8")
        front = yaml.safe_load(text.split("---\n")[1])
        assert list(front) == ["subject", "preheader", "position", "delay", "teaser", "references"]
        assert front["position"] == position
        assert front["delay"] == (0 if position == 1 else 2)
        assert "send_at" not in front
