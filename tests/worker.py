"""A drip worker in its own process, for the concurrency and crash tests.

Usage: python tests/worker.py DB_URL PROJECT_DIR RESULT_FILE [--hang-on-batch N] [--start-when FILE]
Ticks until nothing is due, then writes the delivery ids it sent (one per line).
With --hang-on-batch N it stops forever inside the provider call of its Nth
batch, after the deliveries were claimed, so a test can SIGKILL it there.
With --start-when FILE it writes RESULT_FILE.ready once it is set up, then waits for
FILE to exist before ticking: workers started together then send together, however
long each took to start on a busy machine.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sender.engine import Engine
from sender.providers.base import OutgoingMessage, SendResult
from sender.providers.memory import MemoryProvider
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store


class RecordingProvider(MemoryProvider):
    def __init__(self, url: str, result_file: Path, hang_on_batch: int | None) -> None:
        super().__init__(url)
        self.result_file = result_file
        self.hang_on_batch = hang_on_batch
        self.batches = 0

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        self.batches += 1
        if self.batches == self.hang_on_batch:
            self.result_file.with_suffix(".hanging").write_text("x")
            time.sleep(3600)
        # Append and flush before reporting success, as a provider accepting mail would.
        with self.result_file.open("a") as out:
            out.writelines(f"{m.delivery_id}\n" for m in messages)
        return super().send_messages(messages)


def main(argv: list[str]) -> None:
    db_url, project, result_file = argv[0], Path(argv[1]), Path(argv[2])
    options = dict(zip(argv[3::2], argv[4::2], strict=True))
    hang = int(options["--hang-on-batch"]) if "--hang-on-batch" in options else None
    settings = load_settings(project, environ={}).replace(database_url=db_url, batch_size=200)
    clock = SimulatedClock(datetime.fromisoformat((project / "now.txt").read_text().strip()))
    provider = RecordingProvider(f"memory://{result_file}", result_file, hang)
    engine = Engine(settings, Store(db_url), provider, clock)
    if "--start-when" in options:
        result_file.with_suffix(".ready").write_text("x")
        go, deadline = Path(options["--start-when"]), time.monotonic() + 600
        while not go.exists():
            if time.monotonic() > deadline:  # the test is gone: do not linger
                sys.exit(f"{go} never appeared")
            time.sleep(0.01)
    report = engine.tick()
    print(f"sent {report.sent} skipped-deferred {report.deferred} at {datetime.now(UTC)}")


if __name__ == "__main__":
    main(sys.argv[1:])
