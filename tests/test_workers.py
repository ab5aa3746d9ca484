"""Several worker processes on one PostgreSQL database: each lesson goes out
exactly once; and a worker killed mid-batch (on PostgreSQL or a SQLite file) loses
nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from sender.engine import Engine
from sender.providers.memory import MemoryProvider
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store
from sender.store.schema import deliveries, subscribers
from tests.conftest import wait_until

WORKER = Path(__file__).with_name("worker.py")
NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)  # inside the 09:00-11:00 UTC window


def one_lesson_project(project: Path) -> None:
    camp = project / "campaigns" / "mini"
    for extra in ("02-next.md", "03-last.md"):
        (camp / extra).unlink()
    (project / "now.txt").write_text(NOW.isoformat())


def seed(url: str, project: Path, count: int) -> Engine:
    settings = load_settings(project, environ={}).replace(database_url=url)
    store = Store(url)
    with store.begin() as conn:  # bulk, as an import of a large list would
        conn.execute(subscribers.insert(), [
            {"email": f"s{i}@example.com", "name": "", "timezone": "UTC", "fields": {}, "tags": [],
             "status": "active", "created_at": NOW, "updated_at": NOW} for i in range(count)
        ])
    engine = Engine(settings, store, MemoryProvider("memory://seed"), SimulatedClock(NOW))
    assert engine.enrol("mini") == count
    return engine


def spawn(url: str, project: Path, result: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(WORKER), url, str(project), str(result), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def sent_ids(files: list[Path]) -> list[int]:
    return [int(line) for f in files if f.exists() for line in f.read_text().split()]


@pytest.mark.postgres
def test_four_workers_send_each_delivery_exactly_once(project: Path, pg_url: str,
                                                      tmp_path: Path) -> None:
    one_lesson_project(project)
    engine = seed(pg_url, project, 20_000)
    results = [tmp_path / f"worker{i}.txt" for i in range(4)]
    go = tmp_path / "go"
    procs = [spawn(pg_url, project, r, "--start-when", str(go)) for r in results]
    # All four start sending at once: one slow to start must not find the work done already.
    assert wait_until(lambda: all(r.with_suffix(".ready").exists() for r in results)
                      or any(p.poll() is not None for p in procs)), "the workers never got ready"
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
    ids = sent_ids(results)
    assert len(ids) == 20_000 and len(set(ids)) == 20_000
    assert all(r.exists() and r.read_text() for r in results), "every worker should have had a share"
    with engine.store.engine.connect() as conn:
        statuses = dict(conn.execute(sa.select(deliveries.c.status, sa.func.count())
                                     .group_by(deliveries.c.status)).all())
    assert statuses == {"sent": 20_000}


def test_killed_worker_loses_nothing_and_duplicates_nothing(project: Path, db_url: str,
                                                            tmp_path: Path) -> None:
    # Killed while its second batch is with the provider and its third is claimed, not committed.
    one_lesson_project(project)
    engine = seed(db_url, project, 1_000)
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    proc = spawn(db_url, project, first, "--hang-on-batch", "2")
    deadline = time.monotonic() + 120
    while not first.with_suffix(".hanging").exists():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "worker never reached its second batch"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    restarted = spawn(db_url, project, second)
    _, err = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, err.decode()

    ids = sent_ids([first, second])
    assert len(ids) == len(set(ids)) == 800  # 1,000 less the batch of 200 in flight at the kill
    summary = engine.store.campaign_summary()[0]["deliveries"]
    assert summary == {"sent": 800, "sending": 200}  # outcome unknown: shown, not resent

    status = subprocess.run([sys.executable, "-m", "sender.cli", "-s", f"database_url={db_url}",
                             "status"], cwd=project, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "COLUMNS": "200"})
    assert status.returncode == 0, status.stderr
    row = next(line for line in status.stdout.splitlines() if "mini" in line)
    assert row.split("│")[-2].strip() == "200"
