"""Benchmark the drip engine's tick against a naive baseline, on SQLite and PostgreSQL.

Run on demand (not part of the test suite):

    python bench/tick_bench.py                    # SQLite and, if it answers, PostgreSQL
    python bench/tick_bench.py --subscribers 100000 --due 20000 --backend sqlite

It creates a synthetic store of N enrolled subscribers (default 1,000,000) of
whom `--due` (default 100,000) have a lesson due now, then measures:
  - an idle tick (nothing due);
  - claiming and recording the due deliveries: the engine's real tick with rendering
    and the provider left out (every delivery recorded as sent), timed from the
    first claim to the last result stored; on PostgreSQL also with two worker
    processes sharing the same due set (`drip serve --worker` beside `drip serve`,
    one per core), on the next lesson;
  - the whole tick on the next lesson of the same subscribers: claimed, rendered,
    handed to a provider that accepts at once, and recorded;
  - the set-based floor of claim + record, in the same run: one INSERT ... SELECT of a
    delivery for every due enrolment, then two UPDATEs of the same rows (the deliveries
    recorded as sent, the enrolments moved on), in one transaction: what the database
    itself needs for that work, without a row passing through Python. Claim + record is
    printed as a share of it (the aim: within 2x, i.e. at least 50%);
  - the naive path (one query and one commit per subscriber) on a sample, in the
    same run;
  - peak Python memory of the tick (tracemalloc), to compare 100k and 1M stores.
The load average is printed with each store's figures.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from benchlib import REPO, add_database_args, copy_course, load, machine, ratio, stores

sys.path.insert(0, str(REPO))

from sender.engine import Engine, Outcome, Rendered
from sender.providers.base import OutgoingMessage, Provider, SendResult
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store
from sender.store.schema import campaigns, deliveries, enrolments, subscribers

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)  # inside the default 09:00-11:00 window (UTC)


class AcceptingProvider(Provider):
    """Accepts every message at once: what is measured is the engine and the store."""

    scheme = name = "bench"

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        return [SendResult(m, ok=True, provider_message_id=m.message_id) for m in messages]


class ClaimRecordEngine(Engine):
    """The real tick, batching and overlap included, with the rendering and the provider left
    out: each claimed delivery comes out of "rendering" already sent, and is recorded so."""

    def _render(self, claimed: list[dict], template: str = "lesson") -> Rendered:
        rendered = Rendered(self.clock())
        ids = [i["delivery_id"] for i in claimed]
        rendered.outcomes = [Outcome(d, ok=True, provider_message_id=f"bench-{d}",
                                     message_id=f"<{d}@bench.invalid>") for d in ids]
        return rendered


def claim_worker(url: str, project: str, start: mp.synchronize.Barrier, out: mp.Queue) -> None:
    """One worker process: claim + record whatever is due, once all workers are ready."""
    store = Store(url)
    settings = load_settings(Path(project), environ={}).replace(database_url=url, batch_size=1000)
    engine = ClaimRecordEngine(settings, store, AcceptingProvider("bench://"), SimulatedClock(NOW))
    start.wait()
    out.put(engine.tick().sent)
    store.close()


def claim_with_workers(url: str, project: Path, workers: int) -> tuple[int, float]:
    """(deliveries sent, seconds) for `workers` processes ticking the same due set at once."""
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=claim_worker, args=(url, str(project), start, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    start.wait()  # every worker connected and ready: the clock starts now
    t = time.perf_counter()
    sent = sum(out.get() for _ in procs)
    elapsed = time.perf_counter() - t
    for p in procs:
        p.join()
    return sent, elapsed


def make_due(store: Store, subscriber_ids: range) -> None:
    """These subscribers' next lesson due now (and the table vacuumed, as autovacuum would)."""
    with store.begin() as conn:
        conn.execute(enrolments.update().where(enrolments.c.subscriber_id >= subscriber_ids.start,
                                               enrolments.c.subscriber_id < subscriber_ids.stop,
                                               enrolments.c.status == "active")
                     .values(next_due_at=NOW))
    if store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE enrolments"))
            conn.execute(sa.text("VACUUM ANALYZE deliveries"))


def fill(store: Store, total: int, due: int) -> None:
    """`total` subscribers enrolled; `due` of them with lesson 1 due now, the rest in a week."""
    chunk = 50_000
    with store.begin() as conn:
        cid = conn.execute(campaigns.insert().values(slug="glute-activation", title="Glutes",
                                                     kind="course", created_at=NOW)).inserted_primary_key[0]
    for start in range(0, total, chunk):
        ids = range(start + 1, min(start + chunk, total) + 1)
        with store.begin() as conn:
            conn.execute(subscribers.insert(), [
                {"id": i, "email": f"s{i}@example.com", "name": f"Sub {i}", "timezone": "UTC",
                 "fields": {}, "tags": [], "status": "active", "created_at": NOW, "updated_at": NOW}
                for i in ids])
            conn.execute(enrolments.insert(), [
                {"subscriber_id": i, "campaign_id": cid, "status": "active", "next_position": 1,
                 "enrolled_at": NOW, "next_due_at": NOW if i <= due else NOW + timedelta(days=7)}
                for i in ids])
    if store.dialect == "postgresql":
        with store.begin() as conn:
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('subscribers', 'id'), "
                                 "(SELECT max(id) FROM subscribers))"))
            conn.execute(sa.text("ANALYZE"))


FLOOR_KEY = "set-based-floor"  # a lesson key of the floor's own, deleted afterwards


def set_based_floor(store: Store) -> tuple[int, float]:
    """(deliveries, seconds) for claim + record as three statements over every due enrolment;
    then put the store back as it was (outside the timing)."""
    now, later = sa.bindparam("now", NOW, type_=enrolments.c.next_due_at.type), \
        sa.bindparam("later", NOW + timedelta(days=7, seconds=1), type_=enrolments.c.next_due_at.type)
    due = sa.and_(enrolments.c.status == "active", enrolments.c.next_due_at <= now,
                  campaigns.c.status == "active", subscribers.c.status == "active")
    t = time.perf_counter()
    with store.begin() as conn:
        # claim: a delivery row for each due enrolment, in one statement
        conn.execute(deliveries.insert().from_select(
            ["subscriber_id", "campaign_id", "lesson_key", "position", "status", "scheduled_at",
             "claimed_at"],
            sa.select(enrolments.c.subscriber_id, enrolments.c.campaign_id, sa.literal(FLOOR_KEY),
                      enrolments.c.next_position, sa.literal("sending"), enrolments.c.next_due_at, now)
            .join(campaigns, campaigns.c.id == enrolments.c.campaign_id)
            .join(subscribers, subscribers.c.id == enrolments.c.subscriber_id).where(due)))
        # record: every one of them sent, with the provider's id
        conn.execute(deliveries.update().where(deliveries.c.lesson_key == FLOOR_KEY).values(
            status="sent", sent_at=now,
            provider_message_id=sa.literal("floor-") + sa.cast(deliveries.c.id, sa.String),
            message_id=sa.literal("<floor-") + sa.cast(deliveries.c.id, sa.String) + sa.literal("@bench>")))
        # and the enrolments moved on to their next lesson
        conn.execute(enrolments.update()
                     .where(enrolments.c.status == "active", enrolments.c.next_due_at <= now)
                     .values(next_position=enrolments.c.next_position + 1, next_due_at=later))
    elapsed = time.perf_counter() - t
    with store.begin() as conn:
        made = conn.execute(sa.select(sa.func.count()).where(deliveries.c.lesson_key == FLOOR_KEY,
                                                             deliveries.c.status == "sent")).scalar_one()
        conn.execute(deliveries.delete().where(deliveries.c.lesson_key == FLOOR_KEY))
        conn.execute(enrolments.update().where(enrolments.c.next_due_at == later)
                     .values(next_position=enrolments.c.next_position - 1, next_due_at=now))
    return made, elapsed


def naive_tick(store: Store, engine: Engine, limit: int) -> int:
    """The baseline: one query and one commit per subscriber."""
    sent = 0
    campaign = engine.read("glute-activation")
    for _ in range(limit):
        with store.begin() as conn:
            row = conn.execute(sa.select(enrolments).where(enrolments.c.status == "active",
                                                           enrolments.c.next_due_at <= NOW)
                               .order_by(enrolments.c.next_due_at).limit(1)).first()
            if row is None:
                break
            lesson = campaign.lesson(row.next_position)
            assert lesson is not None, f"no lesson {row.next_position}"
            conn.execute(deliveries.insert().values(
                subscriber_id=row.subscriber_id, campaign_id=row.campaign_id, lesson_key=lesson.key,
                position=lesson.position, status="sent", claimed_at=NOW, sent_at=NOW))
            conn.execute(enrolments.update().where(enrolments.c.id == row.id)
                         .values(next_position=row.next_position + 1, next_due_at=NOW + timedelta(days=2)))
        sent += 1
    return sent


def run(url: str, label: str, total: int, due: int, naive_sample: int,
        project: Path) -> dict[str, float | None]:
    store = Store(url)
    t0 = time.perf_counter()
    fill(store, total, due)
    took = time.perf_counter() - t0
    print(f"[{label}] filled {total:,} enrolled subscribers ({due:,} due) in {took:.1f} s")
    settings = load_settings(project, environ={}).replace(database_url=url, batch_size=1000)
    engine = Engine(settings, store, AcceptingProvider("bench://"), SimulatedClock(NOW))

    idle_clock = SimulatedClock(NOW - timedelta(hours=1))  # before anything is due
    idle_engine = Engine(settings, store, AcceptingProvider("bench://"), idle_clock)
    idle = []
    for _ in range(20):
        t = time.perf_counter()
        idle_engine.tick()
        idle.append(time.perf_counter() - t)
    idle_ms = sorted(idle)[len(idle) // 2] * 1000

    # Claim + record alone: the first lesson of every due subscriber.
    t = time.perf_counter()
    report = ClaimRecordEngine(settings, store, AcceptingProvider("bench://"), SimulatedClock(NOW)).tick()
    store_elapsed = time.perf_counter() - t
    assert report.sent == due, report.summary()
    store_rate = due / store_elapsed

    # The set-based floor of the same work, on the next lesson of the same subscribers.
    make_due(store, range(1, due + 1))
    floor_made, floor_elapsed = set_based_floor(store)
    assert floor_made == due, f"the floor claimed {floor_made:,} of {due:,}"
    floor_rate = due / floor_elapsed

    # PostgreSQL scales out with workers: two of them claim + record the next lesson together.
    pair_rate = None
    if store.dialect == "postgresql":
        make_due(store, range(1, due + 1))
        pair_sent, pair_elapsed = claim_with_workers(url, project, 2)
        assert pair_sent == due, f"two workers sent {pair_sent:,} of {due:,}"
        with store.engine.connect() as conn:  # lessons 1 and 2 of each, once each
            assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)
                                .where(deliveries.c.status == "sent")).scalar() == 2 * due
        pair_rate = due / pair_elapsed

    # The whole tick: their next lesson, rendered and handed over too.
    make_due(store, range(1, due + 1))
    t = time.perf_counter()
    report = engine.tick()
    elapsed = time.perf_counter() - t
    assert report.sent == due, report.summary()
    rate = due / elapsed

    # Peak memory of a tick over a fixed 10,000 due, under tracemalloc (which slows Python down,
    # so it is measured apart from the rate).
    make_due(store, range(total - 10_000 + 1, total + 1))
    tracemalloc.start()
    engine.tick()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # The baseline sends the next lesson to subscribers made due again.
    make_due(store, range(1, naive_sample + 1))
    t = time.perf_counter()
    naive_sent = naive_tick(store, engine, naive_sample)
    naive_rate = naive_sent / (time.perf_counter() - t)
    store.close()
    print(f"[{label}] idle tick (nothing due), median of 20: {idle_ms:.1f} ms (target < 50 ms); "
          f"load average {load()}")
    print(f"[{label}] batched: {due:,} deliveries claimed and recorded in {store_elapsed:.1f} s = "
          f"{store_rate:,.0f}/s, {ratio(store_rate, floor_rate)} of the set-based floor of "
          f"{floor_rate:,.0f}/s (one INSERT ... SELECT and two UPDATEs, {floor_elapsed:.1f} s; aim: 50%); "
          f"with rendering and a provider that accepts at once, {elapsed:.1f} s = {rate:,.0f}/s end to end")
    if pair_rate is not None:
        print(f"[{label}] two worker processes, claim + record of the next lesson of the same "
              f"{due:,}: {pair_rate:,.0f}/s together (each delivery once: checked)")
    print(f"[{label}] peak Python memory of a tick sending 10,000: {peak / 2**20:.1f} MiB")
    if naive_sent:  # --naive-sample 0 skips it
        print(f"[{label}] naive baseline (one query + one commit per subscriber, {naive_sent:,} of them): "
              f"{naive_rate:,.0f}/s; batched claim + record is {store_rate / naive_rate:.1f}x faster")
    return {"idle_ms": idle_ms, "rate": rate, "store_rate": store_rate, "pair_rate": pair_rate,
            "floor_rate": floor_rate,
            "naive": naive_rate,
            "peak_mib": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--naive-sample", type=int, default=2_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    add_database_args(parser)
    args = parser.parse_args()
    if args.database_url and len(args.subscribers) > 1:
        parser.error("--database-url names one store: give one --subscribers")
    print(machine(), flush=True)
    wanted = {"sqlite", "postgresql"} if args.backend == "both" else {args.backend}
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_course(Path(tmp) / "project")
        for total in args.subscribers:
            due = min(args.due, total)
            for dialect, where in stores(args.database_url, wanted, Path(tmp), f"tick_bench_{total}"):
                with where as url:
                    run(url, f"{dialect} {total:,}", total, due, args.naive_sample, project)


if __name__ == "__main__":
    main()
