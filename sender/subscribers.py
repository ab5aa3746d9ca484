"""Subscriber input: address validation and CSV import.

Addresses are validated and normalised by email-validator without DNS, so
imports are fast and tests need no network. A bad row is reported with its
row number and reason and never stops the rest of the import.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email

from sender.errors import DripError
from sender.schedule import zone
from sender.store import Store

KNOWN_COLUMNS = {"email", "name", "timezone", "tags"}
STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")


class InvalidSubscriber(DripError, ValueError):
    """A subscriber field is invalid; the message names the field."""


def normalise_email(raw: str) -> str:
    """Validated and lower-cased: mailbox providers treat local parts case-insensitively,
    and one person must not become two subscribers by typing a capital."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidSubscriber(f"email {raw!r} is not valid: {exc}") from None


def check_timezone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        zone(name)
    except ValueError as exc:
        raise InvalidSubscriber(f"timezone: {exc}") from None
    return name


def clean_name(name: str) -> str:
    # Names go into the To header; a line break there would be header injection.
    return " ".join(name.split())[:200]


def add_subscriber(store: Store, email: str, *, now: datetime, name: str = "",
                   timezone: str | None = None, fields: dict[str, Any] | None = None,
                   tags: Sequence[str] = (), status: str = "active",
                   consent_source: str | None = None) -> tuple[int, bool]:
    if status not in STATUSES:
        raise InvalidSubscriber(f"status {status!r} is not one of {', '.join(STATUSES)}")
    return store.upsert_subscriber(
        normalise_email(email), now=now, name=clean_name(name), timezone=check_timezone(timezone),
        fields=fields, tags=[t.strip() for t in tags if t.strip()], status=status,
        consent_source=consent_source,
    )


@dataclass
class ImportReport:
    accepted: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)


def import_csv(store: Store, path: Path, *, now: datetime, consent_source: str | None,
               mapping: dict[str, str] | None = None, tags: Sequence[str] = (),
               status: str = "active", progress: Callable[[int], None] | None = None) -> ImportReport:
    """Each row is written on its own (never half a subscriber), and a bad row is
    reported with its number, as a spreadsheet shows it (the header is row 1).
    `mapping` names the CSV column for our fields, e.g. {"email": "E-mail address"};
    other columns become custom fields. Tags in a `tags` column are split on ; or ,."""
    report = ImportReport()
    mapping = {k: v.strip().lower() for k, v in (mapping or {}).items()}
    if unknown := set(mapping) - KNOWN_COLUMNS:
        raise InvalidSubscriber(f"--map: unknown field(s) {', '.join(sorted(unknown))}; "
                                f"known: {', '.join(sorted(KNOWN_COLUMNS))}")
    column = {name: mapping.get(name, name) for name in KNOWN_COLUMNS}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        headers = [f.strip().lower() for f in reader.fieldnames or []]
        if column["email"] not in headers:
            raise InvalidSubscriber(f"{path}:1: the header row needs an {column['email']!r} column "
                                    "(or say which one holds addresses with --map email=COLUMN)")
        # Columns an export writes that are ours to set, not custom fields.
        ours = {*column.values(), "status", "consent_source", "consent_at", "created_at"}
        for number, row in enumerate(_rows(reader), start=2):
            try:
                if None in row:
                    raise InvalidSubscriber("more cells than header columns")
                extra = {k: v for k, v in row.items() if k not in ours and v}
                row_tags = re.split(r"[;,]", row.get(column["tags"]) or "")
                _, created = add_subscriber(
                    store, row.get(column["email"]) or "", now=now, name=row.get(column["name"]) or "",
                    timezone=row.get(column["timezone"]) or None, fields=extra or None,
                    tags=[*tags, *row_tags], status=status, consent_source=consent_source,
                )
            except InvalidSubscriber as exc:
                report.rejected.append((number, str(exc)))
            else:
                if created:
                    report.accepted += 1
                else:
                    report.updated += 1
            if progress:
                progress(1)
    return report


def _rows(reader: csv.DictReader[str]) -> Iterable[dict[str, Any]]:
    for row in reader:
        yield {(k.strip().lower() if k else k): (v.strip() if isinstance(v, str) else v)
               for k, v in row.items()}


EXPORT_COLUMNS = ("email", "name", "timezone", "status", "tags", "consent_source", "consent_at",
                  "created_at")


def export_csv(store: Store, path: Path) -> int:
    """All subscribers with their custom fields as extra columns; returns how many."""
    rows = list(store.iter_subscribers())
    extra = sorted({k for r in rows for k in (r.fields or {})} - set(EXPORT_COLUMNS))
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*EXPORT_COLUMNS, *extra])
        for r in rows:
            writer.writerow([
                r.email, r.name, r.timezone or "", r.status, ";".join(r.tags or []),
                r.consent_source or "", r.consent_at.isoformat() if r.consent_at else "",
                r.created_at.isoformat(), *[(r.fields or {}).get(k, "") for k in extra],
            ])
    tmp.replace(path)  # a reader never sees half a file
    return len(rows)
