"""Stopping `drip serve --worker` with SIGTERM (systemd, `docker stop`) or SIGINT (Ctrl+C)
while a batch is with the provider: the batch finishes and is recorded, nothing claimed is
left with an unknown outcome, the process exits 0, and the next run sends the rest once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sender.engine import Engine
from sender.providers.memory import MemoryProvider
from sender.schedule import system_clock
from sender.settings import load_settings
from sender.store import Store
from sender.store.schema import deliveries
from sender.subscribers import add_subscriber
from tests.conftest import wait_until
from tests.providers.conftest import ENV
from tests.providers.test_ambiguous_answers import FakePostmark

PEOPLE = 150
READY = (
    'base_url = "https://learn.bimkinesiology.ca"\n'
    'from_address = "BIM Kinesiology <coach@bimkinesiology.ca>"\n'
    'reply_to = "coach@bimkinesiology.ca"\n'
    'postal_address = "BIM Kinesiology, 2150 Main Street, Vancouver BC V5T 3C8, Canada"\n'
    'send_window = "00:00-24:00"\nsend_weekdays = "all"\nbatch_size = 15\ntick_seconds = 2\n'
)


@pytest.fixture
def slow_postmark() -> Iterator[FakePostmark]:
    server = FakePostmark("slow", every=1)  # every answer takes a second
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def statuses(url: str) -> dict[str, int]:
    with Store(url) as store, store.engine.connect() as conn:
        rows = conn.execute(sa.select(deliveries.c.status, sa.func.count()).group_by(deliveries.c.status))
        return {status: n for status, n in rows}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_worker_finishes_its_batch_and_leaves_nothing_unknown(
        project: Path, db_url: str, slow_postmark: FakePostmark, signum: signal.Signals) -> None:
    (project / "dripcourse.toml").write_text(
        READY + f'database_url = "{db_url}"\n'
        f'provider = "postmark://?rate=0&concurrency=1&timeout=10&endpoint={slow_postmark.url}"\n')
    settings = load_settings(project, environ={})
    with Store(db_url) as store:
        for i in range(PEOPLE):
            add_subscriber(store, f"p{i}@example.com", now=system_clock(), timezone="UTC")
        Engine(settings, store, MemoryProvider("memory://"), system_clock).enrol("mini")

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}, **ENV}
    worker = subprocess.Popen([sys.executable, "-m", "sender.cli", "serve", "--worker"], cwd=project,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # a batch is with the provider
        assert wait_until(lambda: slow_postmark.requests >= 2), worker.stderr
        worker.send_signal(signum)
        _, err = worker.communicate(timeout=90)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    assert "finishing the batch with the provider" in err
    left = statuses(db_url)
    assert "sending" not in left  # nothing claimed and left without an outcome
    assert left.get("sent", 0) == sum(slow_postmark.accepted.values()) < PEOPLE  # stopped early

    # The next run sends the rest, and nobody gets lesson 1 twice.
    done = subprocess.run([sys.executable, "-m", "sender.cli", "tick"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert statuses(db_url) == {"sent": PEOPLE}
    assert sum(slow_postmark.accepted.values()) == PEOPLE and max(slow_postmark.accepted.values()) == 1
