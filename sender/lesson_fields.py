"""What is checked before enrolling anyone (`drip enrol`, the console's Start): the
campaign lints without errors, and which subscriber fields its lessons use without a
default, with how many subscribers lack each, so that a lesson held for missing data (see
`sender.outcomes`) is no surprise."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sender.campaign import Campaign, load_campaign
from sender.errors import DripError
from sender.plaintext import JINJA_SPAN
from sender.store import Store

_FIELD = re.compile(r"\bsubscriber\.(\w+)|\bsubscriber\[\s*['\"](\w+)['\"]\s*\]")
ALWAYS_SET = frozenset({"email", "timezone"})  # every subscriber has these (timezone may be None)


@dataclass(frozen=True)
class FieldUse:
    field: str
    path: Path
    line: int


def fields_needed(campaign: Campaign) -> list[FieldUse]:
    """Each field a lesson uses with no `default`, at its first use, in lesson order."""
    seen: dict[str, FieldUse] = {}
    for lesson in campaign.lessons:
        for number, line in enumerate(lesson.path.read_text("utf-8").splitlines(), start=1):
            for span in JINJA_SPAN.findall(line):
                if "default" in span:  # `| default(...)` covers whoever lacks it
                    continue
                for found in _FIELD.finditer(span):
                    name = found.group(1) or found.group(2)
                    if name not in ALWAYS_SET and name not in seen:
                        seen[name] = FieldUse(name, lesson.path, number)
    return list(seen.values())


def missing_field_warnings(store: Store, campaign: Campaign) -> list[str]:
    """One line per field some active subscribers lack: how many, where it is used, and what
    happens to their lesson."""
    warnings = []
    for use in fields_needed(campaign):
        if n := store.subscribers_lacking(use.field):
            warnings.append(
                f"{n:,} active subscriber(s) have no '{use.field}', which {use.path}:{use.line} uses: "
                f"that lesson is held for them until it is set (or give it a default: "
                f"{{{{ subscriber.{use.field} | default(\"…\") }}}})")
    return warnings


def before_enrolling(store: Store, folder: Path) -> list[str]:
    """Raise if the campaign has lint errors; else the warnings to show before enrolling."""
    from sender.content import lint_campaign

    if errors := [f for f in lint_campaign(folder) if f.severity == "error"]:
        raise DripError(f"{folder.name} is not ready to enrol anyone (`drip lint {folder.name}`):\n"
                        + "\n".join(f"  {e}" for e in errors))
    return missing_field_warnings(store, load_campaign(folder))
