"""`drip admin hash-password` and `drip demo`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sender.cli.base import State, admin_app, app, console
from sender.errors import DripError


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
