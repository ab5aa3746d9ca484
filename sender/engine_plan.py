"""The engine's value types and the parts of a tick that need no engine state: what a tick
reports, a batch as rendered, a claim made but not yet committed, what a claim writes, what
happened to each delivery and how outcomes are sorted, the collector's pacing during a tick,
and a subscriber's schedule (`sender.engine` runs them; import them from there)."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sender.campaign import Campaign, CampaignError, Lesson
from sender.outcomes import Fault, counted_as, delivery_status, pause_reason
from sender.providers import OutgoingMessage, SendResult
from sender.store import DueEnrolment
from sender.store.schema import WAITING

if TYPE_CHECKING:
    from sender.engine import Engine


@dataclass
class TickReport:
    """What one tick did; each kind of failure as `sender.outcomes` defines it."""

    sent: int = 0
    failed: int = 0  # for good: the address or the message is wrong
    retrying: int = 0  # the provider failed for now; the lesson is queued again
    held: int = 0  # the subscriber lacks a field the lesson needs; tried again later
    unknown: int = 0  # the provider may have accepted it; left 'sending', never resent blindly
    settled: int = 0  # earlier unknown outcomes found in the provider's log: sent
    kept: int = 0  # queued in a campaign paused for its content or the provider account
    deferred: int = 0  # late, outside the send window: moved to the next window
    suppressed: int = 0  # addresses the provider refused, never mailed again
    completed: int = 0
    paused: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  # provider-paused campaigns trying again
    errors: list[str] = field(default_factory=list)
    # The provider, not one campaign, is at fault: claiming more this tick would only fail.
    stopped: bool = False

    def add(self, other: TickReport) -> None:
        for name, value in vars(other).items():
            mine = getattr(self, name)
            setattr(self, name, (mine or value) if isinstance(value, bool) else mine + value)

    def count(self, fault: Fault | None) -> None:
        """Count one delivery's outcome where `sender.outcomes` says it belongs."""
        name = counted_as(fault)
        setattr(self, name, getattr(self, name) + 1)

    @property
    def problems(self) -> bool:
        """Whether staff should look: something failed, was held or paused a campaign."""
        return bool(self.failed or self.held or self.unknown or self.paused)

    def summary(self) -> str:
        parts = [f"sent {self.sent}", f"failed {self.failed}"]
        parts += [f"{name} {n}" for name, n in (
            ("retrying", self.retrying), ("held for missing subscriber data", self.held),
            ("outcome unknown (the provider's answer was lost)", self.unknown),
            ("unknown outcomes found sent in the provider's log", self.settled),
            ("kept queued in paused campaigns", self.kept), ("deferred to the next window", self.deferred),
            ("completed the course", self.completed), ("addresses suppressed", self.suppressed)) if n]
        if self.resumed:
            parts.append("trying again after a provider pause: " + ", ".join(self.resumed))
        if self.paused:
            parts.append("paused: " + ", ".join(self.paused))
        return ", ".join(parts)


@dataclass
class Rendered:
    """A batch's messages, and the failures of those that could not be rendered."""

    now: datetime
    messages: list[OutgoingMessage] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def attach(self, ids: dict[int, int], message_id: Callable[[int], str]) -> None:
        """Give messages and outcomes rendered under stand-in ids their real delivery ids (and
        the Message-ID that goes with each); those without one (not claimed) are dropped."""
        kept = []
        for m in self.messages:
            if (real := ids.get(m.delivery_id or 0)) is not None:
                m.claimed_as(real, message_id(real))  # nobody holds these messages yet
                kept.append(m)
        self.messages = kept
        self.outcomes = [Outcome(ids[o.delivery_id], o.ok, o.fault, o.error, o.provider_message_id,
                                 o.message_id) for o in self.outcomes if o.delivery_id in ids]


@dataclass(frozen=True)
class OpenClaim:
    """A claim read and rendered in the transaction `tx` on `conn`, not written or committed
    yet; `plan` is None when nothing was due. `items` are what sending needs of each delivery
    (see `Engine.send`), with their ids once written."""

    conn: Any
    tx: Any
    plan: ClaimPlan | None
    items: list[dict[str, Any]]
    rendered: Rendered
    counts: TickReport

    @property
    def claimed(self) -> list[dict[str, Any]] | None:
        return None if self.plan is None else self.items


@dataclass(frozen=True)
class ClaimPlan:
    """What a claim writes: delivery rows, enrolment moves, next courses to enrol in (by
    enrolment id, subscriber, slug), and the (enrolment, lesson, subscriber) of each delivery."""

    deliveries: list[dict[str, Any]]
    advances: list[dict[str, Any]]
    follow_ups: list[tuple[int, Any, str]]
    planned: list[tuple[DueEnrolment, Lesson, Any]]

    def enrolment_ids(self) -> list[int]:
        return [a["id"] for a in self.advances]

    def only(self, keep: set[int]) -> ClaimPlan:
        """The plan for the enrolments in `keep` alone."""
        if len(keep) == len(self.advances):  # the usual case: nobody stopped meanwhile
            return self
        pairs = {(d.subscriber_id, d.campaign_id) for d, _, _ in self.planned if d.enrolment_id in keep}
        return ClaimPlan([r for r in self.deliveries if (r["subscriber_id"], r["campaign_id"]) in pairs],
                         [a for a in self.advances if a["id"] in keep],
                         [f for f in self.follow_ups if f[0] in keep],
                         [p for p in self.planned if p[0].enrolment_id in keep])


def claims_to_open(ahead: int, batches: int, opening: int, max_batches: int | None) -> int:
    """How many more claims a tick opens now: one at first (an idle tick needs no more), then
    up to `ahead` at once, never beyond `max_batches` in all."""
    wanted = (ahead if batches else 1) - opening
    if max_batches is not None:
        wanted = min(wanted, max_batches - batches - opening)
    return max(0, wanted)


def roll_back(opening: Future[OpenClaim], free: list[Any]) -> None:
    """Roll back a claim once it is made (one that failed rolled itself back), and free its
    connection."""
    with contextlib.suppress(Exception):
        claim = opening.result()
        claim.tx.rollback()
        free.append(claim.conn)


def done_now(fn: Callable[..., OpenClaim], *args: Any) -> Future[OpenClaim]:
    """`fn(*args)` run here and now, as a finished future."""
    future: Future[OpenClaim] = Future()
    try:
        future.set_result(fn(*args))
    except Exception as exc:
        future.set_exception(exc)
    return future


@dataclass(frozen=True)
class Posted:
    """A batch handed over on the sending thread, its outcomes not stored yet."""

    claimed: list[dict[str, Any]]
    outcomes: list[Outcome]
    now: datetime


@dataclass(frozen=True)
class SentApart:
    """A batch sent on the sending thread: its counts, and what must follow (or None)."""

    report: TickReport
    then: Callable[[TickReport], None] | None


class ClaimAgain(Exception):
    """Rolls a claim back so that `then` runs first (see `Engine.tick`)."""

    def __init__(self, then: Callable[[TickReport], None]) -> None:
        self.then = then


# Slotted, not frozen (a frozen __init__ costs several times as much): one per email, only
# read once made.
@dataclass(slots=True)
class Outcome:
    """What happened to one claimed delivery."""

    delivery_id: int
    ok: bool
    fault: Fault | None = None  # whose fault a failure is (`sender.outcomes`); None when ok
    error: str | None = None
    provider_message_id: str | None = None
    message_id: str | None = None

    @classmethod
    def of(cls, result: SendResult) -> Outcome:
        assert result.message.delivery_id is not None
        return cls(result.message.delivery_id, result.ok, None if result.ok else result.fault,
                   result.error, result.provider_message_id, result.message.message_id)


def advance(enrolment_id: int, position: int, due: datetime | None,
            completed: datetime | None = None) -> dict[str, Any]:
    """An enrolment's move: to lesson `position`, due at `due`, or completed at `completed`."""
    return {"id": enrolment_id, "next_position": position, "next_due_at": due,
            "status": "completed" if completed else "active", "completed_at": completed}


# A tick keeps every object of a batch alive until its outcomes are stored, tens of thousands
# of them, so the cyclic collector's default (a young collection every 700 allocations, and
# full ones as survivors pile up) rescans them again and again: a quarter of a claim's CPU.
# While a tick runs, young collections come this many allocations apart; cycles are still
# collected, just less often.
TICK_GC_THRESHOLD = 20_000
_gc_lock = threading.Lock()
_gc_ticks = 0  # ticks running in this process: the first saves the thresholds, the last restores
_gc_saved: tuple[int, int, int] = (700, 10, 10)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Space out the cyclic collector's runs for the duration of a tick (see above)."""
    global _gc_ticks, _gc_saved
    with _gc_lock:
        if _gc_ticks == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(TICK_GC_THRESHOLD, _gc_saved[0]), *_gc_saved[1:])
        _gc_ticks += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_ticks -= 1
            if _gc_ticks == 0:
                gc.set_threshold(*_gc_saved)


def enrolment_row(campaign_id: int, campaign: Campaign, subscriber: Any, now: datetime, settings: Any
                  ) -> dict[str, Any]:
    """A subscriber's enrolment in `campaign` at `now`, lesson 1 due when it goes out to them."""
    return {"subscriber_id": subscriber.id, "campaign_id": campaign_id, "enrolled_at": now,
            "next_due_at": campaign.first_due(subscriber, now, settings)}


def subscriber_schedule(engine: Engine, email: str) -> list[dict[str, Any]]:
    """`Engine.plan`: each lesson of each of the subscriber's courses, its state, and when it
    went or will go out (later lessons projected from the next one's due time)."""
    subscriber = engine.store.subscriber_by_email(email)
    if subscriber is None:
        raise CampaignError(f"no subscriber {email}")
    rows = []
    for item in engine.store.subscriber_plan(email):
        enrolment, done = item["enrolment"], item["deliveries"]
        campaign = engine.read(enrolment.slug)
        tz = engine.zone_of(subscriber, campaign)
        due = _projected(campaign, enrolment, done, tz, engine.settings)
        for lesson in campaign.lessons:
            delivery = done.get(lesson.key)
            when, state = _lesson_state(delivery, due.get(lesson.key), enrolment.status)
            rows.append({"campaign": campaign.slug, "lesson": lesson.key, "state": state,
                         "utc": when, "local": when.astimezone(tz) if when else None,
                         "reason": delivery.error if delivery is not None and state != "sent" else None})
    return rows


def _projected(campaign: Campaign, enrolment: Any, done: dict[str, Any], tz: Any, settings: Any
               ) -> dict[str, datetime]:
    """Lesson key → when it goes out: the next lesson at the enrolment's due time, the later
    ones projected from it; nothing for a course that is not going on."""
    if enrolment.status not in {"active", "paused"} or enrolment.next_due_at is None:
        return {}
    current = next((lesson for lesson in campaign.lessons
                    if (d := done.get(lesson.key)) is None or d.status in WAITING), None)
    if current is None:
        return {}
    later = campaign.later_lessons(current, enrolment.next_due_at, tz, settings)
    return {current.key: enrolment.next_due_at, **{lesson.key: when for lesson, when in later}}


def _lesson_state(delivery: Any, due: datetime | None, enrolment_status: str
                  ) -> tuple[datetime | None, str]:
    """(when, state) of one lesson of a subscriber's plan."""
    if delivery is not None and delivery.status not in WAITING:
        return delivery.sent_at or delivery.claimed_at, delivery.status
    if due is None:
        return None, "not planned"
    if enrolment_status == "paused":
        return due, "paused"
    return due, "planned" if delivery is None else "held" if delivery.status == "held" else "retrying"


def sort_outcomes(claimed: list[dict[str, Any]], outcomes: list[Outcome], provider: str,
                  report: TickReport, retry: Callable[[dict[str, Any], Fault], dict[str, Any]]
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str | None, set[int]],
                             dict[str, tuple[str, datetime | None]]]:
    """A batch's outcomes, each counted into `report` as its fault says (`sender.outcomes`), as
    (delivery rows to store, enrolments to rewind with `retry`, subscriber ids to suppress by
    error, campaigns to pause: slug: (reason, None))."""
    by_id = {i["delivery_id"]: i for i in claimed}
    records, requeue = [], []
    refused: dict[str | None, set[int]] = {}
    pause: dict[str, tuple[str, datetime | None]] = {}  # slug: (reason, resume by itself at)
    for o in outcomes:
        item = by_id[o.delivery_id]
        status = delivery_status(o.fault)
        report.count(o.fault)
        if o.fault is not None and o.fault.suppresses:  # mailing it again only hurts our reputation
            refused.setdefault(o.error, set()).add(item["subscriber"].id)
        if o.fault is not None and o.fault.pauses_campaign:
            slug = item["campaign"].slug
            pause.setdefault(slug, (pause_reason(o.fault, slug, o.error or ""), None))
            report.stopped = report.stopped or o.fault is Fault.ACCOUNT
        if status in WAITING and item["enrolment_id"] is not None:  # a newsletter is claimed again
            assert o.fault is not None
            requeue.append(retry(item, o.fault))
        if o.error:
            report.errors.append(f"{item['subscriber'].email}: {o.error}")
        records.append({
            "id": o.delivery_id, "status": status, "provider_message_id": o.provider_message_id,
            "error": o.error, "message_id": o.message_id,
            "subscriber_id": item["subscriber"].id, "provider": provider,
        })
    return records, requeue, refused, pause
