"""Sending: `drip tick` once, `drip serve` (and its workers) on the clock, stopping cleanly."""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Annotated, Any

import typer

from sender.cli.base import app, console, engine, listening


@app.command()
def tick(
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Say who would get which lesson now; send nothing.")] = False,
) -> None:
    """Send every lesson that is due now; exits 1 if anything failed, was held or paused."""
    if dry_run:
        due, waiting = engine().due_now()
        console().print(f"would send {len(due):,} lesson(s) now"
                        + (f"; {waiting:,} more are due but wait for their send window" if waiting else "")
                        + "; dry run: nothing sent")
        for email, slug, lesson in due[:20]:
            console().print(f"  {email}: {slug}/{lesson}")
        if len(due) > 20:
            console().print(f"  and {len(due) - 20:,} more")
        return
    eng = engine(sending=True)
    _expected_duration(eng)
    with _stopping_cleanly(eng, unwind=False):  # the tick runs here: let it wind down itself
        report = eng.tick()
    _print_tick(report)
    if report.problems:  # cron and CI users notice
        raise typer.Exit(1)


def _expected_duration(eng: Any) -> None:
    """Before a send long enough to wonder about (half a minute or more at the provider's
    pace), say how long it will take: "25,000 emails at 200/s: about 2 minutes"."""
    from sender.providers.pace import sending_limits
    from sender.readiness import is_test_backend
    from sender.store.reports import due_lesson_count

    limits = sending_limits(eng.provider)  # the provider the tick sends through
    if not limits or not limits["per_second"] or is_test_backend(eng.settings.provider):
        return
    due = due_lesson_count(eng.store, eng.clock())
    seconds = due / limits["per_second"]
    if seconds >= 30:
        about = (f"{seconds / 3600:.1f} hours" if seconds >= 5400 else
                 f"{max(1, round(seconds / 60))} minutes" if seconds >= 90 else f"{round(seconds)} seconds")
        console().print(f"{due:,} emails at {limits['per_second']:g}/s: about {about} "
                        "(the provider's pace; see drip settings)", highlight=False)


def _print_tick(report: Any) -> None:
    console().print(report.summary())
    for error in report.errors[:20]:
        print(f"failed: {error}", file=sys.stderr)


@contextlib.contextmanager
def _stopping_cleanly(eng: Any, *, unwind: bool = True) -> Any:
    """On SIGINT or SIGTERM (Ctrl+C, systemd, `docker stop`): stop claiming, let the batch with
    the provider finish and record its outcome, roll open claims back, and go on from the
    `with` (which then exits 0). With `unwind`, the main thread's wait (the scheduler's or the
    web server's; never a tick's, which must not be cut between a claim and its send) is
    interrupted. A second signal exits at once."""
    import os
    import signal

    def handler(signum: int, frame: Any) -> None:
        if eng.stopping.is_set():
            print("stopping at once", file=sys.stderr)
            os._exit(1)
        eng.stop()
        print(f"{signal.Signals(signum).name}: finishing the batch with the provider, then stopping "
              "(again to stop at once)", file=sys.stderr)
        if unwind:
            raise KeyboardInterrupt

    before = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)


@app.command()
def serve(
    worker: Annotated[bool, typer.Option(
        "--worker", help="Only send, no web app: run several beside one `drip serve` (PostgreSQL).")] = False,
) -> None:
    """Run in the foreground: send what is due every `tick_seconds` and serve the web app
    (subscribe, confirm and unsubscribe pages, webhooks) on `listen`."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    eng = engine(sending=True)
    scheduler = BlockingScheduler(timezone="UTC") if worker else BackgroundScheduler(timezone="UTC")
    ticking = threading.Lock()  # held by the tick under way, which a stop waits for

    def run_tick() -> None:
        with ticking:
            if not eng.stopping.is_set():
                _print_tick(eng.tick())

    # The store decides what is due; APScheduler only wakes us up (its job
    # store can't be shared between processes, so it holds no state here). However late
    # start-up runs, the first tick is not skipped as "missed".
    scheduler.add_job(run_tick, "interval", seconds=eng.settings.tick_seconds, max_instances=1,
                      coalesce=True, misfire_grace_time=None, next_run_time=eng.clock())
    with contextlib.suppress(KeyboardInterrupt, SystemExit), _stopping_cleanly(eng), \
            _after_the_tick(scheduler, ticking):
        if worker:
            console().print(f"worker: ticking every {eng.settings.tick_seconds}s; Ctrl+C to stop")
            scheduler.start()
            return
        from sender.web import create_app

        host, _, port = eng.settings.listen.rpartition(":")
        # Listening before the first tick: a page asked for as soon as mail goes out must answer.
        server = listening(create_app(eng), host or "127.0.0.1", int(port), threads=8,
                            in_use=f"{eng.settings.listen} is in use; set listen in dripcourse.toml, "
                                   "or run drip --set listen=HOST:PORT serve")
        scheduler.start()
        console().print(f"serving http://{eng.settings.listen}, ticking every {eng.settings.tick_seconds}s; "
                        "Ctrl+C to stop")
        server.run()


SHUTDOWN_GRACE_SECONDS = 60  # a batch with the provider: one request's timeout and more


@contextlib.contextmanager
def _after_the_tick(scheduler: Any, ticking: threading.Lock) -> Any:
    """Leaving `serve`: start no tick, and wait for the one under way to record what it sent;
    one that does not finish in SHUTDOWN_GRACE_SECONDS is abandoned (exit 1)."""
    import os

    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # not started, or already stopped
            scheduler.shutdown(wait=False)
        if not ticking.acquire(timeout=SHUTDOWN_GRACE_SECONDS):
            print(f"a tick is still running after {SHUTDOWN_GRACE_SECONDS} s; stopping without it",
                  file=sys.stderr)
            os._exit(1)
