"""Editing a campaign folder in place: the send-time rules of each lesson's front matter
and of campaign.toml's [schedule] table, as the console's send-times page changes them.

Only the lines of the keys edited change: comments, key order, quoting and the lesson
bodies stay as staff wrote them. The keys are the ones `load_campaign` accepts
(TIMING_KEYS, SCHEDULE_KEYS of `sender.campaign`) and each value is checked by the same
schema models (TimingRules, ScheduleTable), so the editor cannot accept what a tick
would refuse, nor refuse what a tick would accept. Nothing is written unless every
file would read back as intended, and a campaign that fails to load afterwards gets
its files back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import frontmatter
import yaml
from pydantic import ValidationError

from sender.campaign import (
    SCHEDULE_KEYS,
    SETTINGS_FILE,
    TIMING_KEYS,
    WHOLE_NUMBER_KEYS,
    Campaign,
    CampaignError,
    ScheduleTable,
    TimingRules,
    load_campaign,
)

if TYPE_CHECKING:
    from sender.settings import Settings


def files_version(campaign: Campaign) -> str:
    """A hash of every file the editor changes, to notice someone else's save in between."""
    digest = hashlib.sha256()
    for path in [campaign.path / SETTINGS_FILE, *(lesson.path for lesson in campaign.lessons)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def shown(value: Any) -> str:
    """A rule's value as a form field shows it ("" when not set)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


# -- the rules typed into a form, checked by the campaign schema --------------------------------


def _typed(name: str, raw: str) -> str | int:
    # A form sends text; days and hours are whole numbers in the files. Anything else that
    # was typed goes to the schema as it is, which refuses it with the value in its message.
    return int(raw) if name in WHOLE_NUMBER_KEYS and raw.isdecimal() else raw


def form_rules(form: Mapping[str, str], prefix: str, model: type[TimingRules], where: str) -> dict[str, Any]:
    """The rules of one file from form fields named `prefix` + key: blank means "inherit"
    (the key is removed). `model` is the file's schema (TimingRules for a lesson,
    ScheduleTable for [schedule]); a value it refuses raises CampaignError starting
    with `where`."""
    rules = {name: _typed(name, raw) for name in model.model_fields
             if (raw := form.get(f"{prefix}{name}", "").strip())}
    try:
        model.model_validate(rules)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
        if message.startswith("must"):  # "must be a whole number…" says what, not which key
            message = f"{error['loc'][0]!r} {message}"
        raise CampaignError(f"{where}: {message}") from None
    return rules


# -- line edits -----------------------------------------------------------------------------------


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _yaml_scalar(value: Any) -> str:
    return str(value) if isinstance(value, int) else json.dumps(value)  # JSON strings are YAML strings


def _yaml_key_lines(block: list[str], key: str) -> tuple[int, int] | None:
    """(first, past the last) index of `key`'s lines in a front matter block: a value may
    run on over indented or "- item" lines."""
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    start = next((i for i, line in enumerate(block) if pattern.match(line)), None)
    if start is None:
        return None
    stop = start + 1
    while stop < len(block) and (block[stop][:1] in (" ", "\t") or block[stop].startswith("-")):
        stop += 1
    return start, stop


def set_front_matter(text: str, rules: dict[str, Any], keys: tuple[str, ...]) -> str:
    """`text` with the front matter keys in `keys` set to `rules` (missing: removed),
    editing only those lines: comments, key order, quoting and the body stay as they are."""
    newline = _newline(text)
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        head = "".join(f"{k}: {_yaml_scalar(rules[k])}{newline}" for k in keys if k in rules)
        return f"---{newline}{head}---{newline}{text}" if head else text
    end = next((i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---"), None)
    if end is None:
        raise CampaignError("front matter has no closing '---' line")
    block = lines[1:end]
    for key in keys:
        new = [f"{key}: {_yaml_scalar(rules[key])}{newline}"] if key in rules else []
        span = _yaml_key_lines(block, key)
        if span is None:
            block += new
        else:
            block[span[0]:span[1]] = new
    return "".join([lines[0], *block, *lines[end:]])


_SCHEDULE_HEADER = re.compile(r"^\s*\[\s*schedule\s*\]\s*(#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[")
_KEY_LINE = re.compile(r"^\s*[A-Za-z_]")


def _new_schedule_table(text: str, rules: dict[str, Any], newline: str) -> str:
    """`text` with a [schedule] table of `rules` added at the end (there is none yet)."""
    if re.search(r"^\s*schedule\s*[.=]", text, re.M) or re.search(r"^\s*\[\s*schedule\.", text, re.M):
        raise CampaignError("[schedule] is written in a form this editor doesn't change "
                            "(inline table or dotted keys): edit campaign.toml by hand")
    if not rules:
        return text
    body = "".join(f"{k} = {json.dumps(v)}{newline}" for k, v in rules.items())
    sep = "" if not text or text.endswith(("\n", "\r\n")) else newline
    return f"{text}{sep}{newline}[schedule]{newline}{body}"


def _set_toml_key(section: list[str], key: str, new: list[str]) -> None:
    """Replace `key`'s line of a table's lines with `new` (in place); a key not there yet
    goes after the table's last key line, before trailing blank lines and comments."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    at = next((i for i, line in enumerate(section) if pattern.match(line)), None)
    if at is None:
        last = max((i for i, line in enumerate(section) if _KEY_LINE.match(line)), default=-1)
        section[last + 1:last + 1] = new
    else:
        section[at:at + 1] = new


def set_toml_schedule(text: str, rules: dict[str, Any]) -> str:
    """`text` (campaign.toml) with its [schedule] table holding exactly `rules`' timing
    keys, other lines untouched; the table is added at the end if there is none."""
    newline = _newline(text)
    lines = text.splitlines(keepends=True)
    header = next((i for i, line in enumerate(lines) if _SCHEDULE_HEADER.match(line)), None)
    if header is None:
        return _new_schedule_table(text, rules, newline)
    stop = next((i for i in range(header + 1, len(lines)) if _TABLE_HEADER.match(lines[i])), len(lines))
    section = lines[header + 1:stop]
    for key in SCHEDULE_KEYS:
        _set_toml_key(section, key, [f"{key} = {json.dumps(rules[key])}{newline}"] if key in rules else [])
    return "".join([*lines[:header + 1], *section, *lines[stop:]])


# -- saving the send-time rules -----------------------------------------------------------------


def write_file(path: Path, text: str) -> None:
    """Replace a file at once: an editor or a tick never reads half of it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checked(path: Path, settings: Settings) -> Campaign:
    """The campaign folder read as a tick reads it: every lesson's rules resolved, so a
    bad one fails here, naming its file."""
    campaign = load_campaign(path)
    for lesson in campaign.lessons:
        campaign.timing(lesson, settings)
    return campaign


def _with_rules(campaign: Campaign, form: Mapping[str, str]) -> Campaign:
    """The campaign as it will be with the form's rules, each checked by the schema."""
    toml_path = campaign.path / SETTINGS_FILE
    schedule = form_rules(form, "campaign:", ScheduleTable, f"{toml_path}: [schedule]")
    lessons = []
    for lesson in campaign.lessons:
        rules = form_rules(form, f"{lesson.key}:", TimingRules, f"{lesson.path}: timing")
        lessons.append(dataclasses.replace(lesson, timing=rules, delay=rules.get("delay")))
    # [schedule] holds only SCHEDULE_KEYS (the schema forbids others), so the form's rules are all of it.
    settings = {**campaign.settings, "schedule": schedule}
    return dataclasses.replace(campaign, lessons=tuple(lessons), settings=settings)  # checks the table


def _toml_text(path: Path, text: str, schedule: dict[str, Any]) -> str:
    """campaign.toml's text with [schedule] set to `schedule`, refused unless it reads back so."""
    updated = set_toml_schedule(text, schedule)
    if tomllib.loads(updated).get("schedule", {}) != schedule:
        raise CampaignError(f"{path}: could not update [schedule] safely; edit the file by hand")
    return updated


def _lesson_text(path: Path, text: str, rules: dict[str, Any]) -> str:
    """A lesson file's text with its timing keys set to `rules`, refused unless only those change."""
    updated = set_front_matter(text, rules, TIMING_KEYS)
    if updated != text:
        before, after = frontmatter.loads(text), frontmatter.loads(updated)
        expected = {k: v for k, v in before.metadata.items() if k not in TIMING_KEYS} | rules
        if after.content != before.content or after.metadata != expected:
            raise CampaignError(f"{path}: could not update the front matter safely; edit it by hand")
    return updated


def planned_writes(campaign: Campaign, form: Mapping[str, str], settings: Settings) -> dict[Path, str]:
    """The files to rewrite for the form's rules, with their new text. Every check is done
    here, before any file changes, so a refusal leaves the folder as it was."""
    future = _with_rules(campaign, form)
    for lesson in future.lessons:  # the whole campaign as it will be, the way the engine reads it
        future.timing(lesson, settings)
    toml_path = campaign.path / SETTINGS_FILE
    old = {toml_path: toml_path.read_text(encoding="utf-8")}
    new = {toml_path: _toml_text(toml_path, old[toml_path], future.settings["schedule"])}
    for before, after in zip(campaign.lessons, future.lessons, strict=True):
        old[before.path] = before.path.read_text(encoding="utf-8")
        new[before.path] = _lesson_text(before.path, old[before.path], after.timing)
    return {path: text for path, text in new.items() if text != old[path]}


def save_timing(campaign: Campaign, form: Mapping[str, str], settings: Settings) -> list[str]:
    """Write the send-time rules of a form (fields `campaign:KEY` for [schedule] and
    `LESSON_KEY:KEY` per lesson) into the campaign's files. Returns the names of the files
    changed. If the campaign then fails to load as a tick would load it, the files get
    their old text back and CampaignError says why."""
    writes = planned_writes(campaign, form, settings)
    originals = {path: path.read_text(encoding="utf-8") for path in writes}
    for path, text in writes.items():
        write_file(path, text)
    try:
        load_checked(campaign.path, settings)
    except (CampaignError, yaml.YAMLError) as exc:
        for path, text in originals.items():
            write_file(path, text)
        raise CampaignError(f"{exc} (nothing was changed)") from None
    return sorted(path.name for path in writes)


# -- the lesson editor: text, order and drafts --------------------------------------------------

LESSON_TEXT_KEYS = ("subject", "preheader")  # the front matter keys the lesson editor writes


def set_body(text: str, body: str) -> str:
    """A lesson file's `text` with its body (everything after the front matter) set to `body`."""
    newline = _newline(text)
    lines = text.splitlines(keepends=True)
    end = next((i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---"), None) \
        if lines and lines[0].strip() == "---" else None
    if end is None:
        raise CampaignError("front matter has no closing '---' line")
    head = "".join(lines[:end + 1])
    if not head.endswith(("\n", "\r")):
        head += newline
    clean = newline.join(body.replace("\r\n", "\n").strip("\n").split("\n"))
    return f"{head}{newline}{clean}{newline}"


def edited_lesson(text: str, subject: str, preheader: str, body: str) -> str:
    """The lesson file's text with the editor's subject, preheader (blank: removed) and body;
    every other front matter line stays as it was."""
    values = {"subject": " ".join(subject.split())}
    if preheader.strip():
        values["preheader"] = " ".join(preheader.split())
    return set_body(set_front_matter(text, values, LESSON_TEXT_KEYS), body)


def _checked(path: Path, before: str, after: str, changed: dict[str, Any]) -> str:
    """`after`, refused unless its front matter is `before`'s with only `changed` keys changed."""
    old, new = frontmatter.loads(before), frontmatter.loads(after)
    expected = {k: v for k, v in old.metadata.items() if k not in changed} | {
        k: v for k, v in changed.items() if v is not None}
    if new.metadata != expected:
        raise CampaignError(f"{path}: could not update the front matter safely; edit it by hand")
    return after


def draft_writes(campaign: Campaign, key: str, draft: bool) -> dict[Path, str]:
    """The lesson file to rewrite to make lesson `key` a draft (`draft: true`) or publish it
    (the key removed)."""
    lesson = next((lesson for lesson in campaign.all_lessons if lesson.key == key), None)
    if lesson is None:
        raise CampaignError(f"{campaign.path}: no lesson {key!r}")
    if draft and not lesson.draft and len(campaign.lessons) == 1:
        raise CampaignError(f"{lesson.path}: the only published lesson can't be a draft")
    old = lesson.path.read_text(encoding="utf-8")
    value = {"draft": True} if draft else {}
    new = _checked(lesson.path, old, set_front_matter(old, value, ("draft",)), {"draft": value.get("draft")})
    return {lesson.path: new} if new != old else {}


def move_writes(campaign: Campaign, key: str, step: int) -> dict[Path, str]:
    """The lesson files to rewrite to move lesson `key` `step` places (-1 up, +1 down),
    drafts included: every lesson gets an explicit `position:` 1, 2, … in the new order,
    and no file is renamed, since deliveries remember a lesson by its file stem (a renamed
    file would be a new lesson to the engine, sent again)."""
    order = list(campaign.all_lessons)
    at = next((i for i, lesson in enumerate(order) if lesson.key == key), None)
    if at is None:
        raise CampaignError(f"{campaign.path}: no lesson {key!r}")
    to = at + step
    if not 0 <= to < len(order):
        return {}
    order[at], order[to] = order[to], order[at]
    writes = {}
    for position, lesson in enumerate(order, start=1):
        old = lesson.path.read_text(encoding="utf-8")
        new = _checked(lesson.path, old, set_front_matter(old, {"position": position}, ("position",)),
                       {"position": position})
        if new != old:
            writes[lesson.path] = new
    return writes


def write_checked(campaign: Campaign, writes: dict[Path, str], settings: Settings) -> list[str]:
    """Write `writes`; if the campaign then fails to load as a tick would load it, every file
    gets its old text back and CampaignError says why. Returns the names of the files written."""
    originals = {path: path.read_text(encoding="utf-8") for path in writes}
    for path, text in writes.items():
        write_file(path, text)
    try:
        load_checked(campaign.path, settings)
    except (CampaignError, yaml.YAMLError) as exc:
        for path, text in originals.items():
            write_file(path, text)
        raise CampaignError(f"{exc} (nothing was changed)") from None
    return sorted(path.name for path in writes)
