"""`drip subscribers …` and `drip enrol`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sender.cli.base import (
    JsonFlag,
    app,
    console,
    engine,
    iso,
    print_json,
    print_table,
    settings,
    subscribers_app,
)
from sender.errors import DripError


@subscribers_app.command("add")
def subscribers_add(
    email: Annotated[str, typer.Argument(help="Email address.")],
    name: Annotated[str, typer.Option(help="Full name.")] = "",
    timezone: Annotated[str | None, typer.Option(help="IANA time zone, e.g. Europe/Lisbon.")] = None,
    consent_source: Annotated[str, typer.Option(help="Where consent was given.")] = "cli",
    tag: Annotated[list[str] | None, typer.Option(help="Tag (repeatable).")] = None,
) -> None:
    """Add or update one subscriber (consented, active)."""
    from datetime import UTC, datetime

    from sender.store import Store
    from sender.subscribers import add_subscriber

    with Store(settings().resolved_database_url) as store:
        _, created = add_subscriber(store, email, now=datetime.now(UTC), name=name, tags=tag or [],
                                    timezone=timezone, consent_source=consent_source)
    console().print(("added " if created else "updated ") + email)


@subscribers_app.command("import")
def subscribers_import(
    file: Annotated[Path, typer.Argument(help="CSV with an email column; name, timezone, tags optional.")],
    consent_source: Annotated[str, typer.Option(help="Where these people consented (recorded).")]
    = "import",
    pending: Annotated[bool, typer.Option(
        "--pending", help="Not yet consented: import as pending, to confirm by double opt-in.")] = False,
    map_: Annotated[list[str] | None, typer.Option(
        "--map", metavar="FIELD=COLUMN",
        help="CSV column for email, name, first_name, last_name, timezone or tags, when its "
             "header is not one of the usual names.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Tag every imported subscriber.")] = None,
    encoding: Annotated[str | None, typer.Option(
        help="The file's encoding, e.g. windows-1250, when it is neither UTF-8 nor detected.")] = None,
) -> None:
    """Import subscribers from CSV: new, updated, duplicate and rejected rows are reported by
    line; a bad row never stops the others, a file that cannot be read safely imports nothing."""
    if not file.is_file():
        raise DripError(f"CSV file not found: {file}")
    from datetime import UTC, datetime

    from rich.progress import Progress

    from sender.store import Store
    from sender.subscribers import import_csv, open_csv

    mapping = {}
    for item in map_ or []:
        ours, sep, theirs = item.partition("=")
        if not sep:
            raise DripError(f"--map {item!r}: expected FIELD=COLUMN, e.g. email='E-mail address'")
        mapping[ours.strip()] = theirs
    source = open_csv(file, mapping=mapping, encoding=encoding)  # refuses before writing anything
    with Store(settings().resolved_database_url) as store, Progress(console=console()) as bar:
        task = bar.add_task(f"importing {file.name}", total=source.rows)
        report = import_csv(store, source, now=datetime.now(UTC), tags=tag or [],
                            status="pending" if pending else "active",
                            consent_source=None if pending else consent_source,
                            progress=lambda n: bar.advance(task, n))
    out = console()
    out.print(report.summary(), markup=False, highlight=False)
    for note in report.notes():
        out.print(note, markup=False, highlight=False)
    for line in report.row_lines(str(file)):
        print(line, file=sys.stderr if ": rejected: " in line else sys.stdout)


@subscribers_app.command("invite")
def subscribers_invite(
    campaign: Annotated[str | None, typer.Option(
        help="The course the confirmation enrols in (needed when there are several).")] = None,
    tag: Annotated[str | None, typer.Option(help="Only pending subscribers with this tag.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say how many would get it; send nothing.")]
    = False,
) -> None:
    """Send the double opt-in (confirmation) email to pending subscribers, e.g. after
    `import --pending`; following its link confirms them and enrols them in the course.
    Exits 1 if the provider refused any."""
    from sender.optin import invite, plan_invitation

    eng = engine(sending=not dry_run)
    plan = plan_invitation(eng, campaign, tag)
    if dry_run or not plan.count:
        console().print(f"{'would send' if plan.count else 'nothing to send:'} the confirmation email to "
                        f"{plan.describe()}", markup=False, highlight=False)
        return
    report = invite(eng, plan)
    console().print(f"{report.summary()} ({plan.describe()}, through {eng.provider.name})",
                    markup=False, highlight=False)
    for email, error in report.failed[:50]:
        print(f"failed: {email}: {error}", file=sys.stderr)
    if report.failed or report.stopped:
        raise typer.Exit(1)


@subscribers_app.command("export")
def subscribers_export(file: Annotated[Path, typer.Argument(help="CSV file to write.")]) -> None:
    """Export every subscriber, with custom fields as extra columns."""
    from sender.store import Store
    from sender.subscribers import export_csv

    with Store(settings().resolved_database_url) as store:
        count = export_csv(store, file)
    console().print(f"exported {count} subscriber(s) to {file}")


@subscribers_app.command("list")
def subscribers_list(limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
                     as_json: JsonFlag = False) -> None:
    """List subscribers, oldest first."""
    from sender.store import Store

    with Store(settings().resolved_database_url) as store:
        found = store.subscribers(limit)
    if as_json:
        print_json({"subscribers": [
            {"email": s.email, "name": s.name, "timezone": s.timezone, "status": s.status,
             "tags": list(s.tags or []), "fields": dict(s.fields or {}),
             "consent_source": s.consent_source, "consent_at": iso(s.consent_at),
             "created_at": iso(s.created_at)} for s in found]})
        return
    print_table(["email", "status", "name", "timezone", "tags", "consent"],
                 [[s.email, s.status, s.name, s.timezone or "", ", ".join(s.tags or []),
                   s.consent_source or ""] for s in found], keys=2)


@app.command()
def enrol(
    campaign: Annotated[str, typer.Argument(help="Campaign slug.")],
    email: Annotated[list[str] | None, typer.Option(help="Only these subscribers (repeatable).")]
    = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Say how many would be enrolled and the first few; enrol nobody.")] = False,
) -> None:
    """Enrol subscribers in a course (all active subscribers unless --email is given).
    Lints the campaign first: refuses on errors, and says who lacks a field a lesson uses."""
    from sender.lesson_fields import before_enrolling
    from sender.subscribers import normalise_email

    emails = [normalise_email(e) for e in email] if email else None
    eng = engine()
    for warning in before_enrolling(eng.store, settings().path("campaigns_dir") / campaign):
        print(f"warning: {warning}", file=sys.stderr)
    if dry_run:
        from sender.store.reports import would_enrol

        count, first, already = would_enrol(eng.store, campaign, emails)
        lines = [f"would enrol {count:,} new subscriber(s) in {campaign}"
                 + (f" ({already:,} enrolled already)" if already else "") + "; dry run: nobody enrolled",
                 *(f"  {address}" for address in first)]
        if count > len(first):
            lines.append(f"  and {count - len(first):,} more")
        console().print("\n".join(lines), markup=False, highlight=False)
        return
    new = eng.enrol(campaign, emails)
    console().print(f"enrolled {new} new subscriber(s) in {campaign}")
