"""A provider that took a batch but whose answer was lost or unreadable: the lessons are
never sent again blindly. They stay 'sending' (unknown outcome, as after a crash) until the
provider's own events settle them; nobody gets a message twice."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from sender.providers.postmark import PostmarkProvider
from sender.store.schema import deliveries
from sender.subscribers import add_subscriber
from tests.providers.conftest import ENV
from tests.test_engine import make_engine

PEOPLE = 120
BATCH = 20


class FakePostmark(ThreadingHTTPServer):
    """Postmark's batch API on 127.0.0.1 that takes every message it is given and, on every
    `every`th request, loses or garbles its answer the way `mode` says ("slow": answers well,
    after a second)."""

    def __init__(self, mode: str, every: int = 3) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.every = every
        self.accepted: Counter[str] = Counter()  # recipient -> messages taken
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakePostmark

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.path == "/email/batch"
        assert self.headers["X-Postmark-Server-Token"] == ENV["POSTMARK_SERVER_TOKEN"]
        batch = json.loads(body)
        assert isinstance(batch, list)
        assert all({"From", "To", "Subject", "HtmlBody"} <= m.keys() for m in batch)
        with self.server.lock:
            self.server.requests += 1
            faulty = self.server.requests % self.server.every == 0
            self.server.accepted.update(m["To"] for m in batch)  # taken, whatever is answered
        results = [{"ErrorCode": 0, "Message": "OK", "MessageID": f"pm-{self.server.requests}-{i}",
                    "To": m["To"]} for i, m in enumerate(batch)]
        mode = self.server.mode if faulty else "ok"
        if mode == "drop":  # the connection goes before any answer
            self.close_connection = True
            self.connection.close()
            return
        if mode in ("late", "slow"):
            time.sleep(1.0)  # "late": the client gave up after 0.3 s
        text = "<html>Service temporarily overloaded</html>" if mode == "not json" else json.dumps(
            results[: len(results) // 2] if mode == "short" else results)
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if mode != "not json" else "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(params=["late", "drop", "not json", "short"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakePostmark]:
    server = FakePostmark(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_lost_or_garbled_answer_never_sends_a_lesson_twice(project: Path, db_url: str,
                                                             fake: FakePostmark) -> None:
    provider = PostmarkProvider(f"postmark://?rate=0&concurrency=1&timeout=0.3&endpoint={fake.url}",
                                environ=ENV)
    with provider:
        engine, clock = make_engine(project, db_url, provider)
        engine.settings = engine.settings.replace(batch_size=BATCH)
        for i in range(PEOPLE):
            add_subscriber(engine.store, f"p{i}@example.com", now=clock(), timezone="UTC")
        engine.enrol("mini")
        clock.advance_to(engine.store.next_due_at())
        report = engine.tick()
        # Lesson 1 is not due again for anyone: whatever happens, nothing more goes now.
        clock.advance_to(clock() + timedelta(minutes=20))
        engine.tick()
    assert sum(fake.accepted.values()) == PEOPLE and max(fake.accepted.values()) == 1  # none twice
    with engine.store.engine.connect() as conn:
        rows = conn.execute(sa.select(deliveries.c.id, deliveries.c.status)).all()
    status = Counter(r.status for r in rows)
    assert status["sent"] + status["sending"] == PEOPLE
    assert status["sending"] == report.unknown > 0 and report.problems
    unknown = [r.id for r in rows if r.status == "sending"]

    # The provider's delivery webhooks name our delivery ids: they settle each one.
    engine.store.record_webhook_events([
        {"provider": "postmark", "type": "delivered", "email": "", "at": clock(), "external_id": f"d{d}",
         "provider_message_id": None, "delivery_id": d, "permanent": False, "data": {}} for d in unknown],
        clock())
    with engine.store.engine.connect() as conn:
        settled = Counter(conn.execute(sa.select(deliveries.c.status)).scalars())
    assert settled == {"sent": PEOPLE}
