"""A batch goes as one claim per request the provider runs at once (`claims_in_flight`): the
next claim is written and handed over while an earlier one is still with the provider, and
never more than one batch is in 'sending' (what a crash could leave of unknown outcome)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender.engine import Engine
from sender.providers import get_provider
from sender.providers.pace import claims_in_flight
from sender.providers.postmark import PostmarkProvider
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store
from sender.store.schema import deliveries
from sender.subscribers import add_subscriber
from tests.conftest import DEADLINE
from tests.providers.conftest import ENV, FAKE_APIS, endpoint_url

START = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
POSTMARK = FAKE_APIS["postmark"]


class TwoARequest(PostmarkProvider):
    batch_limit = 2  # Postmark's 500, made small: a batch of 4 is two requests


@pytest.mark.parametrize(("url", "batch_size", "claims"), [
    ("postmark://", 1000, 2),  # 500 a request, 2 at once
    ("postmark://?concurrency=4", 1000, 2),  # the batch fills only two of the four
    ("postmark://?concurrency=1", 1000, 1),
    ("postmark://", 300, 1),  # less than a request: one claim
    ("sendgrid://", 1000, 1),  # 1,000 a request
    ("memory://", 500, 1),
])
def test_a_batch_is_split_by_the_requests_the_provider_runs_at_once(
        url: str, batch_size: int, claims: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    assert claims_in_flight(get_provider(url, project_dir=tmp_path), batch_size) == claims


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", threaded=True)  # a held request must not hold the others
    server.start()
    yield server
    server.clear()
    server.stop()


def test_the_next_claim_goes_while_an_earlier_one_is_with_the_provider(
        project: Path, db_url: str, server: HTTPServer) -> None:
    """The second claim's request (deliveries 3 and 4) is answered only once a request of a
    third claim has arrived: that claim was written, committed and handed over while the
    second was still with the provider. With one claim per batch the third could not start
    before both requests were answered."""
    settings = load_settings(project, environ={}).replace(database_url=db_url, batch_size=4)
    store = Store(db_url)
    for n in range(10):
        add_subscriber(store, f"r{n}@example.com", now=START, name=f"R{n}")
    provider = TwoARequest(endpoint_url(POSTMARK, server, concurrency=2), environ=ENV)
    engine = Engine(settings, store, provider, SimulatedClock(START))
    assert engine.enrol("mini") == 10
    due = store.next_due_at()
    assert due is not None and isinstance(engine.clock, SimulatedClock)
    engine.clock.advance_to(due)

    watcher = sa.create_engine(db_url)  # what a crash would leave, read at each request
    sending_at_arrival: list[int] = []
    later_claim_arrived = threading.Event()
    held: list[bool] = []

    def answer(req: Request) -> Response:
        ids = {int(m["Metadata"]["delivery"]) for m in req.get_json()}
        with watcher.connect() as conn:
            sending_at_arrival.append(conn.execute(
                sa.select(sa.func.count()).where(deliveries.c.status == "sending")).scalar_one())
        if max(ids) > 4:
            later_claim_arrived.set()
        if 3 in ids:  # the second claim's request
            held.append(later_claim_arrived.wait(DEADLINE))
        return POSTMARK.answer(req, len(sending_at_arrival))

    server.expect_request(POSTMARK.path, method="POST").respond_with_handler(answer)
    with provider:
        report = engine.tick()
    watcher.dispose()

    assert held == [True], "no later claim reached the provider while the second was under way"
    assert report.sent == 10 and not report.failed
    assert max(sending_at_arrival) <= 4  # never more than one batch of unknown outcome
    with store.engine.connect() as conn:
        sent = conn.execute(sa.select(deliveries.c.status, sa.func.count())
                            .group_by(deliveries.c.status)).all()
    assert sent == [("sent", 10)]
    store.close()
