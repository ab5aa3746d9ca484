"""Project and content commands: init, settings, split, lint."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sender.cli.base import JsonFlag, app, console, print_json, settings
from sender.errors import DripError


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
        print_json({"settings": rows})
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
                from sender.providers.pace import claim_split, default_batch_size, limits_line, sending_limits

                provider = get_provider(s.provider, project_dir=Path(s.project_dir))
                limits = sending_limits(provider)
            except DripError as exc:
                cell.append(f"\n{exc}", style="red")
            else:
                if limits:
                    cell.append("\n" + limits_line(limits))
                    batch = default_batch_size(provider, s.batch_size) \
                        if s.sources["batch_size"] == "default" else s.batch_size
                    claims, size = claim_split(provider, batch)
                    if claims > 1:  # how it fills those requests
                        cell.append(f"; a batch of {batch:,} goes as {claims} claims of {size:,} at once")
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
    from sender.sample import sample_messages

    s = settings()
    try:
        loaded = load_campaign(folder)
    except DripError as exc:
        return [Finding("error", folder, 0, str(exc))]
    findings = []
    for lesson, message in sample_messages(s, loaded):
        if isinstance(message, RenderError):
            findings.append(Finding("error", lesson.path, 0, str(message)))
        elif problem := html_size_problem(lesson.path, message.html):
            findings.append(Finding("error", lesson.path, 0, problem.removeprefix(f"{lesson.path}: ")))
    return findings
