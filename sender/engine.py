"""The drip engine: enrol subscribers, and on every tick send what is due.

A tick claims due enrolments in batches. For each batch, inside one
transaction, it reads what is due and renders the emails (which sends nothing),
then writes the delivery rows (status 'sending', unique per subscriber × lesson)
and moves each enrolment on to its next lesson; only after that commit does it
hand the batch to the provider, then records each result. A crash between the two leaves rows
in 'sending': once older than a batch in flight can be, their outcome is unknown
(`sender.store.reports.unknown_outcome`) and `drip status` and the console list
them; they are never resent blindly. A batch (`batch_size`) is claimed in as many
claims as the provider runs requests at once (`claims_in_flight`: Postmark's 1,000 as
two of 500); while they are with the provider the next is claimed (on PostgreSQL, the
next two), and a claim commits only once the claims a batch before it have their results
stored (see `Engine.tick`), so there is never more than one batch of them.

Which lesson is next is worked out from the lesson files and the lessons a
subscriber already received (by key), so adding, editing or removing lessons
of a running course never resends one.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sender.campaign import Campaign, CampaignError, Lesson, load_campaign
from sender.engine_plan import (
    ClaimAgain,
    ClaimPlan,
    OpenClaim,
    Outcome,
    Posted,
    Rendered,
    SentApart,
    TickReport,
    advance,
    claims_to_open,
    done_now,
    enrolment_row,
    fewer_collections,
    roll_back,
    sort_outcomes,
    subscriber_schedule,
)
from sender.messages import compose, message_id
from sender.outcomes import Fault, next_try, pause_reason, render_fault
from sender.providers import OutgoingMessage, Provider, SendResult
from sender.providers.pace import claim_split, default_batch_size
from sender.render import OPTIONAL_FIELDS, Renderer, RenderError
from sender.schedule import Clock, Timing, due_after, in_window, next_send_time
from sender.settings import Settings
from sender.store import DueEnrolment, Store

__all__ = ["Engine", "Outcome", "Rendered", "TickReport", "project_engine"]

# A provider that fails this many batches in a row pauses the campaigns involved,
# rather than burning through the list.
PAUSE_AFTER_FAILED_BATCHES = 3
# How long a claim may wait, holding its enrolments locked, for the batch before it to be
# sent. A provider retrying through an outage can take minutes; an unsubscribe of someone
# in the claimed batch must not wait that long, so the claim lets go and starts again.
HOLD_CLAIM_SECONDS = 5.0
# Deliveries of unknown outcome looked up in the provider's log per tick (one request each).
SETTLE_PER_TICK = 50
# Claims made at once on PostgreSQL: while the server runs one claim's statements, Python
# plans and renders the other.
CLAIMS_AHEAD = 2


class Engine:
    def __init__(self, settings: Settings, store: Store, provider: Provider, clock: Clock,
                 renderer: Renderer | None = None) -> None:
        self.settings = settings
        self.store = store
        self.provider = provider
        self.clock = clock
        self.renderer = renderer or Renderer(settings.path("templates_dir"), settings)
        self._campaigns: dict[int, Campaign] = {}
        self.signing_key = settings.signing_key or store.signing_key()
        self._failed_batches = 0
        self._streak_lock = threading.Lock()
        self.hold_claim_seconds = HOLD_CLAIM_SECONDS
        self._field_names: set[str] | None = None  # read once a tick, only when a field is missing
        self.stopping = threading.Event()  # set by `stop`: claim nothing more

    @property
    def batch_size(self) -> int:  # the setting when set, else what fills the provider's requests
        default = self.settings.sources.get("batch_size", "default") == "default"
        return (default_batch_size(self.provider, self.settings.batch_size) if default
                else self.settings.batch_size)

    def due_now(self, limit: int = 10_000) -> tuple[list[tuple[str, str, str]], int]:
        """What a tick would send now, writing nothing: (subscriber email, campaign, lesson)
        of each due lesson, up to `limit`, and how many would wait for their next window."""
        counts = TickReport()
        with self.store.engine.connect() as conn, conn.begin() as tx:
            claimable = self.store.claim_due(conn, self.clock(), limit)
            try:
                plan = self._plan(conn, claimable, self.clock(), counts) if claimable else None
            except ClaimAgain:  # a tick would pause it; a dry run only says so
                raise CampaignError("a campaign with lessons due cannot be read: `drip lint` it") from None
            finally:
                tx.rollback()
        planned = plan.planned if plan else []
        return ([(sub.email, self._campaign(d.campaign_id).slug, lesson.key) for d, lesson, sub in planned],
                counts.deferred)

    def _settle_unknown(self) -> int:
        """Ask the provider's message log, where it has one, about deliveries whose outcome is
        unknown (a lost answer, a stopped worker); those it took are recorded as sent."""
        if type(self.provider).find_sent is Provider.find_sent:
            return 0
        from sender.store.reports import settle_as_sent, unknown_delivery_ids

        now = self.clock()
        ids = unknown_delivery_ids(self.store, now, SETTLE_PER_TICK)
        return settle_as_sent(self.store, self.provider.find_sent(ids), now) if ids else 0

    def stop(self) -> None:
        """Stop sending soon and cleanly, from any thread (a signal handler): a tick claims
        nothing more, the provider tries nothing again, open claims roll back and the batch
        with the provider has its outcome recorded before `tick` returns."""
        self.stopping.set()
        self.provider.interrupt()

    # -- campaigns and timing ---------------------------------------------------

    def read(self, slug: str) -> Campaign:
        """A campaign folder, read now, every lesson's timing checked; writes nothing."""
        campaign = load_campaign(self.settings.path("campaigns_dir") / slug)
        for lesson in campaign.lessons:
            self.timing(campaign, lesson)  # a bad timing rule fails now, naming the file
        return campaign

    def load(self, slug: str, conn: Any = None) -> tuple[int, Campaign]:
        """Read a campaign folder and make sure the store has a row for it."""
        campaign = self.read(slug)
        campaign_id = self.store.ensure_campaign(campaign.slug, title=campaign.title, now=self.clock(),
                                                 conn=conn)
        self._campaigns[campaign_id] = campaign
        return campaign_id, campaign

    def _campaign(self, campaign_id: int) -> Campaign:
        if campaign_id not in self._campaigns:
            self._campaigns[campaign_id] = self.read(self.store.campaign_slug(campaign_id))
        return self._campaigns[campaign_id]

    def timing(self, campaign: Campaign, lesson: Lesson) -> Timing:
        return campaign.timing(lesson, self.settings)

    def zone_of(self, subscriber: Any, campaign: Campaign) -> ZoneInfo:
        return campaign.zone_of(subscriber, self.settings)

    # -- enrolment --------------------------------------------------------------

    def enrol(self, slug: str, emails: Sequence[str] | None = None) -> int:
        """Enrol the given subscribers (all active ones if None); returns how many were new."""
        campaign_id, campaign = self.load(slug)
        now = self.clock()
        candidates = self.store.subscribers() if emails is None else [
            s for s in map(self.store.subscriber_by_email, emails) if s is not None]
        return self.store.enrol([enrolment_row(campaign_id, campaign, s, now, self.settings)
                                 for s in candidates if s.status == "active"])

    def plan(self, email: str) -> list[dict[str, Any]]:
        """Each lesson of each of the subscriber's courses: state, and when it went
        or will go out (later lessons projected from the next one's due time)."""
        return subscriber_schedule(self, email)

    # -- sending ----------------------------------------------------------------

    def tick(self, max_batches: int | None = None) -> TickReport:
        """Send everything due now, batch by batch.

        A batch is claimed in `claims_in_flight` claims, one per request the provider runs at
        once. Each claim is handed over on a sending thread of its own while the next ones are
        claimed and rendered (rendering sends nothing, so it may come before the claim commits),
        so that the database, the provider and Python work at once, and the provider still has
        a request under way while a claim's outcomes are stored and the next claim written. A
        claim commits only after the claim that many before it has its outcomes stored, so a
        crash still leaves at most one batch whose outcome is unknown; they touch different rows
        (a claimed enrolment is not due again before its window has closed or its retry pause
        has passed).
        On PostgreSQL `CLAIMS_AHEAD` claims are made at once, each on its own connection and
        thread (SKIP LOCKED keeps them apart), so that the server works on one while Python
        works on another; they commit in the order they are ready, and the sending threads also
        store each claim's outcomes. SQLite has a single writer, this thread: there one claim
        is made at a time, the sending threads only hand claims over, and their outcomes are
        stored in the transaction of the claim that waited for them. A claim writes nothing
        until it commits (see `_open_claim`): on SQLite, where web requests that write wait for
        the same lock, it is held for a few writes, not while rendering or waiting for the
        claim before.
        A claim's outcome that suppresses addresses or pauses campaigns makes every open claim
        roll back, and claiming start again after that is done, so that nobody just suppressed
        is claimed; so does one still being sent after `hold_claim_seconds`, so that a provider
        retrying through an outage does not keep the next batches' subscribers locked (an
        unsubscribe would wait for it)."""
        with fewer_collections():
            return self._tick(max_batches)

    def _tick(self, max_batches: int | None) -> TickReport:
        self._campaigns.clear()  # lesson files may have been edited since the last tick
        self._field_names = None
        report = TickReport()
        from sender.newsletters import send_due_newsletters

        report.resumed = self.store.resume_rested_campaigns(self.clock())
        report.settled = self._settle_unknown()
        send_due_newsletters(self, report, max_batches)
        postgres = self.store.dialect == "postgresql"
        ahead = CLAIMS_AHEAD if postgres else 1
        flight, size = claim_split(self.provider, self.batch_size)
        sending = ThreadPoolExecutor(flight, thread_name_prefix="drip-send")
        claiming = ThreadPoolExecutor(ahead, thread_name_prefix="drip-claim") if ahead > 1 else None
        apart = self._send_apart if postgres else self._post_apart
        # A connection per open claim, kept for the whole tick (each checkout pings). One claim
        # at first: an idle tick needs no more.
        conns: list[Any] = []
        free: list[Any] = []
        opening: list[Future[OpenClaim]] = []  # claims being made, oldest first
        in_flight: deque[Future[SentApart | Posted]] = deque()  # being sent while the next are claimed
        batches = 0
        due_left = True  # until a claim finds nothing
        try:
            while not report.stopped and not self.stopping.is_set():
                if due_left and not self.stopping.is_set():
                    for _ in range(claims_to_open(ahead, batches, len(opening), max_batches)):
                        opening.append(self._start_claim(conns, free, claiming, size))
                if not opening:
                    break
                wait(opening, return_when=FIRST_COMPLETED)
                ready = next(f for f in opening if f.done())
                opening.remove(ready)
                try:
                    claim = ready.result()  # raises what claiming raised: the rest roll back below
                except ClaimAgain as again:  # a campaign that cannot be read: pause it first
                    opening, due_left = self._start_over(again, opening, free, report), True
                    continue
                if claim.claimed is None:  # nothing due that others have not claimed
                    claim.tx.rollback()
                    free.append(claim.conn)
                    due_left = False
                    continue
                before = in_flight.popleft() if len(in_flight) == flight else None
                try:
                    self._commit(claim, before, report)
                except ClaimAgain as again:  # suppress / pause, then claim afresh
                    opening, due_left = self._start_over(again, [ready, *opening], free, report), True
                    continue
                free.append(claim.conn)
                batches += 1
                report.add(claim.counts)
                if claim.claimed:
                    in_flight.append(sending.submit(apart, claim.claimed, claim.rendered))
        finally:
            for open_claim in opening:
                roll_back(open_claim, free)
            if claiming is not None:
                claiming.shutdown()
            for conn in conns:
                conn.close()
            while in_flight:
                self._settle(in_flight.popleft(), report)
            sending.shutdown()
        return report

    def _open_claim(self, conn: Any, size: int) -> OpenClaim:
        """Read and render a claim of up to `size` deliveries in a transaction on `conn`, left
        open for `_commit`: what is due is read (on PostgreSQL, locked) and planned, and its
        emails rendered, but nothing is written until `_commit`. So on SQLite the one write
        lock, which every web request that writes waits for, is held for the writes alone:
        never while rendering, nor while waiting for the claim before."""
        now = self.clock()
        counts = TickReport()  # added to the tick's report once the claim commits
        tx = conn.begin()
        try:
            claimable = self.store.claim_due(conn, now, size)
            if not claimable:
                return OpenClaim(conn, tx, None, [], Rendered(now), counts)
            plan = self._plan(conn, claimable, now, counts)
            # Each delivery is known by a stand-in id (negative) until its row is written.
            items = [{"delivery_id": -1 - i, "attempts": 0, "enrolment_id": d.enrolment_id,
                      "campaign": self._campaign(d.campaign_id), "lesson": lesson, "subscriber": sub}
                     for i, (d, lesson, sub) in enumerate(plan.planned)]
            rendered = self._render(items)
        except BaseException:
            tx.rollback()
            raise
        return OpenClaim(conn, tx, plan, items, rendered, counts)

    def _commit(self, claim: OpenClaim, in_flight: Future[SentApart | Posted] | None,
                report: TickReport) -> None:
        """Commit `claim` once the claim `in_flight` is stored (see `tick`); raises
        ClaimAgain for what must come first, with the claim still open."""
        if in_flight is not None:
            try:  # raises what sending raised: the claim rolls back
                done = in_flight.result(timeout=self.hold_claim_seconds)
            except TimeoutError:  # wait again once the claims have let go of their rows
                raise ClaimAgain(partial(self._settle, in_flight)) from None
            if (then := self._finish(done, report, claim.conn)) is not None:
                raise ClaimAgain(then)
        if claim.plan is not None:
            self._write_claim(claim)
        claim.tx.commit()

    def _start_claim(self, conns: list[Any], free: list[Any], claiming: ThreadPoolExecutor | None,
                     size: int) -> Future[OpenClaim]:
        """Open a claim of up to `size` on a free connection (a new one if none is free): on
        the claiming threads if there are any, else here and now."""
        if not free:
            conns.append(self.store.engine.connect())
            free.append(conns[-1])
        conn = free.pop()
        return (claiming.submit(self._open_claim, conn, size) if claiming
                else done_now(self._open_claim, conn, size))

    def _start_over(self, again: ClaimAgain, claims: list[Future[OpenClaim]], free: list[Any],
                    report: TickReport) -> list[Future[OpenClaim]]:
        """Roll every open claim back, do what must come first, and leave none open."""
        for open_claim in claims:
            roll_back(open_claim, free)
        again.then(report)
        return []

    def _finish(self, done: SentApart | Posted, report: TickReport, conn: Any = None
                ) -> Callable[[TickReport], None] | None:
        """Count in a batch sent apart, storing its outcomes first (on `conn`) if the sending
        thread did not; returns what must follow, if anything."""
        if isinstance(done, Posted):
            return self._record(done.claimed, done.outcomes, done.now, report, conn)
        report.add(done.report)
        return done.then

    def _settle(self, in_flight: Future[SentApart | Posted], report: TickReport) -> None:
        """Wait for a batch sent apart, and count it in and follow it up here."""
        if (then := self._finish(in_flight.result(), report)) is not None:
            then(report)

    def _write_claim(self, claim: OpenClaim) -> None:
        """Write a claim's deliveries, move its enrolments on and enrol the finished in their
        next course, then give its items and emails their delivery ids. On SQLite what was
        read is checked first: nothing is locked there, so someone may have unsubscribed (or a
        campaign been paused) since, and they are left out."""
        read, conn, now = claim.plan, claim.conn, claim.rendered.now
        assert read is not None
        plan = read
        if self.store.dialect != "postgresql":
            plan = plan.only(self.store.still_due(conn, plan.enrolment_ids()))
        new_ids = self.store.claim_deliveries(conn, plan.deliveries, advance=plan.advances)
        for _, sub, slug in plan.follow_ups:
            try:
                next_id, next_campaign = self.load(slug, conn)
            except CampaignError as exc:  # this course is done all the same; say why the next is not
                claim.counts.errors.append(f"{sub.email}: not enrolled in the next course {slug}: {exc}")
                continue
            self.store.enrol([enrolment_row(next_id, next_campaign, sub, now, self.settings)], conn=conn)
        # Stand-in ids are positions in the plan as read; a delivery left out has no row.
        ids = {-1 - i: got for i, (d, _, _) in enumerate(read.planned)
               if (got := new_ids.get((d.subscriber_id, d.campaign_id))) is not None}
        kept = [item for item in claim.items if item["delivery_id"] in ids]
        for item in kept:  # the claim's own dicts: updated in place
            item["delivery_id"], item["attempts"] = ids[item["delivery_id"]]
        claim.items[:] = kept
        claim.rendered.attach({stand_in: got[0] for stand_in, got in ids.items()},
                              lambda delivery_id: message_id(self.settings, f"delivery:{delivery_id}",
                                                             self.signing_key))

    def _plan(self, conn: Any, claimable: list[DueEnrolment], now: datetime, report: TickReport) -> ClaimPlan:
        """What to write for the claimed enrolments: each one's delivery and next due time, or
        its deferral to the next window. Raises ClaimAgain, to pause them first, if a claimed
        enrolment's campaign cannot be read."""
        self._check_readable({d.campaign_id for d in claimable})
        subscribers = {d.subscriber_id: d.subscriber for d in claimable}
        received = self.store.received_lessons(
            conn, [(d.subscriber_id, d.campaign_id) for d in claimable])
        deliveries: list[dict[str, Any]] = []
        advances: list[dict[str, Any]] = []
        follow_ups: list[tuple[int, Any, str]] = []
        planned: list[tuple[DueEnrolment, Lesson, Any]] = []
        # Every row of a batch shares `now`, so whether a lesson's window is open and when the
        # next one is due repeat per (campaign, lesson, zone): work them out once, keyed cheaply
        # (hashing the lesson itself costs more than the rest of a row's planning).
        timing = cache(self.timing)
        opens: dict[tuple[int, str, ZoneInfo], bool] = {}
        dues: dict[tuple[int, str, ZoneInfo], datetime | None] = {}
        zones: dict[tuple[int, str | None], ZoneInfo] = {}
        for d in claimable:
            campaign = self._campaign(d.campaign_id)
            sub = subscribers[d.subscriber_id]
            if (tz := zones.get((d.campaign_id, sub.timezone))) is None:
                tz = zones[d.campaign_id, sub.timezone] = self.zone_of(sub, campaign)
            done = received.get((d.subscriber_id, d.campaign_id), set())
            pending = [lesson for lesson in campaign.lessons if lesson.key not in done]
            if pending and (key := (d.campaign_id, pending[0].key, tz)) not in opens:
                opens[key] = in_window(now, timing(campaign, pending[0]), tz)
            if pending and not opens[key]:
                # Late (the service was down): wait for the next window, not 3 a.m.
                report.deferred += 1
                advances.append(advance(d.enrolment_id, len(done) + 1,
                                        next_send_time(now, timing(campaign, pending[0]), tz)))
                continue
            if pending:
                lesson = pending[0]
                deliveries.append({
                    "subscriber_id": d.subscriber_id, "campaign_id": d.campaign_id,
                    "lesson_key": lesson.key, "position": lesson.position,
                    "status": "sending", "scheduled_at": d.next_due_at, "claimed_at": now,
                })
                planned.append((d, lesson, sub))
            if len(pending) <= 1:
                advances.append(advance(d.enrolment_id, len(done) + 2, None, completed=now))
                report.completed += 1
                if campaign.next_campaign:
                    follow_ups.append((d.enrolment_id, sub, campaign.next_campaign))
            else:
                if (key := (d.campaign_id, pending[1].key, tz)) not in dues:
                    dues[key] = due_after(now, timing(campaign, pending[1]), tz, first=False)
                advances.append(advance(d.enrolment_id, len(done) + 2, dues[key]))
        return ClaimPlan(deliveries, advances, follow_ups, planned)

    def _check_readable(self, campaign_ids: Iterable[int]) -> None:
        """Raise ClaimAgain to pause, with the file at fault, every campaign of `campaign_ids`
        whose folder cannot be read (a bad lesson file): the others go on being sent."""
        broken: dict[str, str] = {}
        for campaign_id in campaign_ids:
            try:
                self._campaign(campaign_id)
            except (CampaignError, OSError) as exc:
                slug = self.store.campaign_slug(campaign_id)
                broken[slug] = pause_reason(Fault.CONTENT, slug, str(exc))
        if broken:
            raise ClaimAgain(partial(self._pause, broken))

    def _pause(self, reasons: dict[str, str], report: TickReport) -> None:
        for slug, reason in reasons.items():
            self.store.set_campaign_status(slug, "paused", reason)
            report.errors.append(f"{slug}: {reason}")
        report.paused += sorted(reasons)

    def send(self, claimed: list[dict[str, Any]], report: TickReport, template: str = "lesson") -> None:
        """Render, hand over and record claimed deliveries: dicts of delivery_id, attempts,
        enrolment_id (None for newsletters), campaign, lesson, subscriber."""
        then = self._send(claimed, report, template)
        if then is not None:
            then(report)

    def _send_apart(self, claimed: list[dict[str, Any]], rendered: Rendered) -> SentApart:
        """`send` on the sending thread: its counts and follow-up go back to the tick."""
        report = TickReport()
        then = self._record(claimed, self._post(rendered, rendered.messages), rendered.now, report)
        return SentApart(report, then)

    def _post_apart(self, claimed: list[dict[str, Any]], rendered: Rendered) -> Posted:
        """Hand a batch over on the sending thread; its outcomes are stored by the tick."""
        return Posted(claimed, self._post(rendered, rendered.messages), rendered.now)

    def _render(self, claimed: list[dict[str, Any]], template: str = "lesson") -> Rendered:
        """Every message of a batch, rendered before it is handed over."""
        rendered = Rendered(self.clock())
        for _ in self._rendering(claimed, template, rendered):
            pass  # each message is kept in rendered.messages
        return rendered

    def _rendering(self, claimed: list[dict[str, Any]], template: str, into: Rendered
                   ) -> Iterator[OutgoingMessage]:
        """The batch's messages one by one, each also kept in `into`; a delivery that cannot
        be rendered gets its failure in `into.outcomes` instead."""
        compiled_for: dict[tuple[int, str], Any] = {}  # a batch shares a few lessons
        for item in claimed:
            campaign, lesson, delivery_id = item["campaign"], item["lesson"], item["delivery_id"]
            try:
                if (compiled := compiled_for.get((id(campaign), lesson.key))) is None:
                    compiled = compiled_for[id(campaign), lesson.key] = \
                        self.renderer.compile(campaign, lesson, template)
                message = compose(
                    settings=self.settings, renderer=self.renderer, compiled=compiled,
                    subscriber=item["subscriber"], signing_key=self.signing_key, now=into.now,
                    # a stand-in id (negative, see `_open_claim`) gets its Message-ID once written
                    delivery_key=f"delivery:{delivery_id}" if delivery_id > 0 else None,
                    delivery_id=delivery_id,
                )
            except (RenderError, CampaignError) as exc:  # the lesson's fault, or the subscriber's data
                fault = render_fault(getattr(exc, "field", None), self._known_fields())
                into.outcomes.append(Outcome(item["delivery_id"], ok=False, fault=fault,
                                             error=f"{campaign.slug}/{lesson.key}: {exc}"))
                continue
            except Exception as exc:  # one bad message (an address that cannot be written...)
                into.outcomes.append(Outcome(item["delivery_id"], ok=False, fault=Fault.MESSAGE,
                                             error=f"{campaign.slug}/{lesson.key}: {exc}"))
                continue
            into.messages.append(message)
            yield message

    def _send(self, claimed: list[dict[str, Any]], report: TickReport, template: str = "lesson"
              ) -> Callable[[TickReport], None] | None:
        """`send` up to storing the outcomes; returns what must follow, if anything."""
        rendered = Rendered(self.clock())
        # A provider that can (the HTTP APIs) takes the messages as they render, and posts
        # each full request while the rest are still rendering.
        outcomes = self._post(rendered, self._rendering(claimed, template, rendered))
        return self._record(claimed, outcomes, rendered.now, report)

    def _post(self, rendered: Rendered, stream: Iterable[OutgoingMessage]) -> list[Outcome]:
        """Hand `stream` to the provider: an outcome for every delivery of the batch that
        `rendered` holds once the stream is consumed."""
        try:
            results = self.provider.send_stream(iter(stream))
        except Exception as exc:  # the provider failed as a whole: every message failed, for now
            for _ in stream:  # render the rest, so that every claimed delivery has an outcome
                pass
            results = [SendResult(m, ok=False, error=f"{self.provider.name}: {exc}")
                       for m in rendered.messages]
        return rendered.outcomes + [Outcome.of(r) for r in results]

    def _record(self, claimed: list[dict[str, Any]], outcomes: list[Outcome], now: datetime,
                report: TickReport, conn: Any = None) -> Callable[[TickReport], None] | None:
        """Store the outcomes (in `conn`'s transaction if given) and count them into `report`,
        each as its fault says (`sender.outcomes`); returns what must follow, if anything:
        suppressing the addresses the provider refused, pausing campaigns. With `conn`, that
        also stores the outcomes: the caller rolls its transaction back to run it first."""
        records, requeue, refused, pause = sort_outcomes(
            claimed, outcomes, self.provider.name, report, partial(self._retry, now=now))
        pause.update(self._provider_streak(claimed, outcomes, now, report))
        report.paused += sorted(pause)
        store = partial(self.store.record_results, records, now, requeue=requeue)
        if not refused and not pause:
            store(conn=conn)
            return None
        if conn is None:
            store()

        def then(report: TickReport) -> None:
            if conn is not None:
                store()
            for error, ids in refused.items():
                report.suppressed += self.store.suppress(ids, "bounced", now, detail=error)
            for slug, (reason, resume_at) in pause.items():
                self.store.set_campaign_status(slug, "paused", reason, resume_at=resume_at)

        return then

    def _provider_streak(self, claimed: list[dict[str, Any]], outcomes: list[Outcome], now: datetime,
                         report: TickReport) -> dict[str, tuple[str, datetime | None]]:
        """Campaigns to pause for a rest when the provider has failed whole batches
        PAUSE_AFTER_FAILED_BATCHES times in a row (slug: (reason, when to try again))."""
        # A provider that answers nothing readable is as good as down: unknown counts too.
        transient = [o for o in outcomes if o.fault in (Fault.TEMPORARY, Fault.UNKNOWN)]
        with self._streak_lock:  # on PostgreSQL, each sending thread stores its claim's outcomes
            failed_whole = bool(outcomes) and len(transient) == len(outcomes)
            self._failed_batches = self._failed_batches + 1 if failed_whole else 0
            if self._failed_batches < PAUSE_AFTER_FAILED_BATCHES:
                return {}
            failed, self._failed_batches = self._failed_batches, 0
        retry_at = now + timedelta(seconds=self.settings.provider_rest_seconds)
        reason = (f"provider {self.provider.name} failed {failed} batches in a row: "
                  f"{transient[-1].error}; trying again at {retry_at:%Y-%m-%d %H:%M} UTC")
        report.stopped = True
        return {i["campaign"].slug: (reason, retry_at) for i in claimed}

    def _retry(self, item: dict[str, Any], fault: Fault, now: datetime) -> dict[str, Any]:
        """Rewind the enrolment to this lesson, due again when its fault says, in its window."""
        campaign = item["campaign"]
        due = next_try(fault, item["attempts"], now)
        retry_at = next_send_time(due, self.timing(campaign, item["lesson"]),
                                  self.zone_of(item["subscriber"], campaign))
        return advance(item["enrolment_id"], item["lesson"].position, retry_at)

    def _known_fields(self) -> set[str]:
        """Subscriber fields some subscriber has: a lesson missing one for someone is held
        for that subscriber rather than paused for everyone."""
        if self._field_names is None:
            self._field_names = self.store.subscriber_field_names() | OPTIONAL_FIELDS
        return self._field_names


def project_engine(settings: Settings, clock: Clock, provider: Provider | None = None, *,
                   sending: bool = True) -> Engine:
    """An engine wired from settings: store at database_url, provider from its URL.
    `sending=False` for commands that only read or enrol: they need no credentials."""
    from sender.providers import get_provider

    store = Store(settings.resolved_database_url)
    if provider is None:
        provider = get_provider(settings.provider, project_dir=Path(settings.project_dir))
        if sending:
            # A missing API key fails here, naming its variable, not mid-batch; a relay that is
            # unreachable right now (restarting) is not fatal: each send retries and reports it.
            with contextlib.suppress(OSError):
                provider.open()
    return Engine(settings, store, provider, clock)
