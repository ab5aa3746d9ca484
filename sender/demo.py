"""`drip demo`: the whole job on embedded defaults (SQLite, local outbox).

The demo folder is a project of its own (templates, campaigns, database,
outbox) and is kept between runs, so a second run shows that nothing is sent
twice. A simulated clock jumps from one due time to the next: weeks in seconds.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sender.defaults import DEMO_ARTICLE
from sender.engine import Engine, TickReport
from sender.errors import DripError
from sender.providers.outbox import OutboxProvider
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store
from sender.subscribers import add_subscriber

CAMPAIGN = "glute-activation"
DEMO_SUBSCRIBERS = (
    ("maria@example.com", "Maria Silva", "Europe/Lisbon"),
    ("ken@example.com", "Ken Sato", "Asia/Tokyo"),
    ("ana@example.com", "Ana Costa", "America/Sao_Paulo"),
    ("sam@example.com", "Sam Lee", "America/Los_Angeles"),
    ("priya@example.com", "Priya Nair", "Asia/Kolkata"),
)
HORIZON = timedelta(days=120)  # a safety stop for the simulated clock


def _source_article(source_project: Path) -> Path:
    """The example project's article when run from it, else the copy the package ships."""
    found = sorted((source_project / "campaigns" / CAMPAIGN).glob("article.*"))
    if found:
        return found[0]
    if not DEMO_ARTICLE.is_file():
        raise DripError(f"{DEMO_ARTICLE}: the demo article is missing from this installation")
    return DEMO_ARTICLE


def run_demo(folder: Path, *, source_project: Path, console: Any,
             start: datetime | None = None) -> dict[str, Any]:
    from sender.content import split_article

    folder.mkdir(parents=True, exist_ok=True)
    templates = folder / "templates"
    if not templates.exists() and (source_project / "templates").is_dir():
        # The project's own overrides, if any; the packaged defaults fill in the rest.
        shutil.copytree(source_project / "templates", templates)
    # Embedded defaults whatever the environment says: the demo never mails anyone.
    settings = load_settings(folder).replace(
        database_url="sqlite:///dripcourse.db", provider="outbox://outbox",
        campaigns_dir="campaigns", templates_dir="templates",
    )
    campaign_dir = settings.path("campaigns_dir") / CAMPAIGN
    if campaign_dir.exists():
        console.print(f"using the course already split in {campaign_dir}")
    else:
        report = split_article(_source_article(source_project), campaign_dir)
        console.print(f"split the article into {len(report.lesson_files)} lessons in {campaign_dir}")

    clock = SimulatedClock(start or datetime.now(UTC).replace(microsecond=0))
    store = Store(settings.resolved_database_url)
    outbox = OutboxProvider(settings.provider, base_dir=settings.project_dir)
    engine = Engine(settings, store, outbox, clock)
    for email, name, tz in DEMO_SUBSCRIBERS:
        add_subscriber(store, email, now=clock(), name=name, timezone=tz, consent_source="demo")
    new = engine.enrol(CAMPAIGN)
    console.print(f"enrolled {new} new subscriber(s) at {clock():%Y-%m-%d %H:%M} UTC")

    total = TickReport()
    end = clock() + HORIZON
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating the course", total=None)
        while (due := store.next_due_at()) is not None and due <= end:
            clock.advance_to(due)
            total.add(engine.tick())
            progress.update(task, description=f"{clock():%Y-%m-%d %H:%M} UTC: {total.sent} sent")

    _print_log(store, console)
    console.print("this run: " + total.summary()
                  + (" (nothing new: every lesson was already delivered)" if not total.sent else ""))
    console.print(f".eml files: {outbox.directory}")
    for error in total.errors:
        console.print(f"[red]failed:[/red] {error}")
    store.close()
    return {"sent": total.sent, "failed": total.failed, "outbox": outbox.directory,
            "database": settings.resolved_database_url}


def _print_log(store: Store, console: Any) -> None:
    from zoneinfo import ZoneInfo

    from rich.table import Table

    table = Table("subscriber", "time zone", "lesson", "sent, their time", "sent, UTC")
    for row in store.delivery_log():
        when = local = ""
        if row.sent_at:
            local = row.sent_at.astimezone(ZoneInfo(row.timezone or "UTC")).strftime("%a %d %b %H:%M")
            when = row.sent_at.strftime("%d %b %H:%M")
        table.add_row(row.email, row.timezone or "UTC", str(row.position),
                      local or row.status, when)
    console.print(table)
