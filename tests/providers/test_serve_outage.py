"""A provider that is down for a while under a real `drip serve`: nothing is marked sent,
the campaign pauses and says why, and once the provider is back the service finishes
the job by itself, each lesson delivered once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender.store import Store
from tests.conftest import DEADLINE, wait_until
from tests.providers.conftest import FAKE_APIS, free_port
from tests.test_cli import drip

POSTMARK = FAKE_APIS["postmark"]


class Serving:
    """A running `drip serve` whose stdout (a line per tick) and stderr are read as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [threading.Thread(target=lines.extend, args=(stream,), daemon=True)
                        for lines, stream in ((self.out, proc.stdout), (self.err, proc.stderr))]
        for reader in self.readers:
            reader.start()

    def ticks(self) -> int:
        return sum(1 for line in self.out if line.startswith("sent "))  # TickReport.summary()

    def wait_for(self, what: str, check: Callable[[], bool]) -> None:
        if not wait_until(lambda: check() or self.proc.poll() is not None) or not check():
            out, err = self.stop()
            raise AssertionError(f"gave up waiting for {what}\n{out}\n{err}")

    def stop(self) -> tuple[str, str]:
        """Ctrl+C; the whole of stdout and stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=DEADLINE)
        for reader in self.readers:
            reader.join(DEADLINE)
        return "".join(self.out), "".join(self.err)


def test_outage_pauses_then_serve_finishes_with_no_duplicates(project: Path, httpserver: HTTPServer) -> None:
    down = True
    delivered: list[str] = []

    def postmark(req: Request) -> Response:
        if down:
            return Response('{"ErrorCode": 500, "Message": "down"}', 503, content_type="application/json")
        assert req.headers["X-Postmark-Server-Token"] == "test-token"
        delivered.extend(m["To"] for m in req.get_json())
        return POSTMARK.answer(req, len(delivered))

    httpserver.expect_request("/email/batch", method="POST").respond_with_handler(postmark)
    (project / "dripcourse.toml").write_text(
        'send_window = "00:00-24:00"\ntick_seconds = 1\nbatch_size = 2\nprovider_rest_seconds = 2\n'
        f'provider = "postmark://?rate=0&attempts=1&endpoint=http://127.0.0.1:{httpserver.port}"\n'
        f'listen = "127.0.0.1:{free_port()}"\n'
        # The project's own addresses: a real provider refuses the shipped samples.
        'base_url = "https://learn.bimkinesiology.ca"\n'
        'from_address = "BIM Kinesiology <coach@bimkinesiology.ca>"\n'
        'postal_address = "BIM Kinesiology, 2150 Main Street, Vancouver BC V5T 3C8, Canada"\n')
    for i in range(6):
        assert drip("subscribers", "add", f"p{i}@example.com", cwd=project).returncode == 0
    assert drip("enrol", "mini", cwd=project).returncode == 0

    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}
    env["POSTMARK_SERVER_TOKEN"] = "test-token"
    env["PYTHONUNBUFFERED"] = "1"  # each tick's line as it is printed
    serving = Serving(subprocess.Popen([sys.executable, "-m", "sender.cli", "serve"], cwd=project, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    store = Store(f"sqlite:///{project / 'dripcourse.db'}")
    try:
        def paused() -> bool:
            return any(c["status"] == "paused" for c in store.campaign_summary())

        serving.wait_for("the campaign to pause", paused)
        [campaign] = store.campaign_summary()
        assert campaign["paused_reason"].startswith("provider postmark failed 3 batches in a row")
        assert "sent" not in campaign["deliveries"] and delivered == []

        down = False
        serving.wait_for("every first lesson to be sent",
                         lambda: store.campaign_summary()[0]["deliveries"].get("sent", 0) == 6)
        # Two more ticks (the one that sent may not have printed its line yet): nothing more goes.
        ticks = serving.ticks()
        serving.wait_for("two more ticks", lambda: serving.ticks() >= ticks + 3)
    finally:
        out, err = serving.stop()
        store.close()
    assert serving.proc.returncode == 0, err
    assert sorted(delivered) == [f"p{i}@example.com" for i in range(6)]  # each once, none lost
    assert "trying again after a provider pause: mini" in out
