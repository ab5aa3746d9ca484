"""`drip newsletter …`: schedule, list and cancel newsletters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sender.cli.base import JsonFlag, console, iso, newsletter_app, print_json, print_table, settings
from sender.errors import DripError


@newsletter_app.command("schedule")
def newsletter_schedule(
    file: Annotated[Path, typer.Argument(help="Markdown with front matter (subject, preheader).")],
    at: Annotated[str | None, typer.Option(help="When, e.g. '2026-12-01 09:00'.")] = None,
    local: Annotated[bool, typer.Option(help="At that hour in each subscriber's own time zone.")]
    = False,
    segment: Annotated[str | None, typer.Option(
        help="Only subscribers with this tag, or matching tags with AND, OR, NOT and parentheses, "
             "e.g. '(beta OR vip) AND NOT churned'.")] = None,
    cron: Annotated[str | None, typer.Option(help="Recurring, e.g. '0 9 * * mon' (crontab fields).")]
    = None,
    timezone: Annotated[str | None, typer.Option(help="Zone of --at and --cron (default: settings).")]
    = None,
    now: Annotated[bool, typer.Option("--now", help="Send at the next tick: now, or an --at already past.")]
    = False,
) -> None:
    """Schedule a newsletter to every active subscriber (of a segment), once or on a cron.
    Refuses a time already past (unless --now) and a segment that matches nobody."""
    from datetime import UTC, datetime

    from sender.newsletters import schedule_newsletter
    from sender.store import Store

    s = settings()
    with Store(s.resolved_database_url) as store:
        done = schedule_newsletter(store, file, at=at, cron=cron, local=local, segment=segment,
                                   timezone=timezone or s.default_timezone, now=datetime.now(UTC),
                                   send_now=now, default_zone=s.default_timezone)
        row = next(r for r in store.newsletters() if r.id == done.id)
    where = "each subscriber's local time" if local else row.timezone
    console().print(f"scheduled newsletter {done.id} ({row.title!r}) for {done.reach}, at {row.wall_time} "
                    f"{where}" + (f", then {cron}" if cron else ""))


@newsletter_app.command("list")
def newsletter_list(as_json: JsonFlag = False) -> None:
    """Scheduled, sent and cancelled newsletters, newest first."""
    from sender.store import Store

    with Store(settings().resolved_database_url) as store:
        found = store.newsletters()
    if as_json:
        print_json({"newsletters": [
            {"id": r.id, "subject": r.title, "campaign": r.slug, "source": r.source, "status": r.status,
             "next_issue": r.wall_time if r.status == "scheduled" else None, "timezone": r.timezone,
             "local": bool(r.local), "segment": r.segment, "cron": r.cron,
             "next_run_at": iso(r.next_run_at), "created_at": iso(r.created_at)} for r in found]})
        return
    print_table(["id", "next issue", "subject", "zone", "segment", "repeats", "status"],
                 [[str(r.id), r.wall_time.replace("T", " ") if r.status == "scheduled" else "", r.title,
                   "subscriber's own" if r.local else r.timezone, r.segment or "everyone", r.cron or "",
                   r.status] for r in found], keys=2)


@newsletter_app.command("cancel")
def newsletter_cancel(newsletter_id: Annotated[int, typer.Argument(help="Newsletter id.")]) -> None:
    """Cancel a scheduled newsletter; what was already sent stays sent."""
    from sender.store import Store

    with Store(settings().resolved_database_url) as store:
        if not store.update_newsletter(newsletter_id, status="cancelled", next_run_at=None):
            raise DripError(f"no newsletter {newsletter_id}")
    console().print(f"cancelled newsletter {newsletter_id}")
