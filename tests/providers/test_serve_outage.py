"""A provider that is down for a while under a real `drip serve`: nothing is marked sent,
the campaign pauses and says why, and once the provider is back the service finishes
the job by itself, each lesson delivered once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender.store import Store
from tests.providers.conftest import FAKE_APIS, free_port
from tests.test_cli import drip

POSTMARK = FAKE_APIS["postmark"]


def _wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
            raise AssertionError(f"gave up waiting for {what}\n{out}\n{err}")
        time.sleep(0.2)


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
    proc = subprocess.Popen([sys.executable, "-m", "sender.cli", "serve"], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = Store(f"sqlite:///{project / 'dripcourse.db'}")
    try:
        def paused() -> bool:
            return any(c["status"] == "paused" for c in store.campaign_summary())

        _wait_for("the campaign to pause", paused, proc)
        [campaign] = store.campaign_summary()
        assert campaign["paused_reason"].startswith("provider postmark failed 3 batches in a row")
        assert "sent" not in campaign["deliveries"] and delivered == []

        down = False
        _wait_for("every first lesson to be sent",
                  lambda: store.campaign_summary()[0]["deliveries"].get("sent", 0) == 6, proc)
        time.sleep(2.5)  # a few more ticks: nothing more may go out
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        store.close()
    assert proc.returncode == 0, err
    assert sorted(delivered) == [f"p{i}@example.com" for i in range(6)]  # each once, none lost
    assert "trying again after a provider pause: mini" in out
