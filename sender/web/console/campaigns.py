"""The console's campaigns: the list, one campaign's page (its enrolments and each
lesson's funnel), and what staff do to a campaign there: start (`drip enrol`), pause,
resume and retry its failed deliveries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import werkzeug
from flask import current_app, flash, g, redirect, request, session, url_for

from sender import segments
from sender.campaign import Campaign, CampaignError, Lesson, campaign_dirs, load_campaign
from sender.campaign_edit import load_checked
from sender.engine_plan import enrolment_row
from sender.errors import DripError
from sender.lesson_fields import before_enrolling
from sender.store import console as queries
from sender.web import charts, drip
from sender.web.console import bp, cache, page, safe_next

if TYPE_CHECKING:
    from sender.engine import Engine
    from sender.providers.base import SendResult


def folders() -> dict[str, Path]:
    """The campaign folders by slug."""
    return {p.name: p for p in campaign_dirs(drip().engine.settings.path("campaigns_dir"))}


def read_campaign(slug: str) -> Campaign:
    """A campaign folder by slug, read now (the files are the source of truth); only
    folder names that exist, so a slug can't climb out of campaigns_dir. A bad timing
    rule fails here, naming its file, as the CLI does."""
    folder = folders().get(slug)
    if folder is None:
        raise CampaignError(f"no campaign folder {slug!r} in {drip().engine.settings.campaigns_dir}/")
    return load_checked(folder, drip().engine.settings)


def rate(part: int, whole: int) -> float | None:
    """part/whole, or None (shown as "–") when there is no whole."""
    return part / whole if whole else None


def _summary(enrolled: dict[str, int]) -> dict[str, Any]:
    total = sum(enrolled.values())
    return {"enrolled": total, "active": enrolled.get("active", 0), "paused": enrolled.get("paused", 0),
            "completed": enrolled.get("completed", 0), "stopped": enrolled.get("stopped", 0),
            "completion": rate(enrolled.get("completed", 0), total)}


@bp.get("/")
def campaigns() -> tuple[str, int]:
    store = drip().engine.store
    rows = {r.slug: r for r in store.campaigns()}
    counts = queries.enrolment_counts(store)
    listed = []
    found = folders()
    for slug, folder in found.items():
        error = title = None
        try:
            title = load_campaign(folder).title
        except DripError as exc:  # one broken folder must not hide the others
            error = str(exc)
        row = rows.get(slug)
        listed.append({"slug": slug, "title": title or slug, "error": error, "row": row, "folder": True,
                       **_summary(counts.get(row.id, {}) if row else {})})
    orphans = [{"slug": r.slug, "title": r.title or r.slug, "error": "campaign folder is missing", "row": r,
                "folder": False,
                **_summary(counts.get(r.id, {}))}
               for r in rows.values() if r.kind == "course" and r.slug not in found]
    return page("console_campaigns.html", title="Campaigns", campaigns=listed + orphans)


def _lesson_numbers(campaign_id: int | None, lessons: list[Lesson]) -> tuple[list[dict[str, Any]], float]:
    """Per lesson (and per lesson key no longer in the folder): the funnel figures."""
    delivered, happened, as_of = cache.counts()
    keys = [lesson.key for lesson in lessons]
    if campaign_id is not None:
        keys += sorted({k for c, k in delivered if c == campaign_id} - set(keys))
    rows = []
    for key in keys:
        by_status = delivered.get((campaign_id, key), {})
        by_event = happened.get((campaign_id, key), {})
        sent = by_status.get("sent", 0)
        row: dict[str, Any] = {
            "key": key, "label": key, "removed": key not in {lesson.key for lesson in lessons},
            "sent": sent, "failed": by_status.get("failed", 0), "sending": by_status.get("sending", 0),
            "queued": by_status.get("queued", 0), "held": by_status.get("held", 0),
            **{kind: by_event.get(kind, 0) for kind in queries.FUNNEL_EVENTS}}
        row["rates"] = {kind: rate(row[kind], sent) for kind in queries.FUNNEL_EVENTS}
        rows.append(row)
    subjects = {lesson.key: lesson.subject for lesson in lessons}
    for i, row in enumerate(rows, start=1):
        row["label"] = f"{i}. {subjects[row['key']]}" if not row["removed"] else f"(removed) {row['key']}"
    return rows, as_of


@bp.get("/campaigns/<slug>")
def campaign(slug: str) -> tuple[str, int]:
    engine = drip().engine
    loaded = read_campaign(slug)
    row = engine.store.campaign_by_slug(slug)
    summary = _summary(queries.enrolment_counts(engine.store, row.id).get(row.id, {}) if row else {})
    lessons, as_of = _lesson_numbers(row.id if row else None, list(loaded.lessons))
    chart = charts.funnel(loaded.title, [r["label"] for r in lessons], lessons)  # whole, wrapped
    preview = "preview" in current_app.blueprints
    return page("console_campaign.html", title=loaded.title, campaign=loaded, row=row, summary=summary,
                lessons=lessons, chart=chart, as_of=datetime.fromtimestamp(as_of, UTC), preview=preview,
                max_age=current_app.config["CONSOLE_STATS_MAX_AGE"], test_to=test_address())


def _audience_tag() -> str:
    """The segment the enrol form names ("" for all active subscribers)."""
    if request.form.get("audience") != "tag":
        return ""
    tag = request.form.get("tag", "").strip()
    if not tag:
        raise DripError("say which segment to enrol (a tag, or tags with AND, OR, NOT), "
                        "or choose all active subscribers")
    return tag


def _enrol_segment(engine: Engine, slug: str, tag: str) -> int:
    """Enrol the active subscribers of segment `tag`, as `Engine.enrol` enrols everyone."""
    segments.parse(tag)  # a malformed expression is refused before anything is stored
    campaign_id, loaded = engine.load(slug)
    now = engine.clock()
    return engine.store.enrol([enrolment_row(campaign_id, loaded, s, now, engine.settings)
                               for s in queries.active_subscribers_in_segment(engine.store, tag)])


def _say_enrolled(engine: Engine, slug: str, tag: str, new: int, warnings: list[str]) -> None:
    row = engine.store.campaign_by_slug(slug)
    paused = " The campaign is paused: resume it to send." if row and row.status == "paused" else ""
    who = f" {segments.audience_word(tag)} {tag}" if tag else ""
    flash(f"Enrolled {new:,} new subscriber(s){who} in {slug}.{paused}")
    for warning in warnings:
        flash(f"Note: {warning}")


@bp.post("/campaigns/<slug>/start")
def start(slug: str) -> werkzeug.Response | tuple[str, int]:
    """Enrol all active subscribers, or a segment's (a tag expression, `sender.segments`) (`drip enrol`)."""
    engine = drip().engine
    read_campaign(slug)
    warnings = before_enrolling(engine.store, engine.settings.path("campaigns_dir") / slug)
    tag = _audience_tag()
    # Enrolling mails lesson 1 to everyone it adds: the first POST shows how many; the
    # second, carrying that number, enrols, unless the number changed meanwhile (as invite).
    existing = engine.store.campaign_by_slug(slug)
    reach = queries.enrolment_reach(engine.store, existing.id if existing else None, tag or None)
    if not reach:
        within = f" in {tag}" if tag else ""
        flash(f"Nothing to enrol: every active subscriber{within} is already in {slug}." if existing
              else f"Nothing to enrol: no active subscriber{within}.")
        return redirect(url_for("console.campaign", slug=slug))
    expected = request.form.get("expected", "")
    if expected != str(reach):
        return page("console_enrol.html", title=f"Enrol in {slug}", slug=slug, reach=reach, tag=tag,
                    audience="tag" if tag else "all", changed=expected.isdigit(), warnings=warnings)
    new = _enrol_segment(engine, slug, tag) if tag else engine.enrol(slug)
    cache.forget("upcoming")
    _say_enrolled(engine, slug, tag, new, warnings)
    return redirect(url_for("console.campaign", slug=slug))


def _set_campaign(slug: str, paused: bool) -> werkzeug.Response:
    """`drip pause` / `drip resume` of a whole campaign."""
    store = drip().engine.store
    if not store.set_campaign_status(slug, "paused" if paused else "active",
                                     f"paused by {g.user} in the console" if paused else None):
        raise DripError(f"no campaign {slug!r} in the store (start it first)")
    cache.forget("upcoming")
    flash(f"{'Paused' if paused else 'Resumed'} {slug}."
          + ("" if paused else " Late lessons go out in each subscriber's next send window."))
    back = request.form.get("back")
    return redirect(safe_next(back) if back else url_for("console.campaign", slug=slug))


@bp.post("/campaigns/<slug>/retry")
def retry(slug: str) -> werkzeug.Response:
    """`drip retry CAMPAIGN[/LESSON]`: queue failed deliveries again."""
    engine = drip().engine
    read_campaign(slug)
    lesson = request.form.get("lesson", "").strip() or None
    n = queries.retry_failed(engine.store, slug, engine.clock(), by=g.user, lesson=lesson)
    cache.forget("upcoming")
    flash(f"Queued {n:,} failed deliver{'y' if n == 1 else 'ies'} of {slug}{f'/{lesson}' if lesson else ''} "
          "again; suppressed and unsubscribed addresses are left alone.")
    return redirect(url_for("console.campaign", slug=slug))


@bp.post("/campaigns/<slug>/pause")
def pause(slug: str) -> werkzeug.Response:
    return _set_campaign(slug, paused=True)


@bp.post("/campaigns/<slug>/resume")
def resume(slug: str) -> werkzeug.Response:
    return _set_campaign(slug, paused=False)


def test_address() -> str:
    """Where a test goes: the address this staff member last sent a test to (kept in their
    session), else the Reply-To mailbox, which is usually a staff one."""
    from email.utils import parseaddr

    return str(session.get("test_to") or parseaddr(drip().engine.settings.reply_to)[1])


def send_test_to(send: Callable[[str], SendResult], what: str) -> None:
    """Send one test to the form's address and say how it went (a refused setting or
    address is a DripError, shown as the page's error)."""
    to = request.form.get("to", "").strip()
    if not to:
        raise DripError("say which address the test goes to")
    from email.utils import parseaddr

    result = send(to)
    address = session["test_to"] = parseaddr(result.message.to)[1]  # as normalised
    if result.ok:
        flash(f"Sent a test of {what} to {address} through {drip().engine.provider.name}.")
    else:
        flash(f"The test of {what} to {address} failed: {result.error or 'refused'}", "error")


@bp.post("/campaigns/<slug>/test")
def send_test(slug: str) -> werkzeug.Response:
    """`drip send-test CAMPAIGN LESSON --to ADDRESS`: one lesson, marked [Test], recorded nowhere."""
    from sender.sample import SAMPLE_NAME, find_lesson
    from sender.sample import send_test as send

    engine = drip().engine
    campaign = read_campaign(slug)
    lesson = find_lesson(campaign, request.form.get("lesson", "").strip() or "1")
    send_test_to(lambda to: send(engine, slug, lesson.key, to, name=SAMPLE_NAME),
                 f"lesson {lesson.position} ({lesson.subject})")
    return redirect(url_for("console.campaign", slug=slug))
