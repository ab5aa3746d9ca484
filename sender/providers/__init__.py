"""Provider registry: a backend is chosen by the scheme of the `provider` URL.

Modules are imported only when their scheme is used, so `drip --help` stays
fast and a provider's dependencies load only for those who use it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from urllib.parse import urlsplit

from sender.providers.base import OutgoingMessage, Provider, ProviderError, SendResult

__all__ = ["BACKENDS", "OutgoingMessage", "Provider", "ProviderError", "SendResult", "get_provider"]

# scheme -> "module:Class"
BACKENDS: dict[str, str] = {
    "outbox": "sender.providers.outbox:OutboxProvider",
    "console": "sender.providers.console:ConsoleProvider",
    "memory": "sender.providers.memory:MemoryProvider",
    "postmark": "sender.providers.postmark:PostmarkProvider",
    "sendgrid": "sender.providers.sendgrid:SendGridProvider",
    "mailgun": "sender.providers.mailgun:MailgunProvider",
    "resend": "sender.providers.resend:ResendProvider",
    "ses": "sender.providers.ses:SesProvider",
    "smtp": "sender.providers.smtp:SmtpProvider",
    "smtps": "sender.providers.smtp:SmtpProvider",
}


def get_provider(url: str, *, project_dir: Path | None = None) -> Provider:
    scheme = urlsplit(url).scheme
    target = BACKENDS.get(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in sorted(BACKENDS))
        raise ProviderError(f"provider {url!r}: unknown scheme {scheme!r} (known: {known})")
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if scheme == "outbox":
        return cls(url, base_dir=project_dir)
    return cls(url)
