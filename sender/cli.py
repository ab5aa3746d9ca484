"""The `drip` command. Heavy modules are imported inside commands so that
`drip --help` answers at once."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sender.errors import DripError

if TYPE_CHECKING:
    from sender.engine import Engine
    from sender.settings import Settings

app = typer.Typer(
    help="Turn a long article into a drip email course and send it on each subscriber's clock.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
subscribers_app = typer.Typer(help="Add, import and list subscribers.", no_args_is_help=True)
app.add_typer(subscribers_app, name="subscribers")
newsletter_app = typer.Typer(help="Schedule, list and cancel one-off or recurring newsletters.",
                             no_args_is_help=True)
app.add_typer(newsletter_app, name="newsletter")


class State:
    project: Path = Path(".")
    overrides: dict[str, str] = {}  # noqa: RUF012 - one CLI invocation per process


def settings() -> Settings:
    from sender.settings import load_settings

    return load_settings(State.project, State.overrides)


def engine(*, sending: bool = False) -> Engine:
    """The project's engine; `sending` opens the provider first, so a missing API key is
    reported before any work starts, and before that refuses settings that would put broken
    links or sample addresses in real mail (every command that sends comes through here)."""
    from sender.engine import project_engine
    from sender.schedule import system_clock

    s = settings()
    if sending:
        from sender.readiness import refuse_unready

        refuse_unready(s, s.provider)
    return project_engine(s, system_clock, sending=sending)




def console() -> Any:
    from rich.console import Console

    return Console()


@app.callback()
def root(
    project: Annotated[Path, typer.Option("--project", "-C", help="Project folder (holds dripcourse.toml).")]
    = Path("."),
    set_: Annotated[list[str] | None, typer.Option(
        "--set", "-s", metavar="NAME=VALUE", help="Override a setting (see `drip settings`).")] = None,
) -> None:
    State.project = project
    State.overrides = {}
    for item in set_ or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise DripError(f"--set {item!r}: expected NAME=VALUE")
        State.overrides[name.strip()] = value


@app.command("settings")
def settings_cmd() -> None:
    """Print every setting, its value, and where the value came from."""
    from rich.table import Table

    from sender.settings import SETTINGS

    s = settings()
    table = Table("setting", "value", "from", "help")
    for setting in SETTINGS:
        value = getattr(s, setting.name)
        shown = "(hidden)" if setting.secret and value else ("" if value is None else str(value))
        table.add_row(setting.name, shown, s.sources[setting.name], setting.help)
    console().print(table)


@app.command()
def split(
    article: Annotated[str, typer.Argument(help="A .txt, .md or .html file, or an http(s) URL.")],
    campaign: Annotated[str, typer.Option("--campaign", "-c", help="Campaign slug (folder name).")],
    lessons: Annotated[int | None, typer.Option(help="How many lessons (default: one per section).")]
    = None,
    fmt: Annotated[str | None, typer.Option("--format", help="txt, md or html (default: by extension).")]
    = None,
    title: Annotated[str | None, typer.Option(help="Course title (default: the article's).")] = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="Where the article is published: relative image addresses resolve against it.")]
    = None,
    encoding: Annotated[str | None, typer.Option(
        help="The article's text encoding, e.g. iso-8859-2 (default: detected).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the outline, the lesson plan and the removed site text; write nothing.")]
    = False,
    force: Annotated[bool, typer.Option(help="Overwrite lesson files edited by hand.")] = False,
) -> None:
    """Split an article into a campaign folder of lesson files."""
    from dataclasses import replace

    from sender.content import split_article
    from sender.content.pipeline import campaign_folder
    from sender.content.readers import Source

    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise DripError(f"--base-url {base_url!r}: expected an http:// or https:// address")
    target = campaign_folder(settings().path("campaigns_dir"), campaign)
    from sender.content.fetch import fetch_article, is_url

    if is_url(article):
        source = replace(fetch_article(article, fmt), encoding=encoding)
    else:
        path = Path(article)
        if not path.is_file():
            raise DripError(f"article file not found: {path}")
        source = Source.from_file(path, fmt, encoding)
    report = split_article(
        source, target, lessons=lessons, force=force, title=title, base_url=base_url, dry_run=dry_run
    )
    out = console()
    for note in report.notes:
        out.print(f"note: {note}", markup=False, highlight=False)
    if dry_run:
        _print_plan(report)
    else:
        for path in report.lesson_files:
            out.print(f"wrote {path}", markup=False, highlight=False)
    if _print_findings(report.findings):
        raise typer.Exit(1)


def _print_plan(report: Any) -> None:
    """`drip split --dry-run`: what the splitter saw and what it would write."""
    from rich.markup import escape

    out = console()
    out.print(f"[bold]{escape(report.title)}[/]  (dry run: nothing written)")
    out.print("\n[bold]Outline[/] (* = a section the lessons follow)")
    for entry in report.outline:
        mark = "*" if entry.section else " "
        where = f"line {entry.line}" if entry.line else ""
        out.print(f" {mark} {'  ' * (entry.level - 1)}{escape(entry.text)}  "
                  f"[dim]h{entry.level}, {entry.words} words {where}[/]")  # fmt: skip
    if not report.outline:
        out.print("  (no headings: lessons are cut by length)")
    out.print(f"\n[bold]Lessons[/] ({len(report.lessons)}) into {escape(str(report.campaign_dir))}")
    for lesson, path in zip(report.lessons, report.lesson_files, strict=True):
        out.print(f"  {path.name}  [dim]{lesson.words} words[/]")
        out.print(f"      {escape(lesson.subject)}")
    out.print(f"\n[bold]Site text removed[/] ({len(report.chrome)})")
    for text in report.chrome:
        out.print(f"  - {escape(text)}")


def _print_findings(findings: list[Any]) -> int:
    errors = 0
    for finding in findings:
        print(str(finding), file=sys.stderr)
        errors += finding.severity == "error"
    return errors


@app.command()
def lint(campaign: Annotated[str, typer.Argument(help="Campaign slug.")]) -> None:
    """Check a campaign's lessons; exits non-zero only on errors."""
    from sender.content import lint_campaign

    folder = settings().path("campaigns_dir") / campaign
    if not folder.is_dir():
        raise DripError(f"no campaign folder {folder}")
    findings = lint_campaign(folder)
    if not any(f.severity == "error" for f in findings):  # the lessons load: render them too
        findings += _render_findings(folder)
    findings += _readiness_findings()
    if _print_findings(findings):
        raise typer.Exit(1)


def _readiness_findings() -> list[Any]:
    """What `drip tick` would refuse, as warnings: lint is where people look before sending."""
    from sender.content import Finding
    from sender.readiness import sending_problems
    from sender.settings import CONFIG_FILE

    s = settings()
    return [Finding("warning", s.project_dir / CONFIG_FILE, 0, problem)
            for problem in sending_problems(s, s.provider)]


def _render_findings(folder: Path) -> list[Any]:
    """Render errors and oversize HTML (Gmail clips it), as lint findings on the lesson file."""
    from sender.campaign import load_campaign
    from sender.content import Finding
    from sender.render import RenderError, html_size_problem

    s = settings()
    try:
        loaded = load_campaign(folder)
    except DripError as exc:
        return [Finding("error", folder, 0, str(exc))]
    findings = []
    for lesson, message in _sample_messages(s, loaded):
        if isinstance(message, RenderError):
            findings.append(Finding("error", lesson.path, 0, str(message)))
        elif problem := html_size_problem(lesson.path, message.html):
            findings.append(Finding("error", lesson.path, 0, problem.removeprefix(f"{lesson.path}: ")))
    return findings


def _sample_messages(s: Settings, loaded: Any, name: str = "Alex Sample", email: str = "alex@example.com",
                     timezone: str = "UTC") -> list[tuple[Any, Any]]:
    """(lesson, OutgoingMessage or RenderError) for each lesson, for a sample subscriber."""
    from datetime import UTC, datetime

    from sender.messages import compose
    from sender.render import Renderer, RenderError
    from sender.sample import sample_subscriber

    renderer = Renderer(s.path("templates_dir"), s)
    sample = sample_subscriber(email, name, timezone)
    now = datetime.now(UTC)
    out: list[tuple[Any, Any]] = []
    for lesson in loaded.lessons:
        try:
            out.append((lesson, compose(
                settings=s, renderer=renderer, compiled=renderer.compile(loaded, lesson),
                subscriber=sample, signing_key=s.signing_key or "preview-only", now=now,
                delivery_key=f"preview:{loaded.slug}:{lesson.key}:{sample.email}",
            )))
        except RenderError as exc:
            out.append((lesson, exc))
    return out


RENDER_FORMATS = ("all", "eml", "html", "txt")


@app.command()
def render(
    campaign: Annotated[str, typer.Argument(help="Campaign slug.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out"),
    name: Annotated[str, typer.Option(help="Sample subscriber's name.")] = "Alex Sample",
    email: Annotated[str, typer.Option(help="Sample subscriber's address.")] = "alex@example.com",
    timezone: Annotated[str, typer.Option(help="Sample subscriber's time zone.")] = "UTC",
    fmt: Annotated[str, typer.Option("--format", help="eml (RFC 5322 messages), html, txt or all.")]
    = "all",
) -> None:
    """Write .eml, .html and/or .txt files for every lesson, for a sample subscriber.

    HTML over 90 KB (Gmail clips at about 102 KB) is an error naming the lesson file."""
    from sender.campaign import load_campaign
    from sender.render import html_size_problem

    if fmt not in RENDER_FORMATS:
        raise DripError(f"--format {fmt!r}: expected one of {', '.join(RENDER_FORMATS)}")
    formats = ("eml", "html", "txt") if fmt == "all" else (fmt,)
    s = settings()
    loaded = load_campaign(s.path("campaigns_dir") / campaign)
    rendered = _sample_messages(s, loaded, name, email, timezone)
    for _lesson, message in rendered:
        if isinstance(message, Exception):
            raise message  # a RenderError: file and line, before anything is written
    out.mkdir(parents=True, exist_ok=True)
    too_big = []
    for lesson, message in rendered:
        writers = {
            "eml": lambda path, m=message: path.write_bytes(m.as_email().as_bytes()),
            "html": lambda path, m=message: path.write_text(m.html, encoding="utf-8"),
            "txt": lambda path, m=message: path.write_text(m.text, encoding="utf-8"),
        }
        for kind in formats:
            writers[kind](out / f"{lesson.key}.{kind}")
        kb = len(message.html.encode()) / 1024
        console().print(f"{lesson.key}: {message.subject!r} ({kb:.1f} KB HTML)")
        if problem := html_size_problem(lesson.path, message.html):
            too_big.append(problem)
    console().print(f"wrote {len(rendered) * len(formats)} files to {out}")
    for problem in too_big:
        print(f"error: {problem}", file=sys.stderr)
    if too_big:
        raise typer.Exit(1)


@app.command()
def preview(
    host: Annotated[str, typer.Option(help="Address to listen on; keep 127.0.0.1 (no login).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Preview every lesson in a browser, phone and desktop widths, reloading on save."""
    from waitress import serve as waitress_serve

    from sender.web import create_app

    eng = engine()
    app = create_app(eng, public=True, preview=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: the preview has no login and can send test emails; {host} exposes it",
              file=sys.stderr)
    console().print(f"preview: http://{host}:{port}/preview/ (Ctrl+C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        waitress_serve(app, host=host, port=port, threads=4, _quiet=True)


@app.command("send-test")
def send_test(
    lesson: Annotated[str, typer.Argument(metavar="CAMPAIGN/LESSON",
                                          help="e.g. glute-activation/2 or glute-activation/02-dominant")],
    to: Annotated[str, typer.Option(help="Address to send the test to.")],
    name: Annotated[str, typer.Option(help="Sample subscriber's name.")] = "Alex Sample",
    timezone: Annotated[str | None, typer.Option(help="Sample subscriber's time zone.")] = None,
) -> None:
    """Send one lesson, as a subscriber would get it, through the configured provider."""
    from sender.sample import send_test as send

    slug, sep, ref = lesson.partition("/")
    if not sep or not ref:
        raise DripError(f"{lesson!r}: expected CAMPAIGN/LESSON, e.g. glute-activation/2")
    eng = engine(sending=True)
    result = send(eng, slug, ref, to, name=name, timezone=timezone)
    if not result.ok:
        raise DripError(f"{eng.provider.name} did not accept the test: {result.error}")
    console().print(f"sent {result.message.subject!r} to {result.message.to} through {eng.provider.name}"
                    f" (id {result.provider_message_id})")


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
        "--map", metavar="FIELD=COLUMN", help="CSV column for email, name, timezone or tags.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Tag every imported subscriber.")] = None,
) -> None:
    """Import subscribers from CSV; bad rows are reported by number, never abort the import."""
    if not file.is_file():
        raise DripError(f"CSV file not found: {file}")
    from datetime import UTC, datetime

    from rich.progress import Progress

    from sender.store import Store
    from sender.subscribers import import_csv

    mapping = {}
    for item in map_ or []:
        ours, sep, theirs = item.partition("=")
        if not sep:
            raise DripError(f"--map {item!r}: expected FIELD=COLUMN, e.g. email='E-mail address'")
        mapping[ours.strip()] = theirs
    with file.open(encoding="utf-8-sig") as handle:
        total = max(sum(1 for _ in handle) - 1, 0)
    with Store(settings().resolved_database_url) as store, Progress(console=console()) as bar:
        task = bar.add_task(f"importing {file.name}", total=total)
        report = import_csv(store, file, now=datetime.now(UTC), mapping=mapping, tags=tag or [],
                            status="pending" if pending else "active",
                            consent_source=None if pending else consent_source,
                            progress=lambda n: bar.advance(task, n))
    console().print(f"accepted {report.accepted}, updated {report.updated}, "
                    f"rejected {len(report.rejected)}")
    for row, reason in report.rejected:
        print(f"{file}:{row}: rejected: {reason}", file=sys.stderr)


@subscribers_app.command("export")
def subscribers_export(file: Annotated[Path, typer.Argument(help="CSV file to write.")]) -> None:
    """Export every subscriber, with custom fields as extra columns."""
    from sender.store import Store
    from sender.subscribers import export_csv

    with Store(settings().resolved_database_url) as store:
        count = export_csv(store, file)
    console().print(f"exported {count} subscriber(s) to {file}")


@subscribers_app.command("list")
def subscribers_list(limit: Annotated[int, typer.Option(help="At most this many.")] = 100) -> None:
    """List subscribers."""
    from rich.table import Table

    from sender.store import Store

    table = Table("email", "name", "timezone", "status", "tags", "consent")
    with Store(settings().resolved_database_url) as store:
        for s in store.subscribers(limit):
            table.add_row(s.email, s.name, s.timezone or "", s.status, ", ".join(s.tags or []),
                          s.consent_source or "")
    console().print(table)


@app.command()
def enrol(
    campaign: Annotated[str, typer.Argument(help="Campaign slug.")],
    email: Annotated[list[str] | None, typer.Option(help="Only these subscribers (repeatable).")]
    = None,
) -> None:
    """Enrol subscribers in a course (all active subscribers unless --email is given).
    Lints the campaign first: refuses on errors, and says who lacks a field a lesson uses."""
    from sender.lesson_fields import before_enrolling
    from sender.subscribers import normalise_email

    emails = [normalise_email(e) for e in email] if email else None
    eng = engine()
    for warning in before_enrolling(eng.store, settings().path("campaigns_dir") / campaign):
        print(f"warning: {warning}", file=sys.stderr)
    new = eng.enrol(campaign, emails)
    console().print(f"enrolled {new} new subscriber(s) in {campaign}")


@app.command()
def tick() -> None:
    """Send every lesson that is due now."""
    report = engine(sending=True).tick()
    _print_tick(report)


def _print_tick(report: Any) -> None:
    console().print(report.summary())
    for error in report.errors[:20]:
        print(f"failed: {error}", file=sys.stderr)
    if report.problems:  # cron and CI users notice: something failed, was held or paused
        raise typer.Exit(1)


@app.command()
def serve(
    worker: Annotated[bool, typer.Option(
        "--worker", help="Only send, no web app: run several beside one `drip serve` (PostgreSQL).")] = False,
) -> None:
    """Run in the foreground: send what is due every `tick_seconds` and serve the web app
    (subscribe, confirm and unsubscribe pages, webhooks) on `listen`."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    eng = engine(sending=True)
    scheduler = BlockingScheduler(timezone="UTC") if worker else BackgroundScheduler(timezone="UTC")
    # The store decides what is due; APScheduler only wakes us up (its job
    # store can't be shared between processes, so it holds no state here).
    scheduler.add_job(lambda: _print_tick(eng.tick()), "interval",
                      seconds=eng.settings.tick_seconds, max_instances=1, coalesce=True,
                      next_run_time=eng.clock())
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        if worker:
            console().print(f"worker: ticking every {eng.settings.tick_seconds}s; Ctrl+C to stop")
            scheduler.start()
            return
        from waitress.server import create_server

        from sender.web import create_app

        host, _, port = eng.settings.listen.rpartition(":")
        # Listening before the first tick: a page asked for as soon as mail goes out must answer.
        server = create_server(create_app(eng), host=host or "127.0.0.1", port=int(port), threads=8)
        scheduler.start()
        console().print(f"serving http://{eng.settings.listen}, ticking every {eng.settings.tick_seconds}s; "
                        "Ctrl+C to stop")
        try:
            server.run()
        finally:
            scheduler.shutdown(wait=True)  # let a tick in progress record what it sent


@app.command()
def status(days: Annotated[int, typer.Option(help="Days of upcoming sends to chart.")] = 14) -> None:
    """Per campaign: enrolments, sends per lesson, what is due, and outcomes still unknown."""
    from datetime import UTC, datetime, timedelta

    from rich.table import Table

    from sender.store import Store
    from sender.store.reports import STALE_AFTER, unknown_outcomes_per_campaign

    now = datetime.now(UTC)
    table = Table("campaign", "state", "enrolled", "active", "completed", "sent", "failed", "held",
                  "due in 24 h", "unknown outcome")
    with Store(settings().resolved_database_url) as store:
        summary = store.campaign_summary()
        unknown = unknown_outcomes_per_campaign(store, now)  # the console's figure too
        per_lesson = store.sent_per_lesson()
        upcoming = store.upcoming_per_day(now.replace(hour=0, minute=0, second=0, microsecond=0), days)
        soon = store.upcoming_per_day(now, 1)
    for c in summary:
        e, d = c["enrolments"], c["deliveries"]
        state = c["status"] + (f" ({c['paused_reason']})" if c["paused_reason"] else "")
        table.add_row(c["slug"], state, str(sum(e.values())), str(e.get("active", 0)),
                      str(e.get("completed", 0)), str(d.get("sent", 0)), str(d.get("failed", 0)),
                      str(d.get("held", 0)), str(sum(soon.get(c["id"], {}).values())),
                      str(unknown.get(c["id"], 0)))
    out = console()
    out.print(table)
    for c in summary:
        lessons = per_lesson.get(c["id"], {})
        if lessons:
            out.print(f"[bold]{c['slug']}[/bold] sent per lesson: "
                      + ", ".join(f"{key} {n}" for key, n in sorted(lessons.items())))
        by_day = upcoming.get(c["id"], {})
        if by_day:
            out.print(f"[bold]{c['slug']}[/bold] next lessons due per day (UTC):")
            peak = max(by_day.values())
            for i in range(days):
                day = (now + timedelta(days=i)).strftime("%Y-%m-%d")
                n = by_day.get(day, 0)
                out.print(f"  {day} {'█' * max(1 if n else 0, round(30 * n / peak))} {n}")
        if n := c["deliveries"].get("held", 0):
            out.print(f"[yellow]{c['slug']}: {n} lesson(s) held because the subscriber lacks a field "
                      "the lesson uses; each goes once the field is set or the lesson gives a default "
                      "(`drip schedule --subscriber EMAIL` says which).[/yellow]")
        if n := unknown.get(c["id"], 0):
            minutes = int(STALE_AFTER.total_seconds() // 60)
            out.print(f"[yellow]{c['slug']}: {n} deliveries were handed to a worker that stopped "
                      f"before recording the outcome (in 'sending' for over {minutes} minutes); they "
                      "are not resent automatically. Check the provider's log, then settle them on "
                      "the console's Deliverability page.[/yellow]")


@app.command()
def schedule(subscriber: Annotated[str, typer.Option(help="The subscriber's email address.")]) -> None:
    """Every lesson of a subscriber's courses: when it went or will go out, in their time and UTC."""
    from rich.table import Table

    from sender.subscribers import normalise_email

    table = Table("campaign", "lesson", "state", "their time", "UTC")
    for row in engine().plan(normalise_email(subscriber)):
        local = row["local"].strftime("%a %d %b %Y %H:%M %Z") if row["local"] else ""
        utc = row["utc"].strftime("%Y-%m-%d %H:%M") if row["utc"] else ""
        state = f"{row['state']}: {row['reason']}" if row["state"] == "held" else row["state"]
        table.add_row(row["campaign"], row["lesson"], state, local, utc)
    console().print(table)


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


@newsletter_app.command("schedule")
def newsletter_schedule(
    file: Annotated[Path, typer.Argument(help="Markdown with front matter (subject, preheader).")],
    at: Annotated[str | None, typer.Option(help="When, e.g. '2026-12-01 09:00'.")] = None,
    local: Annotated[bool, typer.Option(help="At that hour in each subscriber's own time zone.")]
    = False,
    segment: Annotated[str | None, typer.Option(help="Only subscribers with this tag.")] = None,
    cron: Annotated[str | None, typer.Option(help="Recurring, e.g. '0 9 * * mon' (crontab fields).")]
    = None,
    timezone: Annotated[str | None, typer.Option(help="Zone of --at and --cron (default: settings).")]
    = None,
) -> None:
    """Schedule a newsletter to every active subscriber (of a segment), once or on a cron."""
    from datetime import UTC, datetime

    from sender.newsletters import schedule_newsletter
    from sender.store import Store

    s = settings()
    with Store(s.resolved_database_url) as store:
        newsletter_id = schedule_newsletter(store, file, at=at, cron=cron, local=local, segment=segment,
                                            timezone=timezone or s.default_timezone, now=datetime.now(UTC))
        row = next(r for r in store.newsletters() if r.id == newsletter_id)
    where = "each subscriber's local time" if local else row.timezone
    console().print(f"scheduled newsletter {newsletter_id} ({row.title!r}) for {row.wall_time} {where}"
                    + (f", then {cron}" if cron else ""))


@newsletter_app.command("list")
def newsletter_list() -> None:
    """Scheduled, sent and cancelled newsletters."""
    from rich.table import Table

    from sender.store import Store

    table = Table("id", "subject", "next issue", "zone", "segment", "repeats", "status")
    with Store(settings().resolved_database_url) as store:
        for r in store.newsletters():
            table.add_row(str(r.id), r.title, r.wall_time if r.status == "scheduled" else "",
                          "subscriber's own" if r.local else r.timezone, r.segment or "everyone",
                          r.cron or "", r.status)
    console().print(table)


@newsletter_app.command("cancel")
def newsletter_cancel(newsletter_id: Annotated[int, typer.Argument(help="Newsletter id.")]) -> None:
    """Cancel a scheduled newsletter; what was already sent stays sent."""
    from sender.store import Store

    with Store(settings().resolved_database_url) as store:
        if not store.update_newsletter(newsletter_id, status="cancelled", next_run_at=None):
            raise DripError(f"no newsletter {newsletter_id}")
    console().print(f"cancelled newsletter {newsletter_id}")


admin_app = typer.Typer(help="The staff console's login.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


@admin_app.command("hash-password")
def admin_hash_password(
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Print a hash of a console password, for DRIP_ADMIN_PASSWORD_HASH."""
    from sender.web.auth import hash_password

    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise DripError("use a password of at least 12 characters")
    print(hash_password(password))
    # The hash holds '$' signs: single quotes keep a shell from expanding them.
    print("set it with: export DRIP_ADMIN_PASSWORD_HASH='<the line above>'", file=sys.stderr)


@app.command()
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Demo project folder (kept between runs).")]
    = Path("demo"),
) -> None:
    """The whole job on this machine: split, enrol, and weeks of sending in seconds."""
    from sender.demo import run_demo

    run_demo(folder, source_project=State.project, console=console())


def main() -> None:
    try:
        app()
    except DripError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
