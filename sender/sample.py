"""Emails for a sample subscriber, made one way by `render_sample` (`drip render` and
`drip lint`, the preview, the console's previews, `drip send-test` and every test send),
so each shows what a subscriber would get. A test of one lesson to one address is sent
through the configured provider, with nothing recorded as a delivery."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NamedTuple

from sender.campaign import CampaignError, Lesson
from sender.messages import compose
from sender.providers.base import SendResult
from sender.readiness import refuse_unready
from sender.schedule import Timing, due_after
from sender.subscribers import check_timezone, clean_name, normalise_email

if TYPE_CHECKING:
    from sender.campaign import Campaign
    from sender.engine import Engine
    from sender.providers.base import OutgoingMessage
    from sender.render import CompiledLesson, Renderer
    from sender.settings import Settings

SAMPLE_NAME, SAMPLE_EMAIL = "Alex Sample", "alex@example.com"


def sample_subscriber(email: str, name: str = "", timezone: str | None = None) -> Any:
    """Looks like a subscribers row to templates and `compose`; id 0 is never a real one."""
    return SimpleNamespace(id=0, email=normalise_email(email), name=clean_name(name),
                           timezone=check_timezone(timezone), fields={})


class SampleEmail(NamedTuple):
    message: OutgoingMessage
    compiled: CompiledLesson  # what was rendered (the preview fills its preheader itself)


def render_sample(settings: Settings, renderer: Renderer, campaign: Campaign, lesson: Lesson,
                  subscriber: Any, *, signing_key: str, now: datetime, template: str = "lesson",
                  delivery_key: str | None = None) -> SampleEmail:
    """`lesson` as `subscriber` (a `sample_subscriber`) gets it at `now`. A draft is rendered as
    it will be once published: its number, and the lesson after it. Raises RenderError."""
    if lesson.draft:
        campaign = campaign.with_lesson(lesson)
        lesson = campaign.lesson(lesson.position) or lesson
    compiled = renderer.compile(campaign, lesson, template)
    message = compose(settings=settings, renderer=renderer, compiled=compiled, subscriber=subscriber,
                      signing_key=signing_key, now=now,
                      delivery_key=delivery_key or f"preview:{campaign.slug}:{lesson.key}:{subscriber.email}")
    return SampleEmail(message, compiled)


def sample_schedule(campaign: Campaign, settings: Settings, timezone: str,
                    now: datetime) -> list[tuple[Lesson, Timing, datetime]]:
    """Each lesson (drafts too), its timing, and when it would go out to a subscriber in
    `timezone` enrolled at `now`: the projection the engine makes (`due_after`, and
    `Campaign.zone_of` as `Campaign.next_lesson_at` does for the email's "next lesson
    arrives" day). Sample emails are dated by it."""
    tz = campaign.zone_of(SimpleNamespace(timezone=timezone), settings)
    rows, previous = [], now
    for lesson in campaign.all_lessons:
        timing = campaign.timing(lesson, settings)
        due = due_after(previous, timing, tz, first=lesson.position == 1)
        rows.append((lesson, timing, due))
        if not lesson.draft:  # a draft's row says when it would go; the lessons after it don't wait
            previous = due
    return rows


def sample_messages(settings: Settings, campaign: Campaign, name: str = SAMPLE_NAME,
                    email: str = SAMPLE_EMAIL, timezone: str = "UTC",
                    now: datetime | None = None) -> list[tuple[Lesson, Any]]:
    """(lesson, OutgoingMessage or RenderError) for each published lesson, for `drip render`
    and `drip lint`, each dated when it would go out to the sample subscriber enrolled `now`,
    as the preview shows it. No engine and no store: a missing signing key signs with a stand-in."""
    from sender.render import Renderer, RenderError

    renderer = Renderer(settings.path("templates_dir"), settings)
    sample = sample_subscriber(email, name, timezone)
    due = {lesson.key: when for lesson, _, when in
           sample_schedule(campaign, settings, sample.timezone or timezone, now or datetime.now(UTC))}
    out: list[tuple[Lesson, Any]] = []
    for lesson in campaign.lessons:
        try:
            out.append((lesson, render_sample(settings, renderer, campaign, lesson, sample,
                                              signing_key=settings.signing_key or "preview-only",
                                              now=due[lesson.key]).message))
        except RenderError as exc:
            out.append((lesson, exc))
    return out


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
    message, _ = render_sample(
        engine.settings, engine.renderer, campaign, lesson, subscriber, signing_key=engine.signing_key,
        now=now, template=template,
        delivery_key=f"test:{campaign.slug}:{lesson.key}:{subscriber.email}:{now.isoformat()}")
    message = dataclasses.replace(message, subject=f"[Test] {message.subject}",
                                  metadata={**message.metadata, "kind": "test"})
    [result] = engine.provider.send_messages([message])
    return result
