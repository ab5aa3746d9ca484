"""`lint_campaign`: findings with file and line; only errors are errors."""

from __future__ import annotations

from pathlib import Path

from sender.content import Finding, lint_campaign


def _lesson(folder: Path, name: str, subject: str, body: str, **front: object) -> Path:
    lines = [f"subject: {subject!r}"]
    lines.append(
        f"preheader: {front.pop('preheader', 'A preheader that is comfortably long enough to show.')!r}"
    )
    lines += [f"{key}: {value!r}" for key, value in front.items()]
    path = folder / name
    path.write_text("---\n" + "\n".join(lines) + "\n---\n\n" + body, "utf-8")
    return path


def _campaign(tmp_path: Path) -> Path:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "campaign.toml").write_text('title = "T"\n')
    return folder


def test_clean_campaign_has_no_findings(tmp_path: Path) -> None:
    folder = _campaign(tmp_path)
    _lesson(folder, "01-a.md", "First", "Some text [1].\n", references=["Smith (2020). A paper."])
    assert lint_campaign(folder) == []


def test_warnings_carry_file_and_line(tmp_path: Path) -> None:
    folder = _campaign(tmp_path)
    _lesson(
        folder, "01-a.md", "A subject that is far too long to be shown in full on a phone screen",
        "Intro.\n\nTo book, CLICK HERE to send me a message.\n\nThe picture below shows it.\n\n"
        "See [this page](https://example.com) HERE.\n\nCited [2] and [^7].\n",
        preheader="Too short",
    )  # fmt: skip
    found = {(f.line, f.message) for f in lint_campaign(folder)}
    assert (2, "subject is 68 characters; phones cut it after 60") in found
    assert (3, "preheader is 9 characters; aim for 40–110") in found
    assert (8, '"CLICK HERE" has no link') in found
    assert (10, '"picture below" points at media the lesson does not have') in found
    assert (12, '"HERE" has no link') in found
    assert (14, "footnote [2] has no entry in this lesson's references") in found
    assert (14, "footnote [^7] has no citation") in found
    assert all(f.severity == "warning" for f in lint_campaign(folder))


def test_errors_for_unsendable_lessons(tmp_path: Path) -> None:
    folder = _campaign(tmp_path)
    _lesson(folder, "01-a.md", "Fine", "Text.\n")
    _lesson(folder, "02-b.md", "Empty", "\n\n")
    (folder / "03-c.md").write_text("no front matter\n")
    _lesson(folder, "04-d.md", "Fine", "Hello {{ subscriber.first_name \n")
    errors = [str(f) for f in lint_campaign(folder) if f.severity == "error"]
    assert errors == [
        f"{folder}/02-b.md:5: error: the lesson body is empty",
        f"{folder}/03-c.md:1: error: no front matter (the file must start with ---)",
        f"{folder}/04-d.md:6: error: unbalanced {{{{ }}}} placeholder",
    ]


def test_duplicate_subjects_and_long_lessons(tmp_path: Path) -> None:
    folder = _campaign(tmp_path)
    _lesson(folder, "01-a.md", "Same", "word " * 100)
    _lesson(folder, "02-b.md", "Same", "word " * 100)
    _lesson(folder, "03-c.md", "Other", "word " * 900)
    messages = {(f.path.name, f.message) for f in lint_campaign(folder)}
    assert ("02-b.md", "same subject as 01-a.md") in messages
    assert (
        "03-c.md",
        "900 words, over twice the other lessons' median (100); consider splitting it",
    ) in messages


def test_finding_str() -> None:
    finding = Finding("warning", Path("campaigns/x/02-foo.md"), 14, '"CLICK HERE" has no link')
    assert str(finding) == 'campaigns/x/02-foo.md:14: warning: "CLICK HERE" has no link'
