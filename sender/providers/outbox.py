"""Writes one .eml file per message into a folder: preview and demo backend."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from sender.providers.base import OutgoingMessage, Provider, SendResult


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
            name = f"{_safe(m.message_id.strip('<>'))}.eml"
            target = self.directory / name
            tmp = target.with_suffix(".eml.tmp")
            # Write then rename, so a reader never sees half a message.
            tmp.write_bytes(m.as_email().as_bytes())
            os.replace(tmp, target)
            results.append(SendResult(m, ok=True, provider_message_id=str(target)))
        return results
