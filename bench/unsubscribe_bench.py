"""One-click unsubscribe latency on SQLite while `drip serve` sends a course, against the same
requests on the idle service, in one run.

Run on demand (not part of the test suite):

    python bench/unsubscribe_bench.py                      # 15,000 lessons, 4 clients
    python bench/unsubscribe_bench.py --code /tmp/old-checkout   # another checkout's sender/

What runs: the fake Postmark API of `delivery_bench.py` in a process of its own (20 ms an
answer); a SQLite store of `--emails` subscribers enrolled in the shipped course; `drip serve`
(web app and ticks in one process, as users run it) from `--code`; and `--clients` threads
posting RFC 8058 one-click unsubscribes (`POST /unsubscribe/<token>`, body
`List-Unsubscribe=One-Click`) for distinct subscribers, first while nothing is due (the
baseline), then from the moment the lessons come due until the send is over. It prints
p50/p99/max of each phase and their ratio.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from benchlib import COURSE as SLUG
from benchlib import REPO, copy_course
from delivery_bench import TOKEN, fill, serve_postmark, server_stats

SIGNING_KEY = "bench-signing-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def hammer(base: str, ids: list[int], clients: int, until: threading.Event | None) -> list[float]:
    """POST one-click unsubscribes for `ids` from `clients` threads; seconds each took. Stops
    at `until` if given (the send is over), else when `ids` are used up."""
    from sender.tokens import sign

    latencies: list[float] = []
    lock = threading.Lock()
    todo = iter(ids)

    def client() -> None:
        session = requests.Session()
        while until is None or not until.is_set():
            with lock:
                sid = next(todo, None)
            if sid is None:
                return
            token = sign(f"{sid}:{SLUG}", SIGNING_KEY, "unsubscribe")
            started = time.perf_counter()
            answer = session.post(f"{base}/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"},
                                  timeout=60)
            took = time.perf_counter() - started
            if answer.status_code != 200:
                raise SystemExit(f"unsubscribe answered {answer.status_code}: {answer.text[:200]}")
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=15_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--baseline-requests", type=int, default=400)
    parser.add_argument("--code", type=Path, default=REPO, help="checkout whose sender/ `drip serve` runs")
    args = parser.parse_args()

    receive, send = mp.Pipe(duplex=False)
    api = mp.Process(target=serve_postmark, args=(send, 0.02), daemon=True)
    api.start()
    api_port = receive.recv()
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_course(Path(tmp))
        url = f"sqlite:///{project / 'bench.db'}"
        fill(url, args.emails)
        from sender.store import Store
        from sender.store.schema import enrolments

        with Store(url) as store, store.begin() as conn:  # nothing due yet: the idle baseline first
            conn.execute(enrolments.update().values(next_due_at=datetime(2100, 1, 1, tzinfo=UTC)))
        listen = f"127.0.0.1:{free_port()}"
        (project / "dripcourse.toml").write_text(
            f'database_url = "{url}"\nlisten = "{listen}"\ntick_seconds = 1\n'
            'send_window = "00:00-24:00"\nsend_weekdays = "all"\nbatch_size = 500\n'
            'base_url = "https://learn.bimkinesiology.ca"\n'
            'from_address = "BIM Kinesiology <coach@bimkinesiology.ca>"\n'
            'reply_to = "coach@bimkinesiology.ca"\n'
            'postal_address = "BIM Kinesiology, 2150 Main Street, Vancouver BC V5T 3C8, Canada"\n'
            f'provider = "postmark://?rate=0&endpoint=http://127.0.0.1:{api_port}"\n')
        env = {**os.environ, "POSTMARK_SERVER_TOKEN": TOKEN, "DRIP_SIGNING_KEY": SIGNING_KEY,
               "PYTHONPATH": str(args.code)}
        serve = subprocess.Popen([sys.executable, "-m", "sender.cli", "serve"], cwd=project, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        base = f"http://{listen}"
        try:
            for _ in range(300):
                try:
                    requests.get(f"{base}/subscribe/{SLUG}", timeout=2)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            idle = hammer(base, list(range(1, args.baseline_requests + 1)), args.clients, None)

            with Store(url) as store, store.begin() as conn:  # every lesson due now
                conn.execute(enrolments.update().where(enrolments.c.status == "active")
                             .values(next_due_at=datetime.now(UTC) - timedelta(minutes=1)))
            due = args.emails - args.baseline_requests
            over = threading.Event()

            def watch() -> None:
                # the last few may be ones unsubscribed during the send
                while server_stats(api_port)["messages"] < due * 0.98:
                    time.sleep(0.2)
                over.set()

            watcher = threading.Thread(target=watch, daemon=True)
            started = time.perf_counter()
            watcher.start()
            busy = hammer(base, list(range(args.baseline_requests + 1, args.emails + 1)), args.clients, over)
            watcher.join(timeout=600)
            send_seconds = time.perf_counter() - started
        finally:
            serve.terminate()
            serve.wait(timeout=90)
        sent = int(server_stats(api_port)["messages"])
    api.kill()
    print(f"code: {args.code}")
    print(f"idle:       {len(idle):5d} one-click unsubscribes  p50 {percentile(idle, 0.5) * 1000:6.0f} ms  "
          f"p99 {percentile(idle, 0.99) * 1000:6.0f} ms  max {max(idle) * 1000:6.0f} ms")
    print(f"during send:{len(busy):5d} one-click unsubscribes  p50 {percentile(busy, 0.5) * 1000:6.0f} ms  "
          f"p99 {percentile(busy, 0.99) * 1000:6.0f} ms  max {max(busy) * 1000:6.0f} ms  "
          f"({sent:,} lessons sent in {send_seconds:.1f} s; target p99 < 500 ms)")
    print(f"ratio p99 during send / idle: {percentile(busy, 0.99) / percentile(idle, 0.99):.1f}x")


if __name__ == "__main__":
    main()
