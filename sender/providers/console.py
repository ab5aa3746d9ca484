"""Prints each message to standard output, for a quick look."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from sender.providers.base import OutgoingMessage, Provider, SendResult


class ConsoleProvider(Provider):
    scheme = "console"
    name = "console"

    def __init__(self, url: str, stream: TextIO | None = None) -> None:
        super().__init__(url)
        self.stream = stream or sys.stdout

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        for m in messages:
            self.stream.write(m.as_email().as_string())
            self.stream.write("\n" + "-" * 79 + "\n")
        self.stream.flush()
        return [SendResult(m, ok=True, provider_message_id=m.message_id) for m in messages]
