"""The subscribe form with control characters in what people type: stored clean on both
databases (PostgreSQL refuses NUL in text, which was a 500), and the confirmation email
made from the clean name."""

from __future__ import annotations

from pathlib import Path

from sender.web import create_app
from tests.test_engine import make_engine


def test_a_nul_or_esc_in_the_name_is_dropped_not_a_500(project: Path, db_url: str) -> None:
    engine, _ = make_engine(project, db_url)
    client = create_app(engine).test_client()
    answer = client.post("/subscribe/mini", data={
        "email": "ana@example.com", "name": "An\x00a \x1b[2JSilva\u202e", "timezone": "UTC\x00"})
    assert answer.status_code == 200 and b"Check your inbox" in answer.data
    ana = engine.store.subscriber_by_email("ana@example.com")
    assert (ana.name, ana.status, ana.timezone) == ("Ana [2JSilva", "pending", "UTC")
    [confirmation] = engine.provider.outbox
    assert confirmation.text.startswith("Hi Ana,\n")  # the first name, whole
