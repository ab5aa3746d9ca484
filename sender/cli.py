"""The `drip` command. Heavy modules are imported inside commands so that
`drip --help` answers at once."""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sender.errors import DripError

if TYPE_CHECKING:
    from sender.engine import Engine
    from sender.settings import Settings


def _show_flags_bare() -> None:
    """Typer's Rich help labels every flag `<bool>` (`--worker <bool>`, even `--help <bool>`),
    as if it took a value, though a flag takes none (`--worker true` is refused). Show flags
    bare, as Click's plain help does, so the help says what the parser accepts."""
    from typer.core import TyperOption

    typed = getattr(TyperOption, "display_type_rich", None)
    if typed is None or getattr(typed, "drip_bare_flags", False):
        return  # a Typer without the label, or already done

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else typed(self, ctx)

    display_type_rich.drip_bare_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_show_flags_bare()

app = typer.Typer(
    help="Turn a long article into a drip email course and send it on each subscriber's clock.",
    no_args_is_help=True,
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

    # soft_wrap: a line longer than the terminal is left to the terminal, never broken with a
    # newline inside a path or an address (copied or piped, it stays whole). Tables still fit.
    return Console(soft_wrap=True)


def _print_table(headers: list[str], rows: list[list[str]], *, keys: int,
                 stacked: Any = None) -> None:
    """A table that reads at any terminal width. The first `keys` columns (names, slugs,
    addresses, dates) never wrap and are never cut. When every column does not fit on one
    line, the others move into one "details" column, a "header: value" line each (or
    `stacked(row)`'s lines), and wrap there; when even that leaves the details too little
    room, each row becomes its key values on a line and its details indented below. A value
    longer than its column folds onto the next line, never cut with "…"."""
    from rich.cells import cell_len
    from rich.markup import escape
    from rich.table import Table

    def natural_width(heads: list[str], body: list[list[str]]) -> int:
        widest = [max((cell_len(line) for cell in (head, *(row[i] for row in body))
                       for line in cell.splitlines()), default=0) for i, head in enumerate(heads)]
        return sum(widest) + 3 * len(heads) + 1  # a space each side of a cell, the rules between

    def details(row: list[str]) -> str:
        return "\n".join(f"{head}: {value}" for head, value in zip(headers[keys:], row[keys:],
                                                                   strict=True) if value)

    out = console()
    if natural_width(headers, rows) > out.width:
        if natural_width(headers[:keys], [row[:keys] for row in rows]) + 3 + 30 > out.width:
            for row in rows:
                out.print("  ".join(f"[bold]{escape(v)}[/]" if i == 0 else escape(v)
                                    for i, v in enumerate(row[:keys])), highlight=False)
                for line in (stacked or details)(row).splitlines():
                    out.print(f"  {line}", markup=False, highlight=False)
            return
        headers, rows = [*headers[:keys], "details"], [[*row[:keys], (stacked or details)(row)]
                                                        for row in rows]
    table = Table(*headers)
    for i, column in enumerate(table.columns):
        column.no_wrap = i < keys
        column.overflow = "fold"
    for row in rows:
        table.add_row(*row)
    out.print(table)


# `--json` on the listing commands: the keys are documented in README ("Scripting").
JsonFlag = Annotated[bool, typer.Option(
    "--json", help="Print one JSON document on stdout instead of the table (keys: see README).")]


def _print_json(document: dict[str, Any]) -> None:
    """The whole of stdout for `--json`: one document, nothing else (warnings go to stderr)."""
    import json

    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")


def _iso(moment: Any) -> str | None:
    """A datetime as ISO 8601 in UTC ('2026-12-03T12:00:00Z'), for --json."""
    from datetime import UTC

    if moment is None:
        return None
    text: str = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text


def _version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("dripcourse")
    except PackageNotFoundError:  # run from a source tree that was never installed
        installed = "(not installed: pip install -e .)"
    print(f"dripcourse {installed}")
    raise typer.Exit()


@app.callback()
def root(
    project: Annotated[Path, typer.Option("--project", "-C", help="Project folder (holds dripcourse.toml).")]
    = Path("."),
    set_: Annotated[list[str] | None, typer.Option(
        "--set", "-s", metavar="NAME=VALUE", help="Override a setting (see `drip settings`).")] = None,
    _show_version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, expose_value=False,
        help="Print the installed version and exit.")] = False,
) -> None:
    State.project = project
    State.overrides = {}
    for item in set_ or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise DripError(f"--set {item!r}: expected NAME=VALUE")
        State.overrides[name.strip()] = value


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder of the new project (made if missing).")] = Path("."),
) -> None:
    """Start a project: dripcourse.toml to fill in, campaigns/, templates/ for overrides."""
    from sender.defaults import TEMPLATES
    from sender.scaffold import init_project

    report = init_project(folder)

    def shown(path: Path) -> str:
        full = path.resolve()
        text = str(full.relative_to(Path.cwd().resolve())) if full.is_relative_to(Path.cwd().resolve()) \
            else str(full)
        return text + ("/" if path.is_dir() else "")

    for path in report.created:
        print(f"created {shown(path)}")
    if report.gitignore_added:
        print(f"added {', '.join(report.gitignore_added)} to {shown(folder / '.gitignore')}")
    for path in report.kept:
        print(f"kept    {shown(path)} (already there)")
    print(f"\nthe default templates (copy one into templates/ to change it): {TEMPLATES}")
    cd = [] if folder.resolve() == Path.cwd().resolve() else [f"cd {shown(folder).rstrip('/')}"]
    steps = [*cd,
             "edit dripcourse.toml                        # from_address, reply_to, postal_address, base_url",
             "drip split ARTICLE.md --campaign my-course  # an article (.txt, .md, .html or URL) → lessons",
             "drip lint my-course                         # what to fix, settings included",
             "drip render my-course --out out/            # every lesson as .eml, .html and .txt",
             "drip demo                                   # the whole job on a sample course, in demo/"]
    print("next:\n" + "\n".join(f"  {step}" for step in steps))


@app.command("settings")
def settings_cmd(as_json: JsonFlag = False) -> None:
    """Print every setting, its value, and where the value came from."""
    from rich.table import Table
    from rich.text import Text

    from sender.settings import SETTINGS

    s = settings()
    rows: list[dict[str, Any]] = []
    for setting in SETTINGS:
        value = getattr(s, setting.name)
        rows.append({"name": setting.name,
                     "value": ("(hidden)" if value else None) if setting.secret else value,
                     "source": s.sources[setting.name], "secret": setting.secret, "help": setting.help})
    if as_json:
        _print_json({"settings": rows})
        return
    # The name never wraps; the help goes under the value, so at 80 columns the value has
    # room to show whole (a longer one folds, never cut).
    table = Table("setting", "value", "from")
    table.columns[0].no_wrap = True
    table.columns[1].overflow = table.columns[2].overflow = "fold"
    for row in rows:
        value = "" if row["value"] is None else str(row["value"])
        cell = Text(value) if value else Text("(empty)", style="dim italic")
        cell.append("\n" + row["help"], style="dim")
        if row["name"] == "provider":  # the pace it sends at, which users otherwise never see
            try:
                from sender.providers import get_provider
                from sender.providers.pace import limits_line, sending_limits

                limits = sending_limits(get_provider(s.provider, project_dir=Path(s.project_dir)))
            except DripError as exc:
                cell.append(f"\n{exc}", style="red")
            else:
                if limits:
                    cell.append("\n" + limits_line(limits))
        table.add_row(row["name"], cell, row["source"])
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
    """Identity settings not set yet, and what `drip tick` would refuse, as warnings: lint is
    where people look before sending."""
    from sender.content import Finding
    from sender.readiness import setup_problems
    from sender.settings import CONFIG_FILE

    s = settings()
    return [Finding("warning", s.project_dir / CONFIG_FILE, 0, problem)
            for problem in setup_problems(s, s.provider)]


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
    from sender.web import create_app

    eng = engine()
    app = create_app(eng, public=True, preview=True, preview_address=(host, port))
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: the preview has no login and can send test emails; {host} exposes it",
              file=sys.stderr)
    server = _listening(app, host, port, threads=4,
                        in_use=f"port {port} is in use; pass --port (e.g. --port {port + 1})")
    console().print(f"preview: http://{host}:{port}/preview/ (Ctrl+C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        server.run()


def _listening(app: Any, host: str, port: int, *, threads: int, in_use: str) -> Any:
    """A waitress server bound to host:port, or a one-line error. `in_use` says what to change
    when another process holds the port (`drip serve` and `drip preview` both default to 8000)."""
    import errno

    from waitress.server import create_server

    try:
        return create_server(app, host=host, port=port, threads=threads)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise DripError(in_use) from None
        raise DripError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


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
        _print_json({"subscribers": [
            {"email": s.email, "name": s.name, "timezone": s.timezone, "status": s.status,
             "tags": list(s.tags or []), "fields": dict(s.fields or {}),
             "consent_source": s.consent_source, "consent_at": _iso(s.consent_at),
             "created_at": _iso(s.created_at)} for s in found]})
        return
    _print_table(["email", "status", "name", "timezone", "tags", "consent"],
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


@app.command()
def tick(
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Say who would get which lesson now; send nothing.")] = False,
) -> None:
    """Send every lesson that is due now; exits 1 if anything failed, was held or paused."""
    if dry_run:
        due, waiting = engine().due_now()
        console().print(f"would send {len(due):,} lesson(s) now"
                        + (f"; {waiting:,} more are due but wait for their send window" if waiting else "")
                        + "; dry run: nothing sent")
        for email, slug, lesson in due[:20]:
            console().print(f"  {email}: {slug}/{lesson}")
        if len(due) > 20:
            console().print(f"  and {len(due) - 20:,} more")
        return
    eng = engine(sending=True)
    _expected_duration(eng)
    with _stopping_cleanly(eng, unwind=False):  # the tick runs here: let it wind down itself
        report = eng.tick()
    _print_tick(report)
    if report.problems:  # cron and CI users notice
        raise typer.Exit(1)


def _expected_duration(eng: Any) -> None:
    """Before a send long enough to wonder about (half a minute or more at the provider's
    pace), say how long it will take: "25,000 emails at 200/s: about 2 minutes"."""
    from sender.providers.pace import sending_limits
    from sender.readiness import is_test_backend
    from sender.store.reports import due_lesson_count

    limits = sending_limits(eng.provider)  # the provider the tick sends through
    if not limits or not limits["per_second"] or is_test_backend(eng.settings.provider):
        return
    due = due_lesson_count(eng.store, eng.clock())
    seconds = due / limits["per_second"]
    if seconds >= 30:
        about = (f"{seconds / 3600:.1f} hours" if seconds >= 5400 else
                 f"{max(1, round(seconds / 60))} minutes" if seconds >= 90 else f"{round(seconds)} seconds")
        console().print(f"{due:,} emails at {limits['per_second']:g}/s: about {about} "
                        "(the provider's pace; see drip settings)", highlight=False)


def _print_tick(report: Any) -> None:
    console().print(report.summary())
    for error in report.errors[:20]:
        print(f"failed: {error}", file=sys.stderr)


@contextlib.contextmanager
def _stopping_cleanly(eng: Any, *, unwind: bool = True) -> Any:
    """On SIGINT or SIGTERM (Ctrl+C, systemd, `docker stop`): stop claiming, let the batch with
    the provider finish and record its outcome, roll open claims back, and go on from the
    `with` (which then exits 0). With `unwind`, the main thread's wait (the scheduler's or the
    web server's; never a tick's, which must not be cut between a claim and its send) is
    interrupted. A second signal exits at once."""
    import os
    import signal

    def handler(signum: int, frame: Any) -> None:
        if eng.stopping.is_set():
            print("stopping at once", file=sys.stderr)
            os._exit(1)
        eng.stop()
        print(f"{signal.Signals(signum).name}: finishing the batch with the provider, then stopping "
              "(again to stop at once)", file=sys.stderr)
        if unwind:
            raise KeyboardInterrupt

    before = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)


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
    ticking = threading.Lock()  # held by the tick under way, which a stop waits for

    def run_tick() -> None:
        with ticking:
            if not eng.stopping.is_set():
                _print_tick(eng.tick())

    # The store decides what is due; APScheduler only wakes us up (its job
    # store can't be shared between processes, so it holds no state here). However late
    # start-up runs, the first tick is not skipped as "missed".
    scheduler.add_job(run_tick, "interval", seconds=eng.settings.tick_seconds, max_instances=1,
                      coalesce=True, misfire_grace_time=None, next_run_time=eng.clock())
    with contextlib.suppress(KeyboardInterrupt, SystemExit), _stopping_cleanly(eng), \
            _after_the_tick(scheduler, ticking):
        if worker:
            console().print(f"worker: ticking every {eng.settings.tick_seconds}s; Ctrl+C to stop")
            scheduler.start()
            return
        from sender.web import create_app

        host, _, port = eng.settings.listen.rpartition(":")
        # Listening before the first tick: a page asked for as soon as mail goes out must answer.
        server = _listening(create_app(eng), host or "127.0.0.1", int(port), threads=8,
                            in_use=f"{eng.settings.listen} is in use; set listen in dripcourse.toml, "
                                   "or run drip --set listen=HOST:PORT serve")
        scheduler.start()
        console().print(f"serving http://{eng.settings.listen}, ticking every {eng.settings.tick_seconds}s; "
                        "Ctrl+C to stop")
        server.run()


SHUTDOWN_GRACE_SECONDS = 60  # a batch with the provider: one request's timeout and more


@contextlib.contextmanager
def _after_the_tick(scheduler: Any, ticking: threading.Lock) -> Any:
    """Leaving `serve`: start no tick, and wait for the one under way to record what it sent;
    one that does not finish in SHUTDOWN_GRACE_SECONDS is abandoned (exit 1)."""
    import os

    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # not started, or already stopped
            scheduler.shutdown(wait=False)
        if not ticking.acquire(timeout=SHUTDOWN_GRACE_SECONDS):
            print(f"a tick is still running after {SHUTDOWN_GRACE_SECONDS} s; stopping without it",
                  file=sys.stderr)
            os._exit(1)


@app.command()
def status(days: Annotated[int, typer.Option(help="Days of upcoming sends to chart.")] = 14,
           as_json: JsonFlag = False) -> None:
    """Per campaign: enrolments, sends per lesson, what is due, and outcomes still unknown."""
    from datetime import UTC, datetime, timedelta

    from rich.markup import escape

    from sender.store import Store
    from sender.store.reports import STALE_AFTER, unknown_outcomes_per_campaign

    now = datetime.now(UTC)
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
    if as_json:
        _print_json({"generated_at": _iso(now), "campaigns": figures})
        return
    # (key, header, label in the narrow layout); headers in two lines keep the columns narrow
    columns = [("enrolled", "enrolled", "enrolled"), ("active", "active", "active"),
               ("completed", "completed", "completed"), ("due_in_24h", "due in\n24 h", "due in 24 h"),
               ("sent", "sent", "sent"), ("failed", "failed", "failed"), ("held", "held", "held"),
               ("unknown_outcome", "unknown\noutcome", "unknown outcome")]

    def two_per_line(row: list[str]) -> str:  # the figures, when they do not fit side by side
        pairs = [f"{label} {value}" for (_, _, label), value in zip(columns, row[2:], strict=True)]
        return "\n".join(" · ".join(pairs[i:i + 2]) for i in range(0, len(pairs), 2))

    _print_table(["campaign", "state", *(head for _, head, _ in columns)],
                 [[f["slug"], f["status"], *(str(f[key]) for key, _, _ in columns)] for f in figures],
                 keys=2, stacked=two_per_line)
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
        _print_json({"subscriber": email, "lessons": [
            {"campaign": row["campaign"], "lesson": row["lesson"], "state": row["state"],
             "reason": row["reason"], "utc": _iso(row["utc"]),
             "local": row["local"].isoformat(timespec="seconds") if row["local"] else None,
             "timezone": str(row["local"].tzinfo) if row["local"] else None} for row in plan]})
        return
    rows = []
    for row in plan:
        local = row["local"].strftime("%a %d %b %Y %H:%M %Z") if row["local"] else ""
        utc = row["utc"].strftime("%Y-%m-%d %H:%M") if row["utc"] else ""
        state = f"{row['state']}: {row['reason']}" if row["state"] == "held" else row["state"]
        rows.append([row["campaign"], row["lesson"], state, local, utc])
    _print_table(["campaign", "lesson", "state", "their time", "UTC"], rows, keys=2)


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
        _print_json({"newsletters": [
            {"id": r.id, "subject": r.title, "campaign": r.slug, "source": r.source, "status": r.status,
             "next_issue": r.wall_time if r.status == "scheduled" else None, "timezone": r.timezone,
             "local": bool(r.local), "segment": r.segment, "cron": r.cron,
             "next_run_at": _iso(r.next_run_at), "created_at": _iso(r.created_at)} for r in found]})
        return
    _print_table(["id", "next issue", "subject", "zone", "segment", "repeats", "status"],
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
        # One name however it is started (`python -m sender.cli` too): usage lines say drip, and
        # shell completion answers to the _DRIP_COMPLETE its script sets.
        app(prog_name="drip")
    except DripError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
