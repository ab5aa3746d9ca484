"""Benchmark every page of the staff console, on SQLite and PostgreSQL.

Run on demand (not part of the test suite):

    python bench/console_bench.py                          # SQLite and, if it answers, PostgreSQL
    python bench/console_bench.py --backend sqlite --subscribers 10000 --deliveries 100000
    python bench/console_bench.py --database-url postgresql+psycopg://me@db.local/scratch --keep
    python bench/console_bench.py --filled 'postgresql+psycopg://...?options=...'   # time a kept store again

It bulk-inserts a synthetic store (default 100,000 subscribers, 1,000,000
deliveries: the five-lesson glute course for everyone plus weekly newsletter
issues, with delivered/opened/clicked/bounced/complained/unsubscribed events in
realistic proportions), logs in with the Flask test client and times each
console page (median of `--repeat` requests after one warm-up request, plus the
cold first request), against the 300 ms target: the lesson editor and its live preview,
the segment count, Enrol's confirmation, the Sending page (without its DNS check, which
asks the network), and a 20,000-row CSV import (the upload's answer, the progress page and
its status answer while the job runs, the report; the job's own time printed apart).

The counts the console caches for a minute are refreshed on background threads; the
warm requests are timed once those are done (else they would be timing the refresh).
Statistics: on PostgreSQL the store is vacuumed and analyzed after the bulk insert (what
autovacuum does by itself soon after); on SQLite `--statistics` picks what happens after
it: `optimize` (the default: what dripcourse does by itself, `PRAGMA optimize` as the
store's connections close), `analyze` (a full ANALYZE) or `none`.

Printed with each run, for comparing across machines: the load average, and two
same-run baselines: the login page (a page with no query: the web stack's own cost) and
one pass over every delivery in its index (`count(*)`: the least a figure over all
deliveries can cost); each page's warm time is also given in passes.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from benchlib import COURSE, REPO, add_database_args, copy_course, dialect_of, load, machine, stores

sys.path.insert(0, str(REPO))

from sender.engine import Engine
from sender.providers.memory import MemoryProvider
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TARGET_MS = 300.0
PASSWORD = "bench-password"
ZONES = ("Europe/Lisbon", "America/New_York", "Asia/Tokyo", "Australia/Sydney", None)
TAGS = ("webinar", "vip", "blog", "podcast")
COURSE_LESSONS = (
    "01-4-reasons-why-you-cant-activate-your-glutes", "02-dominant-hamstrings", "03-tight-hip-flexors",
    "04-low-back-pain", "05-knee-pain",
)
# Share of sent deliveries with each webhook event (opens and clicks fall off lesson by lesson).
EVENT_RATES = {"delivered": 0.96, "opened": 0.42, "clicked": 0.11, "bounced": 0.012,
               "complained": 0.0006, "unsubscribed": 0.004}


NEW_COURSE = "glute-activation-again"  # the course on disk nobody is enrolled in yet: Enrol's count


def make_project(root: Path) -> Path:
    copy_course(root)
    shutil.copytree(root / "campaigns" / COURSE, root / "campaigns" / NEW_COURSE)
    (root / "newsletters").mkdir()
    (root / "newsletters" / "weekly.md").write_text(
        "---\nsubject: This week in glutes\npreheader: News\n---\nHello {{ subscriber.first_name }}.\n")
    return root


# -- synthetic data ----------------------------------------------------------------------


def _ts(value: datetime) -> str:
    """How the UTCDateTime columns store an instant: naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def _rows(subscribers: int, deliveries: int, seed: int = 7) -> dict[str, list[tuple[Any, ...]]]:
    """Every row to insert, as tuples in column order (see COLUMNS)."""
    rnd = random.Random(seed)
    out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in COLUMNS}
    out["campaigns"] = [
        (1, COURSE, "course", "4 Reasons Why You Can't Activate Your Glutes", "active", None,
         _ts(NOW - timedelta(days=120))),
        (2, "newsletter-weekly", "newsletter", "This week in glutes", "active", None,
         _ts(NOW - timedelta(days=120))),
        (3, "old-course", "course", "An old course", "paused",
         "provider postmark failed 3 batches in a row: 503", _ts(NOW - timedelta(days=200))),
    ]
    for i in range(1, subscribers + 1):
        status = "active"
        roll = rnd.random()
        if roll < 0.02:
            status = "unsubscribed"
        elif roll < 0.03:
            status = "bounced"
        tags = sorted(rnd.sample(TAGS, rnd.randint(0, 2)))
        created = NOW - timedelta(days=rnd.randint(30, 120), seconds=rnd.randint(0, 86_399))
        out["subscribers"].append((
            i, f"person{i}@example.com", f"Person {i}", ZONES[i % len(ZONES)], "{}", json.dumps(tags),
            status, "import", _ts(created), _ts(created), _ts(created)))
    delivery_id = event_id = 0

    def add_delivery(sub: int, campaign: int, key: str, position: int, sent: datetime, status: str) -> None:
        nonlocal delivery_id, event_id
        delivery_id += 1
        out["deliveries"].append((
            delivery_id, sub, campaign, key, position, status, _ts(sent), _ts(sent),
            _ts(sent) if status == "sent" else None, f"<{delivery_id}@bench>",
            f"pm-{delivery_id}" if status == "sent" else None, None, 0))
        if status != "sent":
            return
        fall = 0.85 ** (position - 1)
        for kind, rate in EVENT_RATES.items():
            if kind in ("opened", "clicked"):
                rate *= fall
            if rnd.random() < rate:
                event_id += 1
                at = sent + timedelta(minutes=rnd.randint(1, 3000))
                out["events"].append((event_id, delivery_id, sub, kind, _ts(at), "postmark",
                                      json.dumps({"email": f"person{sub}@example.com"}), f"ev-{event_id}"))

    for sub in range(1, subscribers + 1):
        enrolled = NOW - timedelta(days=rnd.randint(10, 60))
        # How far each subscriber got: most finish, some are on the way.
        got = rnd.choices(range(len(COURSE_LESSONS) + 1), weights=(5, 10, 10, 10, 10, 55))[0]
        if delivery_id + got > deliveries:
            got = max(0, deliveries - delivery_id)
        for pos in range(1, got + 1):
            sent = enrolled + timedelta(days=2 * (pos - 1), hours=9)
            status = "sent"
            if pos == got and rnd.random() < 0.002:
                status = "sending" if rnd.random() < 0.5 else "failed"
            add_delivery(sub, 1, COURSE_LESSONS[pos - 1], pos, min(sent, NOW - timedelta(hours=2)), status)
        if got >= len(COURSE_LESSONS):
            status, due, completed = "completed", None, _ts(enrolled + timedelta(days=9))
        else:
            status = "active" if rnd.random() < 0.95 else rnd.choice(("paused", "stopped"))
            due = _ts(NOW + timedelta(days=rnd.randint(0, 29), hours=rnd.randint(0, 23)))
            completed = None
        out["enrolments"].append((sub, sub, 1, status, got + 1, due, _ts(enrolled), completed))
    # Weekly newsletter issues take the rest of the budget.
    issue = 0
    while delivery_id < deliveries:
        wall = NOW - timedelta(days=7 * (issue + 1))
        key = f"issue-{wall:%Y-%m-%dT09:00}"
        for sub in range(1, subscribers + 1):
            if delivery_id >= deliveries:
                break
            add_delivery(sub, 2, key, 1, wall, "sent")
        out["newsletters"].append((issue + 1, 2, "newsletters/weekly.md", f"{wall:%Y-%m-%dT09:00}", "UTC",
                                   False, None, None, None, "sent", _ts(wall - timedelta(days=1))))
        issue += 1
    source = "newsletters/weekly.md"
    out["newsletters"] += [
        (issue + 1, 2, source, f"{NOW + timedelta(days=3):%Y-%m-%dT09:00}", "UTC", True, "vip", None,
         _ts(NOW + timedelta(days=3) - timedelta(hours=14)), "scheduled", _ts(NOW)),
        (issue + 2, 2, source, f"{NOW + timedelta(days=1):%Y-%m-%dT09:00}", "Europe/Lisbon", False, None,
         "0 9 * * mon", _ts(NOW + timedelta(days=1)), "scheduled", _ts(NOW)),
    ]
    out["suppressions"] = [(f"{i:064x}", rnd.choice(("bounced", "complained", "deleted")), None, _ts(NOW))
                           for i in range(1, subscribers // 100 + 1)]
    return out


COLUMNS = {
    "campaigns": ("id", "slug", "kind", "title", "status", "paused_reason", "created_at"),
    "subscribers": ("id", "email", "name", "timezone", "fields", "tags", "status", "consent_source",
                    "consent_at", "created_at", "updated_at"),
    "enrolments": ("id", "subscriber_id", "campaign_id", "status", "next_position", "next_due_at",
                   "enrolled_at", "completed_at"),
    "deliveries": ("id", "subscriber_id", "campaign_id", "lesson_key", "position", "status",
                   "scheduled_at", "claimed_at", "sent_at", "message_id", "provider_message_id", "error",
                   "attempts"),
    "events": ("id", "delivery_id", "subscriber_id", "type", "at", "provider", "data", "external_id"),
    "newsletters": ("id", "campaign_id", "source", "wall_time", "timezone", "local", "segment", "cron",
                    "next_run_at", "status", "created_at"),
    "suppressions": ("email_hash", "reason", "detail", "created_at"),
}


def _chunks(rows: Sequence[tuple[Any, ...]], size: int = 50_000) -> Iterator[Sequence[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def fill(store: Store, subscribers: int, deliveries: int) -> dict[str, int]:
    """Bulk-insert the synthetic store; returns row counts per table."""
    data = _rows(subscribers, deliveries)
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        for table, columns in COLUMNS.items():
            rows = data[table]
            if store.dialect == "postgresql":
                # COPY: a million rows in seconds, not minutes.
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                for chunk in _chunks(rows):
                    cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", chunk)
        if store.dialect == "postgresql":
            for table in COLUMNS:
                if table != "suppressions":
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT max(id) FROM {table}))")
        raw.commit()
    finally:
        raw.close()
    return {table: len(rows) for table, rows in data.items()}


STATISTICS = ("optimize", "analyze", "none")


def gather_statistics(url: str, how: str) -> Store:
    """After a bulk insert: statistics as a store in use would have them (see the module
    docstring); returns the store, open again."""
    store = Store(url)
    if store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    elif how == "analyze":
        with store.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    elif how == "none":
        with store.begin() as conn:  # whatever closing the inserting connection gathered
            if conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
                conn.execute(sa.text("DELETE FROM sqlite_stat1"))
        store.close()
        store = Store(url)  # connections that read the statistics when they opened
    elif how == "optimize":
        # Staff look at the console, `drip status` runs, the process ends: its connections
        # close with PRAGMA optimize, which analyzes the tables they used.
        _console_queries(store)
        store.close()
        store = Store(url)
    return store


def _console_queries(store: Store) -> None:
    from sender.store import console as queries

    queries.enrolment_counts(store)
    queries.delivery_counts(store)
    queries.subscriber_status_counts(store)
    queries.upcoming_lessons(store, NOW + timedelta(days=30))
    store.campaign_summary()


# -- timing the pages -----------------------------------------------------------------------------


def pages(store: Store) -> list[tuple[str, str]]:
    """(label, path) of every console page, with realistic arguments."""
    with store.engine.connect() as conn:
        busy = conn.execute(sa.text("SELECT subscriber_id FROM deliveries GROUP BY subscriber_id "
                                    "ORDER BY count(*) DESC LIMIT 1")).scalar()
    return [
        ("campaigns", "/console/"),
        ("campaign (funnel)", f"/console/campaigns/{COURSE}"),
        ("send times form", f"/console/campaigns/{COURSE}/timing"),
        ("schedule (30 days)", "/console/schedule"),
        ("newsletters", "/console/newsletters"),
        ("subscribers", "/console/subscribers"),
        ("subscribers ?q=", "/console/subscribers?q=person9999"),
        ("subscribers ?tag=", "/console/subscribers?tag=vip"),
        ("subscribers deep page", f"/console/subscribers?after={subscribers_count(store) - 60}"),
        ("subscriber timeline", f"/console/subscribers/{busy}"),
        ("deliverability", "/console/deliverability"),
        ("lessons (order, drafts)", f"/console/campaigns/{COURSE}/lessons"),
        ("lesson editor", f"/console/campaigns/{COURSE}/lessons/{COURSE_LESSONS[1]}"),
        ("segment count: a tag", "/console/segments/count?q=vip"),
        ("segment count: AND/NOT", "/console/segments/count?q=" + quote("(vip OR blog) AND NOT webinar")),
        ("sending (no DNS check)", "/console/sending"),
    ]


def posted_pages() -> list[tuple[str, str, dict[str, str]]]:
    """(label, path, form) of the console's POSTs that answer with a page and change nothing:
    the lesson editor's live preview, and the count Enrol shows before it mails anyone."""
    return [
        ("lesson live preview", f"/console/campaigns/{COURSE}/lessons/{COURSE_LESSONS[1]}/preview",
         {"subject": "Hamstrings for {{ subscriber.first_name }}", "preheader": "Edited",
          "body": "Live **preview** text.\n\n- one\n- two\n"}),
        ("enrol confirm: all", f"/console/campaigns/{NEW_COURSE}/start", {"audience": "all"}),
        ("enrol confirm: segment", f"/console/campaigns/{NEW_COURSE}/start",
         {"audience": "tag", "tag": "vip AND NOT webinar"}),
    ]


def subscribers_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM subscribers")).scalar() or 0)


def _client(project: Path, store: Store, max_age: float, login: bool = True) -> Any:
    from sender.web import create_app
    from sender.web.auth import hash_password

    settings = load_settings(project, environ={"DRIP_ADMIN_PASSWORD_HASH": hash_password(PASSWORD)}
                             ).replace(database_url=store.url)
    engine = Engine(settings, store, MemoryProvider(f"memory://{project}"), SimulatedClock(NOW))
    app = create_app(engine)
    app.config["CONSOLE_STATS_MAX_AGE"] = max_age
    client = app.test_client()
    if not login:
        return client
    client.get("/console/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    answer = client.post("/console/login",
                         data={"csrf_token": token, "username": "admin", "password": PASSWORD})
    assert answer.status_code == 302, answer.status_code
    return client


def _settled() -> None:
    """Wait for the console's background refreshes (threads named console-*) to finish."""
    import threading

    for thread in threading.enumerate():
        if thread.name.startswith("console-"):
            thread.join()


def _get_ms(client: Any, path: str, form: dict[str, str] | None = None) -> float:
    """One GET (or, with `form`, a POST carrying the session's CSRF token), in ms."""
    if form is not None:
        with client.session_transaction() as session:
            form = {"csrf_token": session["csrf"], **form}
    t = time.perf_counter()
    answer = client.get(path) if form is None else client.post(path, data=form)
    took = (time.perf_counter() - t) * 1000
    assert answer.status_code == 200, (path, answer.status_code, answer.get_data(as_text=True)[:500])
    return took


def time_pages(project: Path, store: Store, label: str, repeat: int,
               export: bool = True) -> list[dict[str, Any]]:
    """Per page: the first request (nothing cached yet), the median of `repeat` requests
    as staff get them (figures up to a minute old), and the median with the cache off
    (what the minutely background refresh costs)."""
    cached = _client(project, store, max_age=60.0)
    _settled()  # the counts that logging in starts, as staff would find them after typing
    fresh = _client(project, store, max_age=0.0)
    _settled()
    anonymous = _client(project, store, max_age=60.0, login=False)
    floor_page = statistics.median(_get_ms(anonymous, "/console/login") for _ in range(repeat))
    floor_pass = scan_ms(store)
    results: list[dict[str, Any]] = []
    asked = [(name, path, None) for name, path in pages(store)] + list(posted_pages())
    for name, path, form in asked:
        cold = _get_ms(cached, path, form)
        _settled()
        warm = statistics.median(_get_ms(cached, path, form) for _ in range(repeat))
        uncached = statistics.median(_get_ms(fresh, path, form) for _ in range(max(1, repeat // 3)))
        results.append({"page": name, "path": path, "cold": cold, "warm": warm, "uncached": uncached})
    results += time_import(project, cached, store, repeat)
    export_ms, export_mib = 0.0, 0.0
    if export:
        t = time.perf_counter()
        export_mib = len(cached.get("/console/subscribers/export.csv").data) / 2**20
        export_ms = (time.perf_counter() - t) * 1000
    print(f"\n[{label}] console pages, ms (target {TARGET_MS:.0f} ms for what staff get: the 'warm' column); "
          f"load average now {load()}")
    print(f"  baselines of this run: the login page {floor_page:.1f} ms; one pass over the "
          f"{counted(store):,} deliveries' index {floor_pass:.1f} ms")
    print(f"  {'page':24} {'warm':>8} {'passes':>7} {'first':>8} {'no cache':>9}  verdict")
    for r in results:
        verdict = "ok" if r["warm"] < TARGET_MS else "SLOW"
        print(f"  {r['page']:24} {r['warm']:8.1f} {r['warm'] / floor_pass:7.2f} {r['cold']:8.1f} "
              f"{r['uncached']:9.1f}  {verdict}")
    if export:
        print(f"  export.csv download ({export_mib:.1f} MiB): {export_ms:.0f} ms (a file, not a page)")
    return results


IMPORT_ROWS = 20_000  # the issue's console import: one 169 s request before it ran in the background


def time_import(project: Path, client: Any, store: Store, repeat: int) -> list[dict[str, Any]]:
    """The console import at this size: the upload's answer (saved and checked, then the
    progress page), the progress page and its status answer while the job runs, and the
    finished page; the whole job's time is printed apart (it runs in the background).
    Half the rows are people already in the store (updates), half new ones."""
    from flask import Flask

    app: Flask = client.application
    app.config["CONSOLE_IMPORT_WAIT"] = 0.0  # the progress page at once, as for any big file
    first = max(1, subscribers_count(store) - IMPORT_ROWS // 2)
    data = "email,name,tags\n" + "".join(f"person{i}@example.com,Person {i},imported\n"
                                          for i in range(first, first + IMPORT_ROWS))
    with client.session_transaction() as session:
        token = session["csrf"]
    t = time.perf_counter()
    answer = client.post("/console/subscribers/import", content_type="multipart/form-data",
                         data={"csrf_token": token, "file": (io.BytesIO(data.encode()), "people.csv")})
    upload_ms = (time.perf_counter() - t) * 1000
    assert answer.status_code == 303, (answer.status_code, answer.get_data(as_text=True)[:500])
    job = answer.headers["Location"]
    running = [_get_ms(client, job) for _ in range(repeat)]
    polls = [_get_ms(client, job + "/status") for _ in range(repeat)]
    while not client.get(job + "/status").get_json()["finished"]:
        time.sleep(0.2)
    took = time.perf_counter() - t
    found = client.get(job + "/status").get_json()
    print(f"  (import of {IMPORT_ROWS:,} rows in the background: {took:.1f} s, "
          f"{IMPORT_ROWS / took:,.0f} rows/s: {found['text']})")
    finished = statistics.median(_get_ms(client, job) for _ in range(repeat))
    return [{"page": f"import upload ({IMPORT_ROWS // 1000}k rows)", "path": "/console/subscribers/import",
             "cold": upload_ms, "warm": upload_ms, "uncached": upload_ms},
            {"page": "import progress page", "path": job, "cold": running[0],
             "warm": statistics.median(running), "uncached": statistics.median(running)},
            {"page": "import status (polled)", "path": job + "/status", "cold": polls[0],
             "warm": statistics.median(polls), "uncached": statistics.median(polls)},
            {"page": "import report (done)", "path": job, "cold": finished, "warm": finished,
             "uncached": finished}]


def scan_ms(store: Store, repeat: int = 5) -> float:
    """One pass over every delivery in an index, the median of `repeat`: the same-run
    yardstick for what a figure over all deliveries costs on this machine, now."""
    times = []
    with store.engine.connect() as conn:
        for _ in range(repeat):
            t = time.perf_counter()
            # a range (campaign_id >= 0), so that SQLite steps through it rather than
            # taking the b-tree's own count of its cells
            conn.execute(sa.text("SELECT count(*) FROM deliveries WHERE campaign_id >= 0")).scalar()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def counted(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM deliveries")).scalar() or 0)


# Indexes to try before they go into a migration (--proposed-indexes): each is made if the
# schema lacks it (by name), so the list may name indexes that a migration has added since.
# Both that were proposed here are in the migrations now (0006); add a candidate here to
# time it against the store as it is.
PROPOSED_INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ix_deliveries_campaign_lesson", "deliveries", ("campaign_id", "lesson_key", "status")),
    ("ix_events_subscriber", "events", ("subscriber_id",)),
)


def add_proposed_indexes(store: Store) -> list[str]:
    """Make the proposed indexes the store lacks; returns the names of those made."""
    inspector = sa.inspect(store.engine)
    made = []
    with store.begin() as conn:
        for name, table, columns in PROPOSED_INDEXES:
            if name in {ix["name"] for ix in inspector.get_indexes(table)}:
                continue
            conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"))
            made.append(name)
        if made:
            conn.execute(sa.text("ANALYZE"))
    return made


def run(url: str, label: str, args: argparse.Namespace, project: Path, filled: bool = False) -> None:
    if filled:
        print(f"[{label}] timing the store filled before at {url.split('?')[0]}")
        store = Store(url)
    else:
        t = time.perf_counter()
        with Store(url) as empty:
            counts = fill(empty, args.subscribers, args.deliveries)
        print(f"[{label}] filled {', '.join(f'{n:,} {k}' for k, n in counts.items())} "
              f"in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        store = gather_statistics(url, args.statistics)
        how = "VACUUM ANALYZE" if store.dialect == "postgresql" else args.statistics
        print(f"[{label}] statistics ({how}) in {time.perf_counter() - t:.1f} s")
        if store.dialect == "sqlite":
            label += f", statistics: {args.statistics}"
    if args.proposed_indexes:
        made = add_proposed_indexes(store)
        print(f"[{label}] proposed indexes made: {', '.join(made) or 'none (the schema has them all)'}")
        label += " + proposed indexes"
    try:
        time_pages(project, store, label, args.repeat, export=not args.no_export)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9, help="requests per page for the median")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    add_database_args(parser)
    parser.add_argument("--keep", action="store_true",
                        help="keep the filled PostgreSQL schema (SQLite files given by --database-url are "
                             "kept anyway) and print its URL, for --filled")
    parser.add_argument("--filled", metavar="URL",
                        help="time a store an earlier run filled (and kept) instead of filling one")
    parser.add_argument("--statistics", choices=STATISTICS, default="optimize",
                        help="SQLite: what happens after the bulk insert (see above)")
    parser.add_argument("--no-export", action="store_true", help="skip timing the CSV export")
    parser.add_argument("--proposed-indexes", action="store_true",
                        help="make the PROPOSED_INDEXES the schema lacks before timing")
    args = parser.parse_args()
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "project")
        if args.filled:
            run(args.filled, dialect_of(args.filled), args, project, filled=True)
            return
        wanted = {"sqlite", "postgresql"} if args.backend == "both" else {args.backend}
        for dialect, where in stores(args.database_url, wanted, Path(tmp), "console_bench", args.keep):
            with where as url:
                run(url, dialect, args, project)


if __name__ == "__main__":
    main()
