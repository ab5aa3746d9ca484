"""Names on disk that several layers read: the send order of lesson files."""

from __future__ import annotations

import re
from pathlib import Path

_NUMBER = re.compile(r"\d+")


def lesson_order(path: Path) -> tuple[int, str]:
    """Send order: by the number the file name starts with ("9-" before "10-"), then by name."""
    number = _NUMBER.match(path.name)
    return (int(number.group()) if number else 0, path.name)
