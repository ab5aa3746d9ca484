"""The `drip` app, its groups and what every command shares: the project's settings and
engine, the Rich console, tables and --json output."""

from __future__ import annotations

import sys
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
admin_app = typer.Typer(help="The staff console's login.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


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


def print_table(headers: list[str], rows: list[list[str]], *, keys: int,
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


def print_json(document: dict[str, Any]) -> None:
    """The whole of stdout for `--json`: one document, nothing else (warnings go to stderr)."""
    import json

    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")


def iso(moment: Any) -> str | None:
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


def listening(app: Any, host: str, port: int, *, threads: int, in_use: str) -> Any:
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
