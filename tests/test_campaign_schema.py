"""campaign.toml and lesson front matter are checked when they are read: `drip lint`,
`drip render` and `drip enrol` give one line naming the file, the line, the key and what
is allowed (with a "did you mean"), never a traceback and never a silently ignored key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sender.campaign import CampaignError, load_campaign
from sender.content import lint_campaign
from tests.conftest import REPO
from tests.test_cli import drip

FRONT_KEYS = "subject, preheader, position, draft, teaser, references, delay, delay_hours, window, weekdays"
TOP_KEYS = "title, source, signoff, language, next_campaign, [schedule], [utm], [button]"
ZONE_ERROR = "[schedule] timezone: unknown time zone 'Mars/Olympus' (use an IANA name like Europe/Lisbon)"


def _mini(project: Path) -> Path:
    return project / "campaigns" / "mini"


def _toml(project: Path, extra: str) -> Path:
    toml = _mini(project) / "campaign.toml"  # lines 1-2: title, signoff
    toml.write_text(toml.read_text() + extra)
    return toml


def _lint_lines(project: Path) -> tuple[int, list[str]]:
    result = drip("lint", "mini", cwd=project)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr.splitlines()


def _render(project: Path) -> tuple[int, str]:
    result = drip("render", "mini", "--out", str(project / "out"), cwd=project)
    return result.returncode, result.stderr


def test_an_unknown_campaign_time_zone_fails_lint_render_and_enrol_not_later(project: Path) -> None:
    toml = _toml(project, '[schedule]\ntimezone = "Mars/Olympus"\n')
    code, lines = _lint_lines(project)
    assert code == 1 and f"{toml}:4: error: {ZONE_ERROR}" in lines
    assert _render(project) == (1, f"error: {toml}:4: {ZONE_ERROR}\n")
    assert drip("subscribers", "add", "ana@example.com", cwd=project).returncode == 0
    enrol = drip("enrol", "mini", cwd=project)
    assert (enrol.returncode, enrol.stderr) == (
        1, f"error: mini is not ready to enrol anyone (`drip lint mini`):\n  {toml}:4: error: {ZONE_ERROR}\n")


def test_a_misspelt_front_matter_key_is_an_error_with_a_suggestion(project: Path) -> None:
    lesson = _mini(project) / "02-next.md"
    lesson.write_text(lesson.read_text().replace("delay: 2\n", "dealy: 5\n"))  # line 4
    message = f"unknown front matter key(s): dealy (did you mean 'delay'?); allowed: {FRONT_KEYS}"
    code, lines = _lint_lines(project)
    assert code == 1 and f"{lesson}:4: error: {message}" in lines
    assert _render(project) == (1, f"error: {lesson}:4: {message}\n")


@pytest.mark.parametrize(("front", "line", "problem"), [
    # PyYAML notices these a line later (or at the end of the front matter): the line is where
    # the key, the quote or the [ began, and YAML's own line numbers are not repeated.
    ("subject: Two\npreheader\ndelay: 2\n", 3, "could not find expected ':' (while scanning a simple key)"),
    ('subject: Two\npreheader: "More of\ndelay: 2\n', 3,
     "found unexpected end of stream (while scanning a quoted scalar)"),
    ("subject: Two\nreferences: [a, b\ndelay: 2\n", 3,
     "did not find expected ',' or ']' (while parsing a flow sequence)"),
    # and these where they are
    ("subject: Two\npreheader: x\n  bad: indent\n", 4, "mapping values are not allowed in this context"),
    ("subject: Two\npreheader: x\n- item\n", 4, "did not find expected key (while parsing a block mapping)"),
    ("subject: Two\n\tpreheader: x\n", 3,
     "found a tab character that violates indentation (while scanning a plain scalar)"),
])
def test_yaml_errors_name_the_line_to_fix(project: Path, front: str, line: int, problem: str) -> None:
    lesson = _mini(project) / "02-next.md"
    lesson.write_text(f"---\n{front}---\nBody two.\n")
    message = f"front matter is not valid YAML: {problem}"
    code, lines = _lint_lines(project)
    assert code == 1 and f"{lesson}:{line}: error: {message}" in lines
    assert _render(project) == (1, f"error: {lesson}:{line}: {message}\n")


def test_a_byte_order_mark_from_a_windows_editor_is_no_error(project: Path) -> None:
    for name in ("02-next.md", "campaign.toml"):
        path = _mini(project) / name
        path.write_text("\ufeff" + path.read_text())
    code, lines = _lint_lines(project)
    assert code == 0 and not [line for line in lines if ": error: " in line]
    assert _render(project)[0] == 0


def test_a_template_error_after_a_blank_line_names_its_own_line(project: Path) -> None:
    lesson = _mini(project) / "02-next.md"  # as `drip split` writes them: a blank line after ---
    lesson.write_text("---\nsubject: Two\npreheader: p\n---\n\nOne.\n\nTwo {{ subscriber.name | }}.\n")
    code, stderr = _render(project)
    assert code == 1 and stderr.startswith(f"error: {lesson}:8: template error in a {{{{ }}}} placeholder: ")


@pytest.mark.parametrize(("extra", "line", "message"), [
    ('next_campain = "other"\n', 3,
     f"unknown key(s): next_campain (did you mean 'next_campaign'?); allowed: {TOP_KEYS}"),
    ('[buton]\ntext = "Book"\nurl = "https://example.com/book"\n', 3,
     f"unknown key(s): [buton] (did you mean '[button]'?); allowed: {TOP_KEYS}"),
    ('[schedule]\nwindw = "09:00-10:00"\n', 4, "unknown [schedule] key(s): windw (did you mean 'window'?); "
                                               "allowed: delay, delay_hours, window, weekdays, timezone"),
    ('[utm]\nsorce = "newsletter"\n', 4, "unknown [utm] key(s): sorce (did you mean 'source'?); "
                                         "allowed: source, medium, campaign, term, content"),
    ("[utm]\nsource = 7\n", 4, "[utm] source: must be text, got 7 (put it in quotes)"),
    ('[button]\ntext = "Book"\nurl = "ftp://example.com/book"\n', 5,
     "[button] url: must be an http(s):// address, got 'ftp://example.com/book'"),
    ('[button]\ntext = "Book"\n', 3, "[button] url is missing"),
    ("[schedule]\ndelay = -1\n", 4, "[schedule] delay: must be a whole number of days >= 0, got -1"),
    ('[schedule]\nwindow = "11:00-09:00"\n', 4, "[schedule] window: send window 11:00-09:00 is empty"),
    ('language = "English please"\n', 3, "language: must be a language tag like en or pt-BR, "
                                         "got 'English please'"),
])
def test_campaign_toml_is_checked_when_it_is_read(project: Path, extra: str, line: int, message: str) -> None:
    toml = _toml(project, extra)
    code, lines = _lint_lines(project)
    assert code == 1 and f"{toml}:{line}: error: {message}" in lines
    assert _render(project) == (1, f"error: {toml}:{line}: {message}\n")


def test_lesson_timing_is_checked_when_the_lesson_is_read(project: Path) -> None:
    lesson = _mini(project) / "02-next.md"
    lesson.write_text(lesson.read_text().replace("delay: 2\n", "delay: 2\nwindow: 9-5\n"))  # line 5
    message = "window: send window '9-5' must look like 09:00-11:00"
    code, lines = _lint_lines(project)
    assert code == 1 and f"{lesson}:5: error: {message}" in lines
    assert _render(project) == (1, f"error: {lesson}:5: {message}\n")


def test_every_lint_problem_of_a_file_is_listed_with_its_line(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "campaign.toml").write_text('title = "T"\nnext_campain = "x"\n[schedule]\ndelay = "2"\n')
    (folder / "01-a.md").write_text("---\nsubject: A\ndealy: 1\nreferences: one\n---\nBody.\n")
    errors = [(f.path.name, f.line, f.message.split(":")[0]) for f in lint_campaign(folder)
              if f.severity == "error"]
    assert errors == [("campaign.toml", 2, "unknown key(s)"), ("campaign.toml", 4, "[schedule] delay"),
                      ("01-a.md", 3, "unknown front matter key(s)"), ("01-a.md", 4, "references")]


def test_the_shipped_campaign_loads_and_lints_clean() -> None:
    folder = REPO / "campaigns" / "glute-activation"
    campaign = load_campaign(folder)
    assert len(campaign.lessons) == 5 and campaign.config.language == "en"
    assert [f for f in lint_campaign(folder) if f.severity == "error"] == []


def test_a_changed_copy_of_a_campaign_is_checked_again(project: Path) -> None:
    # The console checks a campaign as it will be (dataclasses.replace) before writing it.
    campaign = load_campaign(_mini(project))
    with pytest.raises(CampaignError, match=r"campaign\.toml: \[schedule\] timezone: unknown time zone"):
        dataclasses.replace(campaign, settings={"schedule": {"timezone": "Mars/Olympus"}})
