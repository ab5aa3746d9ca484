"""Benchmark `drip status` on a large store, on SQLite and PostgreSQL.

Run on demand (not part of the test suite):

    python bench/status_bench.py                                   # 1M subscribers, 2M deliveries
    python bench/status_bench.py --subscribers 100000 --deliveries 1000000 --backend sqlite
    python bench/status_bench.py --backend sqlite --statistics none   # SQLite without ANALYZE

The store is console_bench's synthetic one (the glute course for everyone, weekly issues
with what is left of the delivery budget, webhook events), inserted in bulk; statistics
as console_bench's --statistics says. Then, against the 300 ms target:
  - `drip status --json` run in this process (Typer's test runner: the command's own
    work, queries and output, without starting Python): the first run, then the median
    of `--repeat`;
  - `drip status` as a command in a new process, the median of 3 (Python's start-up
    and imports included: what a user waits for);
  - the same-run baselines: the queries `drip status` ran before they counted in the
    indexes (plain GROUP BYs, as of migration 0007; run against this same store, with its
    indexes, so the difference is the queries), and one pass over every delivery in its
    index (the least any figure over all deliveries can cost on this machine, now).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from benchlib import REPO, add_database_args, dialect_of, load, machine, stores
from console_bench import STATISTICS, fill, gather_statistics, make_project, scan_ms

sys.path.insert(0, str(REPO))

from sender.store import Store
from sender.store.schema import campaigns, deliveries, enrolments

TARGET_MS = 300.0


def status_in_process(project: Path, url: str) -> float:
    """ms for one `drip status --json`, in this process."""
    from typer.testing import CliRunner

    from sender.cli import app

    t = time.perf_counter()
    result = CliRunner().invoke(app, ["-C", str(project), "--set", f"database_url={url}", "status", "--json"])
    took = (time.perf_counter() - t) * 1000
    assert result.exit_code == 0, result.output
    return took


def status_command(project: Path, url: str) -> float:
    """ms for `drip status` in a process of its own, start-up included."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sender.cli", "-C", str(project), "--set", f"database_url={url}",
                    "status"], check=True, cwd=REPO, capture_output=True,
                   env={**os.environ, "COLUMNS": "100"})
    return (time.perf_counter() - t) * 1000


def old_queries(store: Store) -> float:
    """ms for the statements `drip status` ran before 0008: each a GROUP BY over its table."""
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    day = sa.func.date(enrolments.c.next_due_at)
    statements = [
        sa.select(enrolments.c.campaign_id, enrolments.c.status, sa.func.count())
        .group_by(enrolments.c.campaign_id, enrolments.c.status),
        sa.select(deliveries.c.campaign_id, deliveries.c.status, sa.func.count())
        .group_by(deliveries.c.campaign_id, deliveries.c.status),
        sa.select(campaigns).order_by(campaigns.c.id),
        sa.select(deliveries.c.campaign_id, sa.func.count())
        .where(deliveries.c.status == "sending", deliveries.c.claimed_at < now - timedelta(minutes=15))
        .group_by(deliveries.c.campaign_id),
        sa.select(deliveries.c.campaign_id, deliveries.c.lesson_key, sa.func.count())
        .where(deliveries.c.status == "sent").group_by(deliveries.c.campaign_id, deliveries.c.lesson_key),
        *(sa.select(enrolments.c.campaign_id, day, sa.func.count())
          .where(enrolments.c.status == "active", enrolments.c.next_due_at >= start,
                 enrolments.c.next_due_at < start + timedelta(days=days))
          .group_by(enrolments.c.campaign_id, day) for start, days in ((today, 14), (now, 1))),
    ]
    t = time.perf_counter()
    with store.engine.connect() as conn:
        for statement in statements:
            conn.execute(statement).all()
    return (time.perf_counter() - t) * 1000


def run(url: str, label: str, args: argparse.Namespace, project: Path, filled: bool) -> dict[str, Any]:
    if filled:
        store = Store(url)
    else:
        t = time.perf_counter()
        with Store(url) as empty:
            counts = fill(empty, args.subscribers, args.deliveries)
        print(f"[{label}] filled {', '.join(f'{n:,} {k}' for k, n in counts.items())} "
              f"in {time.perf_counter() - t:.1f} s", flush=True)
        store = gather_statistics(url, args.statistics)
    if store.dialect == "sqlite" and not filled:
        label += f", statistics: {args.statistics}"
    try:
        first = status_in_process(project, url)
        warm = statistics.median(status_in_process(project, url) for _ in range(args.repeat))
        command = statistics.median(status_command(project, url) for _ in range(3))
        old = statistics.median(old_queries(store) for _ in range(3))
        floor = scan_ms(store)
    finally:
        store.close()
    verdict = "ok" if warm < TARGET_MS else "SLOW"
    print(f"[{label}] drip status: warm {warm:.0f} ms (median of {args.repeat}; {verdict} against "
          f"{TARGET_MS:.0f} ms), first {first:.0f} ms; as a new process, start-up included, {command:.0f} ms")
    print(f"[{label}]   same run: the queries of before 0008 (GROUP BYs) {old:.0f} ms, so {old / warm:.1f}x "
          f"the time; one pass over the deliveries' index {floor:.0f} ms, so drip status costs "
          f"{warm / floor:.1f} passes; load average now {load()}", flush=True)
    return {"warm": warm, "first": first, "command": command, "old": old, "pass": floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--deliveries", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=7, help="runs for the median")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    add_database_args(parser)
    parser.add_argument("--keep", action="store_true", help="keep the filled PostgreSQL schema, for --filled")
    parser.add_argument("--filled", metavar="URL", help="time a store an earlier run filled and kept")
    parser.add_argument("--statistics", choices=STATISTICS, default="optimize",
                        help="SQLite: what happens after the bulk insert (see console_bench.py)")
    args = parser.parse_args()
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "project")
        if args.filled:
            run(args.filled, dialect_of(args.filled), args, project, filled=True)
            return
        wanted = {"sqlite", "postgresql"} if args.backend == "both" else {args.backend}
        for dialect, where in stores(args.database_url, wanted, Path(tmp), "status_bench", args.keep):
            with where as url:
                run(url, dialect, args, project, filled=False)


if __name__ == "__main__":
    main()
