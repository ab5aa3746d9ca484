"""End-to-end delivery benchmark: lesson emails rendered, recorded and posted to a
loopback Postmark-style batch API, on SQLite and PostgreSQL, against the naive path.

Run on demand (not part of the test suite):

    python bench/delivery_bench.py                          # 100,000 emails, SQLite and PostgreSQL
    python bench/delivery_bench.py --emails 20000 --db sqlite --naive-sample 500
    python bench/delivery_bench.py --batch-size 2000 --provider-params '&concurrency=4'
    python bench/delivery_bench.py --database-url postgresql+psycopg://me@db.local/scratch --port 8025

What runs:
  - a fake Postmark API in a process of its own (so it does not share our GIL): a threaded
    HTTP server on 127.0.0.1 that checks the `X-Postmark-Server-Token` header, parses each
    `POST /email/batch` (a JSON array of up to 500 messages) or `POST /email` (one message)
    and answers one result per message (`{"ErrorCode": 0, "Message": "OK", "MessageID": ...,
    "To": ...}`) `--delay-ms` (default 20 ms) after the request arrived. Parsing is part of
    that time, but a 500-message batch is ~10 MB of JSON that Python takes ~15-30 ms to parse,
    so the mean answer time it reports can be above 20 ms; `--delay-after-parse` adds the
    whole delay after parsing instead (a slower API);
  - a store of `--emails` subscribers in four time zones, each enrolled in the shipped
    `glute-activation` course (copied with `templates/` to a temporary project) with
    lesson 1 due now, inserted in bulk;
  - the batched path: the real `Engine.tick()` with the real `postmark://` provider pointed
    at the fake API (`endpoint=`, `rate=0`: no client-side throttle on loopback; default
    concurrency 2), batch_size `--batch-size` (default: left unset, as users leave it, which
    for Postmark is 1,000, claimed as two claims of 500 so that one request is under way while
    the other claim's outcomes are stored),
    timed from the first claim to the last recorded result, in a fresh process so its peak
    memory (the kernel's high-water RSS of that process, VmHWM) is its own; tracemalloc's
    peak is taken on a separate, smaller tick (10,000) because tracing slows Python down;
  - the naive path in the same run, in a fresh process: per email one transaction (claim
    the next due enrolment, write its delivery, render, one `POST /email`, record, commit).
    At 20 ms a request it is measured on `--naive-sample` emails and extrapolated.

  - the floor, in the same run and a fresh process: one real 500-message batch body (the
    first 500 subscribers' lesson, composed and encoded once), posted to the same fake API
    again and again by as many threads as the provider's `concurrency`, until as many
    messages went as the batched run sent. Nothing is claimed, rendered, encoded or
    recorded: it is what the HTTP exchange and the fake API alone allow on this machine, now.
    The batched figure is printed as a share of it (targets: 50% on SQLite, 40% on
    PostgreSQL), so that it means the same on any machine.

Every email is checked: the tick must report all of them sent, and the fake API must have
received exactly that many messages. The load average is printed with each figure.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing as mp
import pstats
import resource
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
from benchlib import COURSE as SLUG
from benchlib import REPO, add_database_args, copy_course, load, machine, ratio, stores

sys.path.insert(0, str(REPO))

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)  # a Monday, inside 09:00-11:00 in every zone below
ZONES = ("UTC", "Europe/London", "Europe/Lisbon", "Atlantic/Reykjavik", None)  # None: the default (UTC)
TOKEN = "bench-server-token"
TRACED = 10_000  # emails in the tracemalloc tick


# -- the fake Postmark API, in its own process -----------------------------------------------------


def serve_postmark(port_out: Any, delay: float, delay_after_parse: bool = False, port: int = 0) -> None:
    """Serve until killed on `port` (0: any free one); sends the bound port through `port_out`
    (a multiprocessing Pipe end), or the error if it cannot bind."""
    lock = threading.Lock()
    stats: dict[str, float] = {"requests": 0, "messages": 0, "batch_requests": 0, "max_batch": 0,
                               "answer_ms": 0.0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as requests' pooled session expects
        # Headers and body go in two writes: without TCP_NODELAY the second waits for the
        # client's delayed ACK (40 ms), which no real API makes its callers pay.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = orjson.dumps(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            with lock:
                self._answer(200, dict(stats))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            arrived = time.perf_counter()
            if self.headers.get("X-Postmark-Server-Token") != TOKEN:
                self._answer(401, {"ErrorCode": 10, "Message": "Bad or missing server token"})
                return
            # orjson: the real API's parsing runs on its own machines, not on the two cores the
            # sender and the database share here (the json module took ~5 s of them per 100k)
            payload = orjson.loads(body)
            batch = self.path == "/email/batch"
            if batch and not (isinstance(payload, list) and 0 < len(payload) <= 500):
                self._answer(422, {"ErrorCode": 300, "Message": "a batch holds 1 to 500 messages"})
                return
            if not batch and (self.path != "/email" or not isinstance(payload, dict)):
                self._answer(404, {"ErrorCode": 404, "Message": "unknown path"})
                return
            messages = payload if batch else [payload]
            with lock:
                first = stats["messages"]
                stats["requests"] += 1
                stats["messages"] += len(messages)
                stats["batch_requests"] += batch
                stats["max_batch"] = max(stats["max_batch"], len(messages))
            results = [{"ErrorCode": 0, "Message": "OK", "MessageID": f"pm-{first + i:012d}",
                        "To": m["To"]} for i, m in enumerate(messages)]
            # The answer goes `delay` after the request arrived; reading it is part of that time,
            # unless it alone takes longer (a 500-message batch is ~10 MB of JSON to parse), or
            # with --delay-after-parse the whole delay comes on top of the parsing.
            time.sleep(delay if delay_after_parse else max(0.0, delay - (time.perf_counter() - arrived)))
            with lock:
                stats["answer_ms"] += (time.perf_counter() - arrived) * 1000
            self._answer(200, results if batch else results[0])

    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        port_out.send(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
        return
    server.daemon_threads = True
    port_out.send(server.server_address[1])
    server.serve_forever()


def server_stats(port: int) -> dict[str, float]:
    import requests

    stats: dict[str, float] = requests.get(f"http://127.0.0.1:{port}/stats", timeout=5).json()
    return stats


# -- the store ---------------------------------------------------------------------------------------


def fill(url: str, total: int) -> None:
    """`total` subscribers, every fifth without a name, all enrolled with lesson 1 due now."""
    import sqlalchemy as sa

    from sender.store import Store
    from sender.store.schema import campaigns, enrolments, subscribers

    chunk = 20_000
    store = Store(url)
    with store.begin() as conn:
        cid = conn.execute(campaigns.insert().values(slug=SLUG, title="Glutes", kind="course",
                                                     created_at=NOW)).inserted_primary_key[0]
    for start in range(0, total, chunk):
        ids = range(start + 1, min(start + chunk, total) + 1)
        with store.begin() as conn:
            conn.execute(subscribers.insert(), [
                {"id": i, "email": f"s{i}@example.com", "name": f"Reader {i}" if i % 5 else "",
                 "timezone": ZONES[i % len(ZONES)], "fields": {}, "tags": [], "status": "active",
                 "created_at": NOW, "updated_at": NOW} for i in ids])
            conn.execute(enrolments.insert(), [
                {"subscriber_id": i, "campaign_id": cid, "status": "active", "next_position": 1,
                 "enrolled_at": NOW, "next_due_at": NOW} for i in ids])
    if store.dialect == "postgresql":
        with store.begin() as conn:
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('subscribers', 'id'), "
                                 "(SELECT max(id) FROM subscribers))"))
            conn.execute(sa.text("ANALYZE"))
    store.close()


def make_due(store: Any, subscriber_ids: range) -> None:
    """Make these subscribers' next lesson due now again."""
    from sender.store.schema import enrolments

    with store.begin() as conn:
        conn.execute(enrolments.update().where(enrolments.c.subscriber_id >= subscriber_ids.start,
                                               enrolments.c.subscriber_id < subscriber_ids.stop,
                                               enrolments.c.status == "active")
                     .values(next_due_at=NOW))


def peak_rss_mib() -> float:
    """This process's high-water RSS. VmHWM is per address space, so it is not inflated by the
    parent a spawned child was forked from (ru_maxrss can be); ru_maxrss where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_engine(url: str, project: Path, port: int, batch_size: int | None, provider_params: str) -> Any:
    from sender.engine import Engine
    from sender.providers.postmark import PostmarkProvider
    from sender.schedule import SimulatedClock
    from sender.settings import load_settings
    from sender.store import Store

    settings = load_settings(project, environ={}).replace(database_url=url)
    if batch_size is not None:
        settings = settings.replace(batch_size=batch_size)
    provider = PostmarkProvider(f"postmark://?endpoint=http://127.0.0.1:{port}&rate=0{provider_params}",
                                environ={"POSTMARK_SERVER_TOKEN": TOKEN})
    provider.open()
    return Engine(settings, Store(url), provider, SimulatedClock(NOW))


# -- the two paths, each in a fresh process ----------------------------------------------------------


def batched_run(url: str, project: str, port: int, emails: int, batch_size: int | None, provider_params: str,
                profile: str | None) -> dict[str, Any]:
    engine = make_engine(url, Path(project), port, batch_size, provider_params)
    before = server_stats(port)
    # Where the time goes, by wrapping the engine's stages. A batch is handed over on a second
    # thread while the next is claimed and rendered (on PostgreSQL, two at once on two more
    # threads), so the stages overlap and add up to more than the elapsed time; "claim" is the
    # claiming work itself, not its wait for the batch before.
    spent = {"claim": 0.0, "render": 0.0, "post": 0.0, "record": 0.0}
    lock = threading.Lock()  # stages run on several threads at once

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                with lock:
                    spent[name] += time.perf_counter() - t
        return wrapper

    engine.store.claim_due = timed("claim", engine.store.claim_due)
    for stage in ("_claim", "_plan", "_write_claim"):  # the claim's own work (by version)
        if hasattr(engine, stage):
            setattr(engine, stage, timed("claim", getattr(engine, stage)))
    engine._render = timed("render", engine._render)
    engine._post = timed("post", engine._post)
    engine.store.record_results = timed("record", engine.store.record_results)
    profiler = cProfile.Profile() if profile else None
    t, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    report = engine.tick()
    if profiler:
        profiler.disable()
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    rss, stages = peak_rss_mib(), dict(spent)
    after = server_stats(port)
    received, requests = (after[k] - before[k] for k in ("messages", "requests"))
    assert report.sent == emails and not report.failed and not report.errors, report.summary()
    assert received == emails, f"the fake API received {received:,} messages, not {emails:,}"
    profile_text = ""
    if profiler and profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        profile_text = out.getvalue()
        profiler.dump_stats(profile)

    # tracemalloc's peak on a smaller tick: the last TRACED subscribers' lesson 2, due again.
    traced = min(TRACED, emails)
    make_due(engine.store, range(emails - traced + 1, emails + 1))
    tracemalloc.start()
    traced_report = engine.tick()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert traced_report.sent == traced, traced_report.summary()
    engine.provider.close()
    engine.store.close()
    return {"elapsed": elapsed, "rate": emails / elapsed, "cpu_us": cpu / emails * 1e6, "rss_mib": rss,
            "spent": stages,
            "requests": requests, "answer_ms": (after["answer_ms"] - before["answer_ms"]) / requests,
            "traced": traced, "traced_mib": traced_peak / 2**20, "profile": profile_text}


def naive_run(url: str, project: str, port: int, sample: int) -> dict[str, Any]:
    """One transaction per email, with the HTTP request inside it: claim the next due enrolment,
    write its delivery, render and compose, `POST /email`, record the result, commit."""
    import requests
    import sqlalchemy as sa

    from sender.messages import compose
    from sender.store.schema import deliveries, enrolments, subscribers

    engine = make_engine(url, Path(project), port, 1, "")
    store, provider = engine.store, engine.provider
    campaign = engine.read(SLUG)
    make_due(store, range(1, sample + 1))
    session = requests.Session()
    headers = {**provider.auth_headers(), "Content-Type": "application/json"}
    endpoint = provider.options.endpoint + "/email"
    sent = 0
    t = time.perf_counter()
    for _ in range(sample):
        with store.begin() as conn:
            row = conn.execute(sa.select(enrolments).where(enrolments.c.status == "active",
                                                           enrolments.c.next_due_at <= NOW)
                               .order_by(enrolments.c.next_due_at, enrolments.c.id).limit(1)).first()
            if row is None:
                break
            sub = conn.execute(sa.select(subscribers).where(subscribers.c.id == row.subscriber_id)).one()
            lesson = campaign.lesson(row.next_position)
            assert lesson is not None
            delivery_id = conn.execute(deliveries.insert().values(
                subscriber_id=sub.id, campaign_id=row.campaign_id, lesson_key=lesson.key,
                position=lesson.position, status="sending", claimed_at=NOW, scheduled_at=row.next_due_at,
            )).inserted_primary_key[0]
            conn.execute(enrolments.update().where(enrolments.c.id == row.id).values(
                next_position=row.next_position + 1, next_due_at=NOW + timedelta(days=2)))
            message = compose(settings=engine.settings, renderer=engine.renderer,
                              compiled=engine.renderer.compile(campaign, lesson), subscriber=sub,
                              signing_key=engine.signing_key, now=NOW,
                              delivery_key=f"delivery:{delivery_id}", delivery_id=delivery_id)
            body = provider.build_request([message]).body  # the provider's own encoding, as one object
            answer = session.post(endpoint, data=body[1:-1], headers=headers, timeout=30)
            answer.raise_for_status()
            result = answer.json()
            assert result["ErrorCode"] == 0, result
            conn.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(
                status="sent", sent_at=NOW, provider_message_id=result["MessageID"],
                message_id=message.message_id))
        sent += 1
    elapsed = time.perf_counter() - t
    session.close()
    provider.close()
    store.close()
    assert sent == sample, f"naive path sent {sent} of {sample}"
    return {"sent": sent, "elapsed": elapsed, "rate": sent / elapsed}


def floor_run(url: str, project: str, port: int, emails: int, provider_params: str) -> dict[str, Any]:
    """A pre-encoded 500-message batch posted in a loop by `concurrency` threads (the
    provider's own), until `emails` messages went: the most the HTTP exchange with this fake
    API allows, with none of our work around it."""
    from concurrent.futures import ThreadPoolExecutor

    import requests
    import sqlalchemy as sa

    from sender.messages import compose
    from sender.store.schema import subscribers

    engine = make_engine(url, Path(project), port, 500, provider_params)
    store, provider = engine.store, engine.provider
    campaign = engine.read(SLUG)
    lesson = campaign.lessons[0]
    compiled = engine.renderer.compile(campaign, lesson)
    with store.engine.connect() as conn:
        people = conn.execute(sa.select(subscribers).order_by(subscribers.c.id).limit(500)).all()
    messages = [compose(settings=engine.settings, renderer=engine.renderer, compiled=compiled, subscriber=s,
                        signing_key=engine.signing_key, now=NOW, delivery_key=f"floor:{s.id}",
                        delivery_id=s.id) for s in people]
    body = provider.build_request(messages).body
    assert body is not None
    headers = {**provider.auth_headers(), "Content-Type": "application/json"}
    endpoint = provider.options.endpoint + "/email/batch"
    threads = provider.options.concurrency
    requests_needed = -(-emails // len(messages))
    before = server_stats(port)
    sessions = [requests.Session() for _ in range(threads)]

    def post(worker: int) -> int:
        sent = 0
        for _ in range(worker, requests_needed, threads):
            answer = sessions[worker].post(endpoint, data=body, headers=headers, timeout=60)
            answer.raise_for_status()
            sent += len(messages)
        return sent

    t = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        sent = sum(pool.map(post, range(threads)))
    elapsed = time.perf_counter() - t
    received = server_stats(port)["messages"] - before["messages"]
    assert received == sent, f"the fake API received {received:,} messages, not {sent:,}"
    for session in sessions:
        session.close()
    provider.close()
    store.close()
    return {"sent": sent, "elapsed": elapsed, "rate": sent / elapsed, "threads": threads,
            "body_mib": len(body) / 2**20}


def in_fresh_process(fn: Any, *args: Any) -> Any:
    """Run fn(*args) in a new interpreter, so its peak memory and import state are its own."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# -- orchestration -----------------------------------------------------------------------------------


FLOOR_TARGET = {"sqlite": 0.5, "postgres": 0.4}  # end to end, as a share of the floor


def run(url: str, label: str, args: argparse.Namespace, project: Path, port: int) -> dict[str, Any]:
    t = time.perf_counter()
    fill(url, args.emails)
    print(f"[{label}] filled {args.emails:,} subscribers, each with lesson 1 due now, "
          f"in {time.perf_counter() - t:.1f} s", flush=True)
    profile = f"{args.profile}-{label}.pstats" if args.profile else None
    # The floor before and after the batched run, so that a change of load meanwhile shows
    # (and their mean is the yardstick).
    floors = [in_fresh_process(floor_run, url, str(project), port, args.emails, args.provider_params)]
    batched = in_fresh_process(batched_run, url, str(project), port, args.emails, args.batch_size,
                               args.provider_params, profile)
    floors.append(in_fresh_process(floor_run, url, str(project), port, args.emails, args.provider_params))
    floor = {**floors[0], "rate": statistics.mean(f["rate"] for f in floors)}
    target = FLOOR_TARGET[label]
    share = batched["rate"] / floor["rate"]
    spent = batched["spent"]
    print(f"[{label}] floor: a pre-encoded {floor['body_mib']:.1f} MiB body of 500 messages posted in a loop "
          f"by {floor['threads']} threads: {floors[0]['rate']:,.0f} and {floors[1]['rate']:,.0f} emails/s "
          f"(before and after the batched run), mean {floor['rate']:,.0f}/s")
    print(f"[{label}] batched: {args.emails:,} emails claimed, rendered, posted and recorded in "
          f"{batched['elapsed']:.1f} s = {batched['rate']:,.0f} emails/s end to end, "
          f"{ratio(batched['rate'], floor['rate'])} of the floor "
          f"({'meets' if share >= target else 'MISSES'} the {target:.0%} target); load average {load()}")
    print(f"[{label}]   where the time went (stages overlap, on threads of their own): claiming "
          f"{spent['claim']:.1f} s, rendering {spent['render']:.1f} s, handing over "
          f"{spent['post']:.1f} s, recording {spent['record']:.1f} s; "
          f"{batched['requests']:,.0f} requests, answered in {batched['answer_ms']:.0f} ms on average; "
          f"CPU of the sending process (all threads) {batched['cpu_us']:.0f} us an email")
    print(f"[{label}]   peak memory: {batched['rss_mib']:.0f} MiB RSS (VmHWM of the sending process, "
          f"target < 300 MB); tracemalloc peak of a {batched['traced']:,}-email tick "
          f"{batched['traced_mib']:.1f} MiB", flush=True)
    if batched["profile"]:
        print(batched["profile"])
    naive: dict[str, Any] | None = None
    if args.naive_sample:
        naive = in_fresh_process(naive_run, url, str(project), port, args.naive_sample)
        projected = args.emails / naive["rate"]
        print(f"[{label}] naive (one POST /email and one commit per email): measured on "
              f"{naive['sent']:,} emails, {naive['rate']:,.0f} emails/s; extrapolated, {args.emails:,} would "
              f"take {projected / 60:,.1f} min; batched is {batched['rate'] / naive['rate']:,.0f}x faster",
              flush=True)
    return {"label": label, "batched": batched, "naive": naive, "floor": floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=100_000, help="emails in the batched run")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--naive-sample", type=int, default=2_000,
                        help="emails the naive path sends (extrapolated to --emails); 0 to skip it")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="the engine's batch_size setting (default: unset, the engine's own choice)")
    parser.add_argument("--delay-ms", type=float, default=20.0,
                        help="the fake API answers this long after a request arrived (parsing included)")
    parser.add_argument("--delay-after-parse", action="store_true",
                        help="the fake API waits --delay-ms after parsing a request instead (slower answers)")
    parser.add_argument("--provider-params", default="",
                        help="more postmark:// URL parameters, e.g. '&concurrency=4'")
    parser.add_argument("--port", type=int, default=0,
                        help="the port the fake API listens on, on 127.0.0.1 (default: any free one)")
    add_database_args(parser)
    parser.add_argument("--profile", metavar="PREFIX",
                        help="cProfile the batched tick: print the top functions, save PREFIX-<db>.pstats")
    args = parser.parse_args()
    if args.emails < 1:
        parser.error("--emails must be at least 1")
    args.naive_sample = min(args.naive_sample, args.emails)

    receiver, sender = mp.get_context("spawn").Pipe(duplex=False)
    server = mp.get_context("spawn").Process(
        target=serve_postmark, args=(sender, args.delay_ms / 1000, args.delay_after_parse, args.port),
        daemon=True)
    server.start()
    port = receiver.recv()
    if isinstance(port, str):  # could not bind
        server.join()
        raise SystemExit(f"--port: {port}")
    when = "after parsing it" if args.delay_after_parse else "after it arrived"
    print(machine())
    print(f"fake Postmark API on 127.0.0.1:{port} (pid {server.pid}), answering {args.delay_ms:g} ms {when}",
          flush=True)
    results = []
    wanted = {"sqlite", "postgresql"} if args.db == "both" else {
        "postgresql" if args.db == "postgres" else "sqlite"}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            project = copy_course(Path(tmp) / "project")
            for dialect, where in stores(args.database_url, wanted, Path(tmp), "delivery_bench"):
                with where as url:
                    label = "postgres" if dialect == "postgresql" else "sqlite"
                    results.append(run(url, label, args, project, port))
    finally:
        server.kill()
        server.join()
    print(f"\nsummary (emails/s end to end, and as a share of the floor; peak RSS of the sending process); "
          f"load average {load()}:")
    for r in results:
        b, n, f = r["batched"], r["naive"], r["floor"]
        naive = f"naive {n['rate']:,.0f}/s ({n['sent']:,} sent), {b['rate'] / n['rate']:,.0f}x" if n else ""
        print(f"  {r['label']:<9} batched {b['rate']:>7,.0f}/s = {ratio(b['rate'], f['rate']):>4} of the "
              f"floor {f['rate']:,.0f}/s  {b['rss_mib']:>5.0f} MiB  {naive}")


if __name__ == "__main__":
    main()
