"""Prints each message to standard output, for a quick look."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, Provider, SendResult
from sender.providers.http import check_message
from sender.providers.smtp import email_of


class ConsoleProvider(Provider):
    scheme = "console"
    name = "console"

    def __init__(self, url: str, stream: TextIO | None = None) -> None:
        super().__init__(url)
        self.stream = stream or sys.stdout
        # The tick and web requests may print at once: keep each message in one piece.
        self._lock = threading.Lock()

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        results = []
        with self._lock:
            for m in messages:
                try:
                    check_message(m)
                    text = email_of(m).as_string()
                except ValueError as exc:  # one malformed message must not sink its batch
                    results.append(SendResult(m, ok=False, error=f"console: {exc}", fault=Fault.MESSAGE))
                    continue
                self.stream.write(text)
                self.stream.write("\n" + "-" * 79 + "\n")
                results.append(SendResult(m, ok=True, provider_message_id=m.message_id))
            self.stream.flush()
        return results
