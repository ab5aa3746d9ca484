"""The `drip` command. Heavy modules are imported inside commands so that
`drip --help` answers at once.

One module per group of commands; importing them registers the commands, in the
order `drip --help` lists them.
"""

from __future__ import annotations

import importlib
import sys

from sender.cli.base import app
from sender.errors import DripError

__all__ = ["app", "main"]

for _group in ("project", "emails", "subscribers", "sending", "reports", "newsletters", "admin"):
    importlib.import_module(f"sender.cli.{_group}")


def main() -> None:
    try:
        # One name however it is started (`python -m sender.cli` too): usage lines say drip, and
        # shell completion answers to the _DRIP_COMPLETE its script sets.
        app(prog_name="drip")
    except DripError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
