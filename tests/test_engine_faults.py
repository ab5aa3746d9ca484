"""A mistake in a lesson, in a subscriber's data or in one campaign's files loses nobody's
lesson: the campaign pauses (or the one enrolment is held) and everything goes once fixed."""

import shutil
from collections.abc import Sequence
from email.utils import parseaddr
from pathlib import Path

from sender.outcomes import HOLD_RECHECK, Fault
from sender.providers.base import OutgoingMessage, SendResult
from sender.providers.memory import MemoryProvider
from sender.store.console import retry_failed
from sender.subscribers import add_subscriber
from tests.test_engine import make_engine, run_course

LESSON = "---\nsubject: Start here\npreheader: p\ndelay: 0\n---\nHi {{ subscriber.%s }}, welcome.\n"
PEOPLE = ("a@example.com", "b@example.com", "c@example.com")


def received(provider: MemoryProvider) -> dict[str, list[str]]:
    """Each recipient's subjects, in the order they were sent."""
    out: dict[str, list[str]] = {}
    for m in provider.outbox:
        out.setdefault(parseaddr(m.to)[1], []).append(m.subject)
    return out


def test_a_lesson_typo_then_fix_then_resume_sends_every_lesson_once_in_order(project: Path,
                                                                           db_url: str) -> None:
    lesson = project / "campaigns" / "mini" / "01-start.md"
    lesson.write_text(LESSON % "nickname")  # nobody has a nickname: a typo
    engine, clock = make_engine(project, db_url)
    for email in PEOPLE:
        add_subscriber(engine.store, email, now=clock(), timezone="UTC", name="Ana Lee")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    report = engine.tick()
    assert (report.sent, report.failed, report.kept, report.paused) == (0, 0, 3, ["mini"])
    assert "01-start.md: undefined variable" in engine.store.campaign_by_slug("mini").paused_reason
    assert engine.store.next_due_at() is None  # nothing goes while paused ...
    assert {r.status for r in engine.store.delivery_log()} == {"queued"}  # ... and nothing is lost

    lesson.write_text(LESSON % "first_name")
    engine.store.set_campaign_status("mini", "active")  # what `drip resume mini` does
    run_course(engine, clock)
    lessons = ["Start here", "The second thing", "The last thing"]
    assert received(engine.provider) == {e: lessons for e in PEOPLE}


def test_a_missing_template_pauses_then_sends_once_it_is_back(project: Path, sqlite_url: str) -> None:
    engine, clock = make_engine(project, sqlite_url)
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    # A project's template that extends one found neither in the project nor in the defaults.
    layout = project / "templates" / "lesson.mjml"
    original = layout.read_text()
    layout.write_text(original.replace('"base.mjml"', '"no-such-base.mjml"'))
    clock.advance_to(engine.store.next_due_at())
    report = engine.tick()
    assert (report.sent, report.failed, report.paused) == (0, 0, ["mini"])
    assert "'no-such-base.mjml' not found" in engine.store.campaign_by_slug("mini").paused_reason
    layout.write_text(original)
    engine.store.set_campaign_status("mini", "active")
    run_course(engine, clock)
    assert received(engine.provider) == {
        "a@example.com": ["Start here", "The second thing", "The last thing"]}


def test_a_missing_field_holds_that_enrolment_until_the_field_is_set(project: Path, db_url: str) -> None:
    (project / "campaigns" / "mini" / "01-start.md").write_text(LESSON % "city")
    engine, clock = make_engine(project, db_url)
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="UTC", fields={"city": "Lisbon"})
    add_subscriber(engine.store, "b@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    report = engine.tick()
    assert (report.sent, report.held, report.paused) == (1, 1, [])
    plan = {row["lesson"]: row for row in engine.plan("b@example.com")}
    assert plan["01-start"]["state"] == "held" and "no field 'city'" in plan["01-start"]["reason"]

    # Days go by: b's course does not move on without lesson 1, and a's does.
    clock.advance_to(clock() + HOLD_RECHECK * 4)
    engine.tick()
    assert received(engine.provider)["a@example.com"] == ["Start here"]
    assert "b@example.com" not in received(engine.provider)

    add_subscriber(engine.store, "b@example.com", now=clock(), timezone="UTC", fields={"city": "Porto"})
    run_course(engine, clock)
    lessons = ["Start here", "The second thing", "The last thing"]
    assert received(engine.provider) == {"a@example.com": lessons, "b@example.com": lessons}
    assert any("Hi Porto, welcome." in m.text for m in engine.provider.outbox if m.to == "b@example.com")


def test_a_broken_lesson_file_pauses_its_campaign_and_the_others_are_sent(project: Path,
                                                                         db_url: str) -> None:
    shutil.copytree(project / "campaigns" / "mini", project / "campaigns" / "other")
    (project / "campaigns" / "mini" / "02-next.md").write_text(
        "---\nsubject: Two\npreheader: p\nwindow: 25:00-26:00\n---\nBody.\n")
    engine, clock = make_engine(project, db_url)
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="UTC")
    # Enrolled while both were fine; the bad window arrives later, as an edit would.
    good = (project / "campaigns" / "mini" / "02-next.md").read_text()
    (project / "campaigns" / "mini" / "02-next.md").write_text(
        (project / "campaigns" / "other" / "02-next.md").read_text())
    engine.enrol("mini")
    engine.enrol("other")
    (project / "campaigns" / "mini" / "02-next.md").write_text(good)
    clock.advance_to(engine.store.next_due_at())
    for _ in range(3):
        report = engine.tick()
    assert received(engine.provider) == {"a@example.com": ["Start here"]}
    assert [(r.slug, r.status) for r in engine.store.delivery_log()] == [("other", "sent")]
    paused = engine.store.campaign_by_slug("mini")
    assert paused.status == "paused" and "02-next.md" in paused.paused_reason
    assert engine.store.campaign_by_slug("other").status == "active"
    assert report.errors == [] or all("mini" in e for e in report.errors)


class RefusingOnce(MemoryProvider):
    """Refuses every message of its first batch as malformed (fails for good), then accepts."""

    refused = False

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        if not self.refused:
            self.refused = True
            return [SendResult(m, ok=False, fault=Fault.MESSAGE, error="refused") for m in messages]
        return super().send_messages(messages)


def test_retry_queues_failed_lessons_again_but_never_for_a_suppressed_address(project: Path,
                                                                              db_url: str) -> None:
    engine, clock = make_engine(project, db_url, RefusingOnce(f"memory://{project}"))
    for email in PEOPLE:
        add_subscriber(engine.store, email, now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    assert engine.tick().failed == 3
    engine.store.suppress([engine.store.subscriber_by_email("c@example.com").id], "complained", clock())
    assert retry_failed(engine.store, "mini", clock(), "test", lesson="02-next") == 0  # not that lesson
    assert retry_failed(engine.store, "mini", clock(), "test", email="a@example.com") == 1
    assert retry_failed(engine.store, "mini", clock(), "test") == 1  # b; c is suppressed
    run_course(engine, clock)
    lessons = ["Start here", "The second thing", "The last thing"]
    assert received(engine.provider) == {"a@example.com": lessons, "b@example.com": lessons}
