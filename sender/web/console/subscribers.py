"""The console's subscribers: the list (search, tag, status), adding one, CSV export (the
import, which runs in the background, is `imports`), the confirmation email to pending
subscribers, and one subscriber's page (their story, their plan), where staff unsubscribe
or delete them. Each does what its `drip
subscribers …` command does, through the same functions."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path
from typing import Any

import werkzeug
from flask import Response, flash, g, redirect, request, send_file, url_for

from sender import optin
from sender.campaign import campaign_dirs
from sender.errors import DripError
from sender.store import AnyRow
from sender.store import console as queries
from sender.subscribers import (
    KNOWN_COLUMNS,
    STATUSES,
    InvalidSubscriber,
    add_subscriber,
    export_csv,
)
from sender.web import drip
from sender.web.console import NotFound, bp, cache, page


def split_tags(text: str) -> list[str]:
    """Tags typed in one field, separated by commas or semicolons."""
    return [t for t in re.split(r"[;,]", text) if t.strip()]


@bp.get("/subscribers")
def subscribers() -> tuple[str, int]:
    store = drip().engine.store
    q, tag, status = (request.args.get(k, "").strip() for k in ("q", "tag", "status"))
    after = request.args.get("after", "0")
    after_id = int(after) if after.isdigit() else 0
    rows = queries.search_subscribers(store, query=q, tag=tag, status=status if status in STATUSES else "",
                                      after=after_id, limit=queries.PAGE_SIZE + 1)
    more = len(rows) > queries.PAGE_SIZE
    rows = rows[:queries.PAGE_SIZE]
    courses = [p.name for p in campaign_dirs(drip().engine.settings.path("campaigns_dir"))]
    return page("console_subscribers.html", title="Subscribers", rows=rows, q=q, tag=tag, wanted=status,
                statuses=STATUSES, counts=queries.subscriber_status_counts(store), after=after_id,
                next_after=rows[-1].id if more else None, columns=sorted(KNOWN_COLUMNS), courses=courses)


@bp.post("/subscribers")
def subscriber_add() -> werkzeug.Response:
    """`drip subscribers add`."""
    engine = drip().engine
    try:
        subscriber_id, created = add_subscriber(
            engine.store, request.form.get("email", ""), now=engine.clock(),
            name=request.form.get("name", ""),
            timezone=request.form.get("timezone", "").strip() or None,
            tags=split_tags(request.form.get("tags", "")),
            consent_source=request.form.get("consent_source", "").strip() or "console")
    except InvalidSubscriber as exc:
        flash(f"Not added: {exc}", "error")
        return redirect(url_for("console.subscribers"))
    added = engine.store.subscriber(subscriber_id)
    assert added is not None, f"subscriber {subscriber_id} vanished right after being added"
    flash(("Added " if created else "Updated ") + str(added.email))
    return redirect(url_for("console.subscriber", subscriber_id=subscriber_id))


@bp.post("/subscribers/invite")
def subscribers_invite() -> werkzeug.Response | tuple[str, int]:
    """`drip subscribers invite`: the first POST shows how many it will mail; the second,
    carrying that number, sends, unless the number has changed meanwhile."""
    engine = drip().engine
    slug = request.form.get("campaign", "").strip() or None
    tag = request.form.get("tag", "").strip() or None
    plan = optin.plan_invitation(engine, slug, tag)  # refuses settings unfit for a real provider
    if not plan.count:
        flash(f"Nothing to send: {plan.describe()}.")
        return redirect(url_for("console.subscribers"))
    expected = request.form.get("expected", "")
    if expected != str(plan.count):
        return page("console_invite.html", title="Send the confirmation email", plan=plan,
                    slug=plan.campaign.slug, tag=tag or "", changed=expected.isdigit())
    report = optin.invite(engine, plan)
    flash(f"{report.summary()} ({plan.describe()}).",
          "error" if report.failed or report.stopped else "message")
    for email, error in report.failed[:20]:
        flash(f"failed: {email}: {error}", "error")
    return redirect(url_for("console.subscribers"))


@bp.get("/subscribers/export.csv")
def subscribers_export() -> Response:
    """`drip subscribers export`: every subscriber, custom fields as extra columns."""
    store = drip().engine.store
    handle = tempfile.NamedTemporaryFile(prefix="drip-export-", suffix=".csv", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    export_csv(store, path)
    data = path.read_bytes()
    path.unlink(missing_ok=True)
    return send_file(io.BytesIO(data), mimetype="text/csv", as_attachment=True,
                     download_name=f"subscribers-{drip().engine.clock():%Y%m%d}.csv")


def _subscriber_or_404(subscriber_id: int) -> AnyRow:
    row = drip().engine.store.subscriber(subscriber_id)
    if row is None:
        raise NotFound(f"no subscriber {subscriber_id} (deleted?)")
    return row


# -- one subscriber's story ----------------------------------------------------------------------


def _joined(row: AnyRow) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"at": row.created_at, "what": "added", "detail": row.consent_source or ""}]
    if row.consent_at and row.consent_at != row.created_at:
        items.append({"at": row.consent_at, "what": "confirmed", "detail": row.consent_source or ""})
    return items


def _enrolled(found: queries.Timeline) -> list[dict[str, Any]]:
    items = []
    for e in found.enrolments:
        items.append({"at": e.enrolled_at, "what": "enrolled", "detail": e.title or e.slug})
        if e.completed_at:
            items.append({"at": e.completed_at, "what": "completed", "detail": e.title or e.slug})
    return items


def _event_detail(ev: AnyRow, lessons: dict[int, AnyRow]) -> str:
    """Which lesson an event is about; else, for an unsubscribe, from what and how."""
    delivery = lessons.get(ev.delivery_id)
    data = ev.data or {}
    detail = f"{delivery.slug} / {delivery.lesson_key}" if delivery else (
        "everything" if data.get("scope") == "all" else data.get("source") or "")
    if ev.type == "clicked" and data.get("url"):
        detail += f" — {data['url']}"
    return str(detail)


def _timeline(row: AnyRow, found: queries.Timeline) -> list[dict[str, Any]]:
    """One subscriber's story, oldest first: joined, enrolled, each lesson
    sent/opened/clicked…, completed, unsubscribed."""
    lessons = {d.id: d for d in found.deliveries}
    items = _joined(row) + _enrolled(found)
    # Oldest first, so things at the same instant keep the order they happened in (sorted is stable).
    items += [{"at": d.sent_at or d.claimed_at or d.scheduled_at, "what": d.status,
               "detail": f"{d.slug} / {d.lesson_key}", "error": d.error} for d in reversed(found.deliveries)]
    items += [{"at": ev.at, "what": ev.type, "detail": _event_detail(ev, lessons)}
              for ev in reversed(found.events)]
    return sorted((i for i in items if i["at"] is not None), key=lambda i: i["at"])


@bp.get("/subscribers/<int:subscriber_id>")
def subscriber(subscriber_id: int) -> tuple[str, int]:
    engine = drip().engine
    row = _subscriber_or_404(subscriber_id)
    found = queries.subscriber_timeline(engine.store, subscriber_id)
    try:
        plan, plan_error = engine.plan(row.email), None  # `drip schedule --subscriber`
    except DripError as exc:
        plan, plan_error = [], str(exc)
    return page("console_subscriber.html", title=row.email, s=row, timeline=_timeline(row, found),
                enrolments=found.enrolments, plan=plan, plan_error=plan_error,
                suppressed=engine.store.is_suppressed(row.email))


@bp.post("/subscribers/<int:subscriber_id>/unsubscribe")
def subscriber_unsubscribe(subscriber_id: int) -> werkzeug.Response:
    engine = drip().engine
    row = _subscriber_or_404(subscriber_id)
    engine.store.unsubscribe(subscriber_id, None, engine.clock(), source=f"console ({g.user})")
    flash(f"Unsubscribed {row.email} from everything.")
    return redirect(url_for("console.subscriber", subscriber_id=subscriber_id))


@bp.post("/subscribers/<int:subscriber_id>/delete")
def subscriber_delete(subscriber_id: int) -> werkzeug.Response:
    engine = drip().engine
    _subscriber_or_404(subscriber_id)
    if request.form.get("confirm") != "yes":
        raise DripError("tick the box to confirm: deleting can't be undone")
    email = queries.delete_subscriber(engine.store, subscriber_id, engine.clock())
    cache.expire("deliveries", "events")
    flash(f"Deleted {email} and their history; the address stays blocked (kept only as a hash).")
    return redirect(url_for("console.subscribers"))
