"""Errors raised by the content stage.

Every message names the file it is about, because staff run `drip split` on
many articles and need to know which one to fix.
"""

from __future__ import annotations

from pathlib import Path

from sender.errors import DripError


class ContentError(DripError):
    """The article (or the campaign folder) cannot be turned into lessons."""


class HandEditedError(ContentError):
    """Re-splitting would overwrite lesson files that staff edited by hand."""

    def __init__(self, campaign_dir: Path, files: list[str]) -> None:
        self.campaign_dir = campaign_dir
        self.files = files
        listing = ", ".join(files)
        super().__init__(
            f"{campaign_dir}: these lesson files were edited by hand since the last split: "
            f"{listing}; re-run with --force to overwrite them"
        )
