"""Subscriber input: address validation and CSV import.

Addresses are validated and normalised by email-validator without DNS, so
imports are fast and tests need no network. A bad row is reported with its
row number and reason and never stops the rest of the import.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email

from sender.errors import DripError
from sender.schedule import zone
from sender.store import Store

KNOWN_COLUMNS = {"email", "name", "timezone", "tags"}


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
                   consent_source: str | None = None) -> tuple[int, bool]:
    return store.upsert_subscriber(
        normalise_email(email), now=now, name=clean_name(name), timezone=check_timezone(timezone),
        fields=fields, consent_source=consent_source,
    )


@dataclass
class ImportReport:
    accepted: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)


def import_csv(store: Store, path: Path, *, now: datetime, consent_source: str,
               progress: Callable[[int], None] | None = None) -> ImportReport:
    """Rows are numbered as a spreadsheet shows them: the header is row 1."""
    report = ImportReport()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "email" not in [f.strip().lower() for f in reader.fieldnames]:
            raise InvalidSubscriber(f"{path}:1: the header row needs an 'email' column")
        for number, row in enumerate(_rows(reader), start=2):
            try:
                if None in row:
                    raise InvalidSubscriber("more cells than header columns")
                extra = {k: v for k, v in row.items() if k not in KNOWN_COLUMNS and v}
                _, created = add_subscriber(
                    store, row.get("email") or "", now=now, name=row.get("name") or "",
                    timezone=row.get("timezone") or None, fields=extra or None,
                    consent_source=consent_source,
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
