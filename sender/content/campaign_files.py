"""Writing a campaign folder: atomically, and without clobbering hand edits.

After a split the lesson files are the source of truth, so staff edit them.
``.split-manifest.json`` records the SHA-256 of every lesson file as split
wrote it; a later split compares the files on disk with it and refuses to
overwrite any that changed (or that split never wrote) unless forced.

The new folder is assembled in a temporary sibling directory and swapped in
with renames, so a failure never leaves a half-written campaign. Files that
split does not own (images, notes, a staff-added ``[schedule]`` table in
campaign.toml) are carried over.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sender.content.errors import ContentError, HandEditedError
from sender.naming import lesson_order

MANIFEST = ".split-manifest.json"
CAMPAIGN_TOML = "campaign.toml"
LESSON_FILE = re.compile(r"^\d{2,3}-.*\.md$")
_ARTICLE_COPY = re.compile(r"^article\.[\w]+$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lesson_files(campaign_dir: Path) -> list[Path]:
    """Lesson files in send order."""
    return sorted(
        (p for p in campaign_dir.iterdir() if p.is_file() and LESSON_FILE.match(p.name)), key=lesson_order
    )


@dataclass
class WriteResult:
    written: list[Path]
    overwritten_edits: list[str]  # hand-edited files replaced because of force


def hand_edited(campaign_dir: Path, new_files: Mapping[str, bytes]) -> list[str]:
    """Lesson files on disk that differ from what the last split wrote."""
    if not campaign_dir.is_dir():
        return []
    try:
        manifest = json.loads((campaign_dir / MANIFEST).read_text("utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        manifest = {}  # no record: any lesson file we would not write identically is suspect
    edited = []
    for path in lesson_files(campaign_dir):
        data = path.read_bytes()
        if manifest.get(path.name) != sha256(data) and new_files.get(path.name) != data:
            edited.append(path.name)
    return edited


def merge_campaign_toml(existing: str | None, values: Mapping[str, str], overwrite: set[str]) -> str:
    """Set top-level keys in campaign.toml text, keeping everything else.

    Keys already present are kept (staff may have edited them) unless named
    in ``overwrite``. Edits are textual so comments and tables survive.
    """
    if existing is None:
        lines = ["# Campaign settings. Lesson files hold the content; this file the rest.\n"]
        lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}\n" for key, value in values.items()]
        return "".join(lines)
    lines = existing.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    table_start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
    for key, value in values.items():
        rendered = f"{key} = {json.dumps(value, ensure_ascii=False)}\n"
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        found = next((i for i in range(table_start) if pattern.match(lines[i])), None)
        if found is None:
            lines.insert(table_start, rendered)
            table_start += 1
        elif key in overwrite:
            lines[found] = rendered
    return "".join(lines)


def read_toml(path: Path) -> str | None:
    if not path.exists():
        return None
    text = path.read_text("utf-8")
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(f"{path}: not valid TOML ({exc}); fix it before splitting again") from exc
    return text


def write_campaign(
    campaign_dir: Path,
    new_files: Mapping[str, bytes],
    toml_values: Mapping[str, str],
    toml_overwrite: set[str],
    *,
    force: bool,
) -> WriteResult:
    """Replace the campaign folder's generated files with ``new_files``."""
    if campaign_dir.exists() and not campaign_dir.is_dir():
        raise ContentError(f"{campaign_dir}: exists and is not a folder")
    edited = hand_edited(campaign_dir, new_files)
    if edited and not force:
        raise HandEditedError(campaign_dir, edited)
    toml_text = merge_campaign_toml(read_toml(campaign_dir / CAMPAIGN_TOML), toml_values, toml_overwrite)
    campaign_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = _sibling(campaign_dir, "split")
    staging.mkdir()  # not mkdtemp: its 0700 mode would stick to the campaign folder
    try:
        if campaign_dir.is_dir():
            _carry_over(campaign_dir, staging)
        for name, data in new_files.items():
            (staging / name).write_bytes(data)
        (staging / CAMPAIGN_TOML).write_text(toml_text, "utf-8")
        manifest = {
            "note": "written by `drip split`; lets it detect hand edits. Do not edit.",
            "files": {name: sha256(data) for name, data in new_files.items() if LESSON_FILE.match(name)},
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        _swap(staging, campaign_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    written = [campaign_dir / name for name in new_files] + [campaign_dir / CAMPAIGN_TOML]
    return WriteResult(written=written, overwritten_edits=edited)


def _carry_over(old: Path, staging: Path) -> None:
    """Copy what split does not generate from the old folder."""
    for entry in old.iterdir():
        generated = (
            LESSON_FILE.match(entry.name)
            or _ARTICLE_COPY.match(entry.name)
            or entry.name in (MANIFEST, CAMPAIGN_TOML)
        )
        if generated and entry.is_file():
            continue
        if entry.is_dir():
            shutil.copytree(entry, staging / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, staging / entry.name, follow_symlinks=False)


def _sibling(campaign_dir: Path, purpose: str) -> Path:
    """A unique hidden name next to the campaign folder (same file system,
    so renames are atomic)."""
    return campaign_dir.parent / f".{campaign_dir.name}.{purpose}-{uuid.uuid4().hex[:12]}"


def _swap(staging: Path, campaign_dir: Path) -> None:
    if not campaign_dir.exists():
        os.replace(staging, campaign_dir)
        return
    retired = _sibling(campaign_dir, "old")
    os.rename(campaign_dir, retired)
    try:
        os.rename(staging, campaign_dir)
    except BaseException:
        os.rename(retired, campaign_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)
