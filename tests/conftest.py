"""Shared fixtures: real SQLite files and a real PostgreSQL server.

PostgreSQL tests skip when no server answers, except in CI (CI=true), where a
missing server is a failure: CI must prove the PostgreSQL path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("DRIP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# How long a test waits for something it expects to happen (a file, a request, a page's
# text) before failing. Generous, so a loaded machine never fails a test that would pass:
# a passing test waits only as long as the event takes. Speed is measured in bench/, not here.
DEADLINE = 60.0
DEADLINE_MS = int(DEADLINE * 1000)  # Playwright counts in milliseconds

# Hypothesis fails an example slower than 200 ms by default: a timing assertion in disguise.
hypothesis.settings.register_profile("drip", deadline=None)
hypothesis.settings.load_profile("drip")


def wait_until(check: Callable[[], object], *, within: float = DEADLINE,
               pause: Callable[[float], object] = time.sleep) -> bool:
    """Ask `check` until it answers true or `within` seconds have passed; returns whether it
    did, for the caller to assert with its own message. `pause` lets a caller keep an event
    loop running (Playwright's page.wait_for_timeout, in ms/1000)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return bool(check())
        pause(0.02)
    return True


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


class PatientBrowser:
    """A Playwright Browser whose pages wait up to DEADLINE for what a test asks of them
    (Playwright's own defaults: 30 s for actions, 5 s for expect)."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_context(self, **options: Any) -> Any:
        context = self._browser.new_context(**options)
        context.set_default_timeout(DEADLINE_MS)
        return context

    def new_page(self, **options: Any) -> Any:
        page = self._browser.new_page(**options)
        page.set_default_timeout(DEADLINE_MS)
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright; never a downloaded browser."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required in CI (Debian packages chromium, chromium-driver)")
        pytest.skip(f"no {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=DEADLINE_MS)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield PatientBrowser(chromium)
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
