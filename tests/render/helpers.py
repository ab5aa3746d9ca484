"""Helpers for the render and browser tests: a copy of this repository's glute
course, a renderer over a project folder, and the `drip` command as a real process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sender.campaign import Campaign, load_campaign
from sender.messages import compose
from sender.providers.base import OutgoingMessage
from sender.providers.outbox import OutboxProvider
from sender.render import Renderer
from sender.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)  # a Monday


def copy_glute_project(tmp_path: Path) -> Path:
    """This repository's project (templates, settings, the glute course) in a tmp folder."""
    root = tmp_path / "glute"
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "campaigns" / "glute-activation", root / "campaigns" / "glute-activation")
    shutil.copy(REPO / "dripcourse.toml", root / "dripcourse.toml")
    return root


def settings_of(project: Path, **changes: Any) -> Settings:
    return load_settings(project, environ={}).replace(**changes)


def renderer_of(project: Path, **changes: Any) -> tuple[Renderer, Settings]:
    settings = settings_of(project, **changes)
    renderer = Renderer(settings.path("templates_dir"), settings)
    renderer.check_interval = 0  # see every edit at once; production checks a few times a second
    return renderer, settings


def campaign_of(project: Path, slug: str) -> Campaign:
    return load_campaign(project / "campaigns" / slug)


def subscriber(name: str = "Alex Sample", timezone: str = "Europe/Lisbon", **fields: str) -> Any:
    return SimpleNamespace(id=7, email="alex@example.com", name=name, timezone=timezone, fields=fields)


def message_for(renderer: Renderer, settings: Settings, campaign: Campaign, position: int,
                sub: Any = None, template: str = "lesson") -> OutgoingMessage:
    lesson = campaign.lessons[position - 1]
    compiled = renderer.compile(campaign, lesson, template)
    return compose(settings=settings, renderer=renderer, compiled=compiled,
                   subscriber=sub or subscriber(), signing_key="test-key", now=NOW,
                   delivery_key=f"test:{lesson.key}")


def glute_eml(tmp_path: Path, position: int) -> bytes:
    """Lesson `position` of the shipped glute course, as the outbox:// provider writes it."""
    project = copy_glute_project(tmp_path)
    renderer, settings = renderer_of(project)
    message = message_for(renderer, settings, campaign_of(project, "glute-activation"), position)
    (result,) = OutboxProvider("outbox://outbox", base_dir=tmp_path).send_messages([message])
    assert result.ok and result.provider_message_id
    return Path(result.provider_message_id).read_bytes()


def drip(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`drip ARGS` in `cwd`, as a user runs it: exit code, stdout, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "sender.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
