"""The console's deliverability page: bounce and complaint rates per campaign against
the mailbox providers' limits, suppressions, paused campaigns, deliveries in flight and
those of unknown outcome (`sender.store.reports`), which staff settle here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import werkzeug
from flask import flash, g, redirect, request, url_for

from sender.errors import DripError
from sender.store import console as queries
from sender.store.reports import STALE_AFTER
from sender.web import drip
from sender.web.console import bp, cache, page
from sender.web.console.campaigns import rate

# Gmail/Yahoo bulk-sender rules: spam complaints must stay under 0.3% (Gmail asks
# for under 0.1%). Bounces have no published mailbox-provider limit; 2% is the
# common guidance above which providers start to look hard at a sender.
COMPLAINT_LIMIT, COMPLAINT_AIM = 0.003, 0.001
BOUNCE_LIMIT = 0.02


def _level(value: float | None, limit: float, aim: float | None = None) -> str:
    if value is None:
        return "none"
    if value >= limit:
        return "bad"
    return "warn" if aim is not None and value >= aim else "ok"


def _per_campaign(delivered: dict[Any, dict[str, int]], happened: dict[Any, dict[str, int]]
                  ) -> dict[int, dict[str, int]]:
    """The per-lesson counts added up per campaign (events as ev_TYPE)."""
    per: dict[int, dict[str, int]] = {}
    for (cid, _), by_status in delivered.items():
        totals = per.setdefault(cid, {})
        for k, n in by_status.items():
            totals[k] = totals.get(k, 0) + n
    for (cid, _), by_event in happened.items():
        totals = per.setdefault(cid, {})
        for k, n in by_event.items():
            totals[f"ev_{k}"] = totals.get(f"ev_{k}", 0) + n
    return per


@bp.get("/deliverability")
def deliverability() -> tuple[str, int]:
    engine = drip().engine
    delivered, happened, as_of = cache.counts()
    per = _per_campaign(delivered, happened)
    rows = []
    for c in engine.store.campaigns():
        t = per.get(c.id, {})
        sent = t.get("sent", 0)
        bounce, complaint = rate(t.get("ev_bounced", 0), sent), rate(t.get("ev_complained", 0), sent)
        rows.append({"c": c, "sent": sent, "failed": t.get("failed", 0), "bounced": t.get("ev_bounced", 0),
                     "complained": t.get("ev_complained", 0), "bounce": bounce, "complaint": complaint,
                     "bounce_level": _level(bounce, BOUNCE_LIMIT),
                     "complaint_level": _level(complaint, COMPLAINT_LIMIT, COMPLAINT_AIM)})
    recent, stale, unknown = queries.in_flight(engine.store, engine.clock())
    return page("console_deliverability.html", title="Deliverability", rows=rows,
                suppressed=queries.suppression_counts(engine.store),
                paused=queries.paused_campaigns(engine.store), recent=recent, stale=stale, unknown=unknown,
                stale_minutes=int(STALE_AFTER.total_seconds() // 60),
                as_of=datetime.fromtimestamp(as_of, UTC),
                complaint_limit=COMPLAINT_LIMIT, complaint_aim=COMPLAINT_AIM, bounce_limit=BOUNCE_LIMIT)


@bp.post("/deliverability/resolve")
def resolve() -> werkzeug.Response:
    """Settle deliveries whose outcome is unknown, as the provider's log shows them."""
    engine = drip().engine
    outcome = request.form.get("outcome", "")
    if outcome not in queries.RESOLUTIONS:
        raise DripError("choose what happened: sent, failed, or send again")
    if request.form.get("all") == "yes":
        ids = [r.id for r in queries.in_flight(engine.store, engine.clock())[2]]
    else:
        ids = [int(i) for i in request.form.getlist("id") if i.isdigit()]
    if not ids:
        raise DripError("tick the deliveries to resolve, or 'every one listed'")
    done = queries.resolve_deliveries(engine.store, ids, outcome, engine.clock(), by=g.user)
    cache.expire("deliveries")
    said = {"sent": "marked sent", "failed": "marked failed", "retry": "queued to send again"}[outcome]
    flash(f"{done} deliver{'y' if done == 1 else 'ies'} {said}.")
    return redirect(url_for("console.deliverability"))
