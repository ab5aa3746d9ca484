"""A project with the shipped glute course, an engine on a real store, and the web
app with the console, logged in or not."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sender.engine import Engine
from sender.providers.memory import MemoryProvider
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store
from sender.web import create_app
from sender.web.auth import hash_password
from tests.conftest import REPO
from tests.test_engine import START

PASSWORD = "correct horse battery staple"
PASSWORD_HASH = hash_password(PASSWORD)
COURSE = "glute-activation"


def make_project(root: Path) -> Path:
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "campaigns" / COURSE, root / "campaigns" / COURSE)
    return root


@pytest.fixture
def glute_project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


@dataclass
class Console:
    engine: Engine
    clock: SimulatedClock
    app: Flask
    client: FlaskClient

    def csrf(self) -> str:
        with self.client.session_transaction() as session:
            return str(session["csrf"])

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf(), **(data or {})}, **kwargs)


def make_console(project: Path, url: str, *, environ: dict[str, str] | None = None,
                 **settings: Any) -> Console:
    env = {"DRIP_ADMIN_PASSWORD_HASH": PASSWORD_HASH, **(environ or {})}
    s = load_settings(project, environ=env).replace(database_url=url, **settings)
    clock = SimulatedClock(START)
    engine = Engine(s, Store(url), MemoryProvider(f"memory://{project}"), clock)
    engine.provider.outbox.clear()
    app = create_app(engine)
    app.config["CONSOLE_STATS_MAX_AGE"] = 0  # every page computes its figures afresh
    app.config["CONSOLE_IMPORT_WAIT"] = 60.0  # an import answers with its report, as a small one does
    return Console(engine, clock, app, app.test_client())


def log_in(client: FlaskClient, user: str = "admin", password: str = PASSWORD) -> Any:
    page = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/console/login", data={"csrf_token": token, "username": user, "password": password})


@pytest.fixture
def console(glute_project: Path, db_url: str) -> Console:
    """Logged in as admin."""
    c = make_console(glute_project, db_url)
    assert log_in(c.client).status_code == 302
    return c


@pytest.fixture
def sqlite_console(glute_project: Path, sqlite_url: str) -> Console:
    c = make_console(glute_project, sqlite_url)
    assert log_in(c.client).status_code == 302
    return c
