"""Writes one .eml file per message into a folder: preview and demo backend.

Files are named so a person can tell whose lesson is which at a glance:
`2026-12-04T0900Z_maria@example.com_glute-activation_02.eml` (send time in UTC, recipient,
campaign, lesson number or newsletter issue; a test send or a confirmation adds its kind).
A second message that would get the same name gets `_2`, `_3`, … rather than replacing it.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import UTC
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, Provider, SendResult
from sender.providers.http import check_message
from sender.providers.smtp import email_of

_UNSAFE = re.compile(r"[^A-Za-z0-9.@+-]+")
_LESSON_NUMBER = re.compile(r"(\d{2,3})-")  # lesson file stems: 02-dominant-hamstrings


def _safe(text: str, limit: int) -> str:
    """`text` as part of a file name on any file system: ASCII letters, digits and `.@+-`
    (accents dropped, anything else a `-`), at most `limit` characters, no leading dot."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _UNSAFE.sub("-", plain)[:limit].strip("-.")


def file_stem(m: OutgoingMessage) -> str:
    """What the file of `m` is called, before `.eml` and any `_2` that keeps it unique."""
    when = m.date if m.date.tzinfo else m.date.replace(tzinfo=UTC)
    parts = [when.astimezone(UTC).strftime("%Y-%m-%dT%H%MZ"),
             _safe(parseaddr(m.to)[1] or m.to, 80) or "unknown"]
    meta = dict(m.metadata)
    if number := _LESSON_NUMBER.match(meta.get("lesson", "")):
        meta["lesson"] = number.group(1)  # "02-dominant-hamstrings" → "02": the subject is inside
    parts += [_safe(meta[k], 60) for k in ("campaign", "lesson", "kind") if meta.get(k)]
    return "_".join(p for p in parts if p)


class OutboxProvider(Provider):
    scheme = "outbox"
    name = "outbox"

    def __init__(self, url: str, base_dir: Path | None = None) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        raw = (parts.netloc + parts.path) or "outbox"
        path = Path(raw)
        self.directory = path if path.is_absolute() else (base_dir or Path.cwd()) / path

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        self.open()
        results = []
        for m in messages:
            try:
                check_message(m)
                data = email_of(m).as_bytes()
            except ValueError as exc:  # one malformed message must not sink its batch
                results.append(SendResult(m, ok=False, error=f"outbox: {exc}", fault=Fault.MESSAGE))
                continue
            target = self._write(file_stem(m), data)
            results.append(SendResult(m, ok=True, provider_message_id=str(target)))
        return results

    def _write(self, stem: str, data: bytes) -> Path:
        """Write to a hidden temporary file, then give it the first free name: a reader never
        sees half a message, and no message replaces another (also with several writers)."""
        tmp = self.directory / f".{uuid.uuid4().hex}.eml.tmp"  # not mkstemp: its files are 0600
        try:
            tmp.write_bytes(data)
            n = 0
            while True:
                n += 1
                target = self.directory / (f"{stem}.eml" if n == 1 else f"{stem}_{n}.eml")
                try:
                    # A hard link fails when the name is taken, where a rename would overwrite.
                    os.link(tmp, target)
                except FileExistsError:
                    continue
                except OSError:  # no hard links on this file system: claim the name, then fill it
                    try:
                        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                    except FileExistsError:
                        continue
                    os.replace(tmp, target)
                return target
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
