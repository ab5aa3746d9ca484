"""What is going on and staff's levers: status, schedule, pause, resume, retry."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sender.cli.base import JsonFlag, app, console, engine, iso, print_json, print_table, settings
from sender.errors import DripError


@app.command()
def status(days: Annotated[int, typer.Option(help="Days of upcoming sends to chart.")] = 14,
           as_json: JsonFlag = False) -> None:
    """Per campaign: enrolments, sends per lesson, what is due, and outcomes still unknown."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    figures = _status_figures(now, days)
    if as_json:
        print_json({"generated_at": iso(now), "campaigns": figures})
        return
    _print_status_table(figures)
    _print_status_notes(figures)


def _status_figures(now: Any, days: int) -> list[dict[str, Any]]:
    """`drip status`'s figures per campaign (its --json document's "campaigns")."""
    from datetime import timedelta

    from sender.store import Store
    from sender.store.reports import unknown_outcomes_per_campaign

    with Store(settings().resolved_database_url) as store:
        summary = store.campaign_summary()
        unknown = unknown_outcomes_per_campaign(store, now)  # the console's figure too
        per_lesson = {c["id"]: {key: n["sent"] for key, n in c["lessons"].items() if n.get("sent")}
                      for c in summary}  # counted with the summary: one pass over deliveries
        upcoming = store.upcoming_per_day(now.replace(hour=0, minute=0, second=0, microsecond=0), days)
        soon = store.upcoming_per_day(now, 1)
    chart_days = [(now + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)]
    figures = []
    for c in summary:
        e, d = c["enrolments"], c["deliveries"]
        figures.append({
            "slug": c["slug"], "status": c["status"], "paused_reason": c["paused_reason"],
            "enrolled": sum(e.values()), "active": e.get("active", 0), "completed": e.get("completed", 0),
            "sent": d.get("sent", 0), "failed": d.get("failed", 0), "held": d.get("held", 0),
            "due_in_24h": sum(soon.get(c["id"], {}).values()), "unknown_outcome": unknown.get(c["id"], 0),
            "sent_per_lesson": dict(sorted(per_lesson.get(c["id"], {}).items())),
            "due_per_day": {day: upcoming.get(c["id"], {}).get(day, 0) for day in chart_days},
        })
    return figures


def _print_status_table(figures: list[dict[str, Any]]) -> None:
    # (key, header, label in the narrow layout); headers in two lines keep the columns narrow
    columns = [("enrolled", "enrolled", "enrolled"), ("active", "active", "active"),
               ("completed", "completed", "completed"), ("due_in_24h", "due in\n24 h", "due in 24 h"),
               ("sent", "sent", "sent"), ("failed", "failed", "failed"), ("held", "held", "held"),
               ("unknown_outcome", "unknown\noutcome", "unknown outcome")]

    def two_per_line(row: list[str]) -> str:  # the figures, when they do not fit side by side
        pairs = [f"{label} {value}" for (_, _, label), value in zip(columns, row[2:], strict=True)]
        return "\n".join(" · ".join(pairs[i:i + 2]) for i in range(0, len(pairs), 2))

    print_table(["campaign", "state", *(head for _, head, _ in columns)],
                 [[f["slug"], f["status"], *(str(f[key]) for key, _, _ in columns)] for f in figures],
                 keys=2, stacked=two_per_line)


def _print_status_notes(figures: list[dict[str, Any]]) -> None:
    """Below the table: pause reasons, sends per lesson, the due chart, held and unknown."""
    from rich.markup import escape

    from sender.store.reports import STALE_AFTER

    out = console()
    for f in figures:  # below the table, whole: a reason can hold a file path
        if f["paused_reason"]:
            out.print(f"{f['slug']}: {f['status']} ({f['paused_reason']})", markup=False, highlight=False)
    for f in figures:
        slug = escape(f["slug"])
        if f["sent_per_lesson"]:
            out.print(f"[bold]{slug}[/bold] sent per lesson: "
                      + ", ".join(f"{escape(key)} {n}" for key, n in f["sent_per_lesson"].items()))
        if any(f["due_per_day"].values()):
            out.print(f"[bold]{slug}[/bold] next lessons due per day (UTC):")
            peak = max(f["due_per_day"].values())
            for day, n in f["due_per_day"].items():
                out.print(f"  {day} {'█' * max(1 if n else 0, round(30 * n / peak))} {n}")
        # Prose, no paths: let Rich wrap it at word boundaries.
        if n := f["held"]:
            out.print(f"[yellow]{slug}: {n} lesson(s) held because the subscriber lacks a field "
                      "the lesson uses; each goes once the field is set or the lesson gives a default "
                      "(`drip schedule --subscriber EMAIL` says which).[/yellow]", soft_wrap=False)
        if n := f["unknown_outcome"]:
            minutes = int(STALE_AFTER.total_seconds() // 60)
            out.print(f"[yellow]{slug}: {n} deliveries were handed to a worker that stopped "
                      f"before recording the outcome (in 'sending' for over {minutes} minutes); they "
                      "are not resent automatically. Check the provider's log, then settle them on "
                      "the console's Deliverability page.[/yellow]", soft_wrap=False)


@app.command()
def schedule(subscriber: Annotated[str, typer.Option(help="The subscriber's email address.")],
             as_json: JsonFlag = False) -> None:
    """Every lesson of a subscriber's courses: when it went or will go out, in their time and UTC."""
    from sender.subscribers import normalise_email

    email = normalise_email(subscriber)
    plan = engine().plan(email)
    if as_json:
        print_json({"subscriber": email, "lessons": [
            {"campaign": row["campaign"], "lesson": row["lesson"], "state": row["state"],
             "reason": row["reason"], "utc": iso(row["utc"]),
             "local": row["local"].isoformat(timespec="seconds") if row["local"] else None,
             "timezone": str(row["local"].tzinfo) if row["local"] else None} for row in plan]})
        return
    rows = []
    for row in plan:
        local = row["local"].strftime("%a %d %b %Y %H:%M %Z") if row["local"] else ""
        utc = row["utc"].strftime("%Y-%m-%d %H:%M") if row["utc"] else ""
        state = f"{row['state']}: {row['reason']}" if row["state"] == "held" else row["state"]
        rows.append([row["campaign"], row["lesson"], state, local, utc])
    print_table(["campaign", "lesson", "state", "their time", "UTC"], rows, keys=2)


@app.command()
def pause(
    campaign: Annotated[str, typer.Argument(help="Campaign slug.")],
    subscriber: Annotated[str | None, typer.Option(help="Only this subscriber's enrolment.")] = None,
) -> None:
    """Pause a whole campaign, or one subscriber in it."""
    _set_state(campaign, subscriber, paused=True)


@app.command()
def resume(
    campaign: Annotated[str, typer.Argument(help="Campaign slug.")],
    subscriber: Annotated[str | None, typer.Option(help="Only this subscriber's enrolment.")] = None,
) -> None:
    """Resume a paused campaign or subscriber; late lessons go out in the next send window."""
    _set_state(campaign, subscriber, paused=False)


@app.command()
def retry(
    target: Annotated[str, typer.Argument(help="CAMPAIGN or CAMPAIGN/LESSON (the lesson file's name).")],
    subscriber: Annotated[str | None, typer.Option(help="Only this subscriber's deliveries.")] = None,
) -> None:
    """Queue failed deliveries again: each goes at the next tick, in its send window.
    Suppressed and unsubscribed addresses are never retried."""
    from datetime import UTC, datetime

    from sender.store import Store
    from sender.store.console import retry_failed
    from sender.subscribers import normalise_email

    campaign, _, lesson = target.partition("/")
    with Store(settings().resolved_database_url) as store:
        if store.campaign_by_slug(campaign) is None:
            raise DripError(f"no campaign {campaign!r} in the store (enrol someone first)")
        n = retry_failed(store, campaign, datetime.now(UTC), "drip retry",
                         lesson=lesson.removesuffix(".md") or None,
                         email=normalise_email(subscriber) if subscriber else None)
    console().print(f"queued {n} failed deliver{'y' if n == 1 else 'ies'} of {target} again")


def _set_state(campaign: str, subscriber: str | None, *, paused: bool) -> None:
    from sender.store import Store
    from sender.subscribers import normalise_email

    with Store(settings().resolved_database_url) as store:
        if subscriber:
            changed = store.set_enrolment_status(normalise_email(subscriber), campaign,
                                                 "paused" if paused else "active")
            if not changed:
                raise DripError(f"{subscriber} is not enrolled in {campaign}")
        elif not store.set_campaign_status(campaign, "paused" if paused else "active",
                                           "paused by staff" if paused else None):
            raise DripError(f"no campaign {campaign!r} in the store (enrol someone first)")
    console().print(f"{'paused' if paused else 'resumed'} {campaign}"
                    + (f" for {subscriber}" if subscriber else ""))
