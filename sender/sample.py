"""A test of one lesson to one address: rendered for a sample subscriber and sent
through the configured provider, with nothing recorded as a delivery."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sender.campaign import CampaignError, Lesson
from sender.messages import compose
from sender.providers.base import SendResult
from sender.readiness import refuse_unready
from sender.subscribers import check_timezone, clean_name, normalise_email

if TYPE_CHECKING:
    from sender.campaign import Campaign
    from sender.engine import Engine


def sample_subscriber(email: str, name: str = "", timezone: str | None = None) -> Any:
    """Looks like a subscribers row to templates and `compose`; id 0 is never a real one."""
    return SimpleNamespace(id=0, email=normalise_email(email), name=clean_name(name),
                           timezone=check_timezone(timezone), fields={})


def find_lesson(campaign: Campaign, ref: str) -> Lesson:
    """A lesson by position ("2"), file stem ("02-dominant-hamstrings") or its unique prefix."""
    if ref.isdigit() and (lesson := campaign.lesson(int(ref))):
        return lesson
    listed = campaign.all_lessons  # drafts too: they are previewed and test-sent before publishing
    matches = [lesson for lesson in listed if lesson.key == ref] or [
        lesson for lesson in listed if lesson.key.startswith(ref)]
    if len(matches) != 1:
        keys = ", ".join(lesson.key for lesson in campaign.lessons)
        raise CampaignError(f"{campaign.path}: no single lesson {ref!r}; lessons are: {keys}")
    return matches[0]


def send_test(engine: Engine, slug: str, lesson_ref: str, to: str, *, name: str = "",
              timezone: str | None = None) -> SendResult:
    refuse_unready(engine.settings, engine.settings.provider)  # the preview's button sends too
    _, campaign = engine.load(slug)
    return send_test_of(engine, campaign, find_lesson(campaign, lesson_ref), to, name=name,
                        timezone=timezone)


def send_test_of(engine: Engine, campaign: Campaign, lesson: Lesson, to: str, *, name: str = "",
                 timezone: str | None = None, template: str = "lesson") -> SendResult:
    """`lesson` (of a course, or a newsletter issue with template "newsletter") as a
    "[Test]" email to `to`, through the configured provider; nothing is recorded."""
    refuse_unready(engine.settings, engine.settings.provider)
    subscriber = sample_subscriber(to, name, timezone)
    now = engine.clock()
    message = compose(settings=engine.settings, renderer=engine.renderer,
                      compiled=engine.renderer.compile(campaign, lesson, template), subscriber=subscriber,
                      signing_key=engine.signing_key, now=now,
                      delivery_key=f"test:{campaign.slug}:{lesson.key}:{subscriber.email}:{now.isoformat()}")
    message = dataclasses.replace(message, subject=f"[Test] {message.subject}",
                                  metadata={**message.metadata, "kind": "test"})
    [result] = engine.provider.send_messages([message])
    return result
