"""Writes one .eml file per message into a folder: preview and demo backend."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, Provider, SendResult
from sender.providers.http import check_message
from sender.providers.smtp import email_of


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text)[:120]


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
            name = f"{_safe(m.message_id.strip('<>'))}.eml"
            target = self.directory / name
            tmp = target.with_suffix(".eml.tmp")
            # Write then rename, so a reader never sees half a message.
            tmp.write_bytes(data)
            os.replace(tmp, target)
            results.append(SendResult(m, ok=True, provider_message_id=str(target)))
        return results
