"""Benchmark the CSV import (`drip subscribers import`, the console's import job), on SQLite
and PostgreSQL.

Run on demand (not part of the test suite):

    python bench/import_bench.py                       # 20,000 rows, SQLite and PostgreSQL
    python bench/import_bench.py --rows 100000 --database-url sqlite:///big.db

A CSV of `--rows` subscribers (email, name, two tags) is imported into an empty store
twice: every row new, then every row an update (tags merged). In the same run, the
baseline: the same rows written one transaction a row (`Store.upsert_subscriber` on its
own, as the import did before it wrote IMPORT_BATCH rows a transaction), into a store of
its own. The baseline runs first, and the store is emptied before the import.
The load average is printed with each figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchlib import REPO, add_database_args, load, machine, stores

sys.path.insert(0, str(REPO))

from sender.store import Store
from sender.store.schema import subscribers
from sender.subscribers import IMPORT_BATCH, import_csv, open_csv

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def imported(store: Store, csv: Path) -> tuple[float, float]:
    """Seconds to import `csv` into the empty `store`: all new, then all updates."""
    times = []
    for _ in range(2):
        t = time.perf_counter()
        import_csv(store, open_csv(csv), now=NOW, consent_source="bench")
        times.append(time.perf_counter() - t)
    return times[0], times[1]


def row_by_row(store: Store, rows: int) -> float:
    """Seconds to write the same new rows one transaction each (the baseline); then the store
    is emptied again."""
    t = time.perf_counter()
    for i in range(rows):
        store.upsert_subscriber(f"person{i}@example.com", now=NOW, name=f"Person {i}",
                                tags=["imported", "vip"], consent_source="bench")
    elapsed = time.perf_counter() - t
    with store.begin() as conn:
        conn.execute(subscribers.delete())
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    add_database_args(parser)
    args = parser.parse_args()
    wanted = {"sqlite", "postgresql"} if args.backend == "both" else {args.backend}
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "people.csv"
        csv.write_text("email,name,tags\n" + "".join(
            f"person{i}@example.com,Person {i},imported;vip\n" for i in range(args.rows)), encoding="utf-8")
        for dialect, where in stores(args.database_url, wanted, Path(tmp), "import_bench"):
            with where as url:
                store = Store(url)
                baseline = row_by_row(store, args.rows)
                new, updated = imported(store, csv)
                store.close()
            print(f"[{dialect}] {args.rows:,} rows, {IMPORT_BATCH} a transaction: new {args.rows / new:,.0f} "
                  f"rows/s, updates {args.rows / updated:,.0f} rows/s; the same new rows one transaction "
                  f"each: {args.rows / baseline:,.0f} rows/s, so {baseline / new:.1f}x as fast; "
                  f"load average {load()}", flush=True)


if __name__ == "__main__":
    main()
