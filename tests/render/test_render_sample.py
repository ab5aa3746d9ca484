"""One sample email however it is asked for: `drip render` writes what the preview shows
(`sender.sample.render_sample`, each lesson dated when it would reach the sample subscriber
enrolled now), so "Lesson 3 arrives Friday" reads the same in both."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sender.campaign import load_campaign
from sender.engine import Engine
from sender.providers.memory import MemoryProvider
from sender.sample import sample_messages
from sender.schedule import SimulatedClock, system_clock
from sender.store import Store
from sender.web import create_app
from tests.render.helpers import NOW, settings_of

KEY = "sample-agreement-key"
ZONE = "America/Vancouver"


def _preview(project: Path, tmp_path: Path, clock: object) -> object:
    url = f"sqlite:///{tmp_path / 'drip.db'}"
    engine = Engine(settings_of(project, database_url=url, signing_key=KEY), Store(url),
                    MemoryProvider(f"memory://{project}"), clock)  # type: ignore[arg-type]
    return create_app(engine, public=True, preview=True).test_client()


def test_drip_render_writes_the_email_the_preview_shows(glute_project: Path, tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}, "DRIP_SIGNING_KEY": KEY}
    done = subprocess.run([sys.executable, "-m", "sender.cli", "render", "glute-activation", "--out",
                           str(tmp_path / "out"), "--timezone", ZONE, "--format", "html"],
                          cwd=glute_project, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    client = _preview(glute_project, tmp_path, system_clock)
    lessons = load_campaign(glute_project / "campaigns" / "glute-activation").lessons
    assert len(lessons) >= 3
    for lesson in lessons:
        shown = client.get(f"/preview/glute-activation/{lesson.key}/email.html",  # type: ignore[attr-defined]
                           query_string={"timezone": ZONE})
        assert shown.status_code == 200, shown.text
        assert (tmp_path / "out" / f"{lesson.key}.html").read_text(encoding="utf-8") == shown.text, lesson.key


def test_each_lesson_is_dated_when_the_preview_says_it_goes(glute_project: Path, tmp_path: Path) -> None:
    """The Date and the "next lesson arrives" day of what `drip render` writes come from the
    preview's projection for a subscriber enrolled now, not from the moment it ran."""
    settings = settings_of(glute_project, signing_key=KEY)
    campaign = load_campaign(glute_project / "campaigns" / "glute-activation")
    client = _preview(glute_project, tmp_path, SimulatedClock(NOW))
    for lesson, message in sample_messages(settings, campaign, timezone=ZONE, now=NOW):
        query = {"timezone": ZONE}
        html = client.get(f"/preview/glute-activation/{lesson.key}/email.html",  # type: ignore[attr-defined]
                          query_string=query)
        eml = client.get(f"/preview/glute-activation/{lesson.key}/email.eml",  # type: ignore[attr-defined]
                         query_string=query)
        assert message.html == html.text, lesson.key
        assert message.as_email()["Date"] == re.search(r"^Date: (.+)$", eml.text, re.M)[1].strip()
        if lesson.position > 1:  # each goes days after the one before, never "now"
            assert message.date > NOW
