"""A copy of the glute project served by the preview app on a free 127.0.0.1 port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sender.engine import Engine
from sender.providers.memory import MemoryProvider
from sender.schedule import SimulatedClock
from sender.store import Store
from sender.web import create_app
from sender.web.preview import LINK_TIMEOUT_KEY
from tests.conftest import DEADLINE, live_server
from tests.render.helpers import NOW, REPO, copy_glute_project, settings_of

ARTIFACTS = REPO / "tests" / "artifacts"  # gitignored: screenshots to look at after a run


@dataclass
class Preview:
    base: str
    engine: Engine
    project: Path

    def lesson_file(self, key: str) -> Path:
        return self.project / "campaigns" / "glute-activation" / f"{key}.md"


@pytest.fixture
def preview(tmp_path: Path) -> Iterator[Preview]:
    project = copy_glute_project(tmp_path)
    url = f"sqlite:///{tmp_path / 'drip.db'}"
    provider = MemoryProvider(f"memory://{project}")
    provider.outbox.clear()
    engine = Engine(settings_of(project, database_url=url), Store(url), provider, SimulatedClock(NOW))
    app = create_app(engine, public=True, preview=True)
    app.config[LINK_TIMEOUT_KEY] = DEADLINE  # every linked page answers: how fast is not tested
    with live_server(app) as base:
        yield Preview(base, engine, project)
