"""Shared fixtures: real SQLite files and a real PostgreSQL server.

PostgreSQL tests skip when no server answers, except in CI (CI=true), where a
missing server is a failure: CI must prove the PostgreSQL path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("DRIP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "no server here"
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    problem = _pg_available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but did not answer: {problem}")
        pytest.skip(f"no PostgreSQL server: {problem}")
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_admin_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_admin_url else "?"
    yield f"{pg_admin_url}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'drip.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs a test once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'drip.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with the shipped templates and a small two-lesson campaign."""
    root = tmp_path / "project"
    shutil.copytree(REPO / "templates", root / "templates")
    camp = root / "campaigns" / "mini"
    camp.mkdir(parents=True)
    (camp / "campaign.toml").write_text('title = "Mini & Course"\nsignoff = "— Coach"\n')
    (camp / "01-start.md").write_text(
        "---\nsubject: Start here\npreheader: The first lesson of a tiny course for tests\n"
        "delay: 0\nteaser: Lesson two is about the second thing\nreferences: [\"Ref One <1>\"]\n---\n"
        "## First\n\nHi {{ subscriber.first_name | default(\"there\") }}, "
        "read [this](https://example.org/a) [1].\n\n"
        "- one\n- two\n"
    )
    (camp / "02-next.md").write_text(
        "---\nsubject: The second thing\npreheader: More of the tiny course\ndelay: 2\n---\nBody two.\n"
    )
    (camp / "03-last.md").write_text(
        "---\nsubject: The last thing\npreheader: End of the tiny course\ndelay: 3\n---\nBody three.\n"
    )
    return root


# -- web apps and a real browser ------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright; never a downloaded browser."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required in CI (Debian packages chromium, chromium-driver)")
        pytest.skip(f"no {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve a WSGI app on a free 127.0.0.1 port in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
