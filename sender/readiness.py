"""Is this project fit to send real marketing mail? Settings whose links or addresses cannot
work (a loopback or plain-http `base_url`, the shipped sample From or postal address) are
harmless with a test backend and an embarrassment through a real provider, so the commands
that send through one refuse until they are fixed.

Pure: reads the settings and the provider URL, touches nothing.
"""

from __future__ import annotations

import ipaddress
from email.utils import getaddresses
from urllib.parse import urlsplit

from sender.errors import DripError
from sender.settings import CONFIG_FILE, Settings

# Backends that deliver to nobody: a file, the terminal, a list in memory.
TEST_SCHEMES = frozenset({"memory", "outbox", "console"})
SMTP_SCHEMES = frozenset({"smtp", "smtps"})

# RFC 2606 (and 6761 for localhost): names that never reach a real mailbox or web site.
RESERVED_DOMAINS = frozenset({"example.com", "example.org", "example.net"})
RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost"})

# The postal addresses this repository ships: its dripcourse.toml and the built-in default.
SAMPLE_POSTAL_ADDRESSES = frozenset({
    "BIM Kinesiology, 1 Example Street, Vancouver BC, Canada",
    "Dripcourse, 1 Example Street, Vancouver BC, Canada",
})


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_reserved_domain(domain: str) -> bool:
    domain = domain.rstrip(".").lower()
    if any(domain == d or domain.endswith("." + d) for d in RESERVED_DOMAINS):
        return True
    return domain.rpartition(".")[2] in RESERVED_TLDS


def is_test_backend(provider_url: str) -> bool:
    """memory://, outbox://, console://, or an SMTP catcher on this machine (e.g. Mailpit)."""
    parts = urlsplit(provider_url)
    if parts.scheme in TEST_SCHEMES:
        return True
    return parts.scheme in SMTP_SCHEMES and is_loopback_host(parts.hostname or "")


def _fix(settings: Settings, name: str, target: str) -> str:
    """How to change a setting where its value actually comes from: an environment variable
    or --set flag overrides the file, so editing the file alone would not help."""
    source = settings.sources.get(name, "default")
    if source.startswith("env "):
        return f"set {source.removeprefix('env ')} to {target} (it overrides {CONFIG_FILE})"
    if source == "flag --set":
        return f"change --set {name}=… to {target} (it overrides {CONFIG_FILE})"
    return f"set {name} in {CONFIG_FILE} to {target}"


def _base_url_problem(settings: Settings) -> str | None:
    value: str = settings.base_url
    parts = urlsplit(value)
    host = parts.hostname or ""
    why: list[str] = []
    if parts.scheme != "https":
        why.append("plain http, not https" if parts.scheme == "http" else "not an https URL")
    if not host:
        why.append("no host name")
    elif is_loopback_host(host):
        why.append("a loopback host only this machine can open")
    elif is_reserved_domain(host):
        why.append("a reserved example domain")
    if not why:
        return None
    return (f"base_url {value!r} is {' and '.join(why)}, so unsubscribe and confirmation links "
            f"cannot work; {_fix(settings, 'base_url', 'the public https URL of this service')}")


def _address_problem(settings: Settings, name: str, what: str) -> str | None:
    value: str = getattr(settings, name)
    if not value.strip():
        return None  # an empty reply_to means none; an empty From is the renderer's to refuse
    fix = _fix(settings, name, "an address at your own domain")
    addresses = [addr for _, addr in getaddresses([value])]
    if not addresses or any(not addr.partition("@")[2] for addr in addresses):
        return f"{name} {value!r} is not an email address that anyone can {what}; {fix}"
    reserved = [addr.partition("@")[2] for addr in addresses if is_reserved_domain(addr.partition("@")[2])]
    if not reserved:
        return None
    return (f"{name} {value!r} is a sample address (reserved domain {reserved[0]!r}) that "
            f"no one can {what}; {fix}")


def sending_problems(settings: Settings, provider_url: str) -> list[str]:
    """Why sending through `provider_url` with these settings would go wrong, one line per
    setting naming it and the fix; empty when ready, and always empty for a test backend."""
    if is_test_backend(provider_url):
        return []
    problems = [
        _base_url_problem(settings),
        _address_problem(settings, "from_address", "send from or reply to"),
        _address_problem(settings, "reply_to", "reply to"),
    ]
    postal: str = settings.postal_address
    if postal.strip() in SAMPLE_POSTAL_ADDRESSES:
        problems.append(f"postal_address {postal!r} is the shipped sample, but every marketing email "
                        "must show the sender's real postal address (CAN-SPAM); "
                        + _fix(settings, "postal_address", "yours"))
    return [p for p in problems if p]


def refuse_unready(settings: Settings, provider_url: str) -> None:
    """Raise, listing every problem and its fix, unless `settings` are fit to send through
    `provider_url`."""
    if problems := sending_problems(settings, provider_url):
        raise DripError(f"not sending through {urlsplit(provider_url).scheme}: fix "
                        f"{'this setting' if len(problems) == 1 else 'these settings'} first:\n"
                        + "\n".join(f"  - {p}" for p in problems))
