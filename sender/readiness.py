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

# Who sends and where the links go: `drip init` leaves each for the user to fill in, and
# `drip lint` reports each one until it is set.
IDENTITY_SETTINGS = ("base_url", "from_address", "reply_to", "postal_address")
# The examples `drip init` writes (commented out): uncommented unchanged, they are still unset.
PLACEHOLDERS = {
    "base_url": "https://courses.your-domain.example",
    "from_address": "Your Name <you@your-domain.example>",
    "reply_to": "you@your-domain.example",
    "postal_address": "Your Company, 1 Your Street, Your City, Your Country",
}
# What each should be set to, for the message that asks for it.
_WANTED = {
    "base_url": "the public https URL of this service",
    "from_address": "your From address, e.g. \"Your Name <you@your-domain>\"",
    "reply_to": "the address replies should reach (\"\" for no Reply-To)",
    "postal_address": "your postal address (shown in every email)",
}

# The postal addresses this repository ships: its dripcourse.toml, the built-in default, and
# drip init's example.
SAMPLE_POSTAL_ADDRESSES = frozenset({
    "BIM Kinesiology, 1 Example Street, Vancouver BC, Canada",
    "Dripcourse, 1 Example Street, Vancouver BC, Canada",
    PLACEHOLDERS["postal_address"],
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


def _postal_problem(settings: Settings) -> str | None:
    postal: str = settings.postal_address
    if postal.strip() not in SAMPLE_POSTAL_ADDRESSES:
        return None
    return (f"postal_address {postal!r} is the shipped sample, but every marketing email "
            "must show the sender's real postal address (CAN-SPAM); "
            + _fix(settings, "postal_address", "yours"))


def _sending_problems(settings: Settings) -> dict[str, str]:
    """Each identity setting that would make real mail go wrong, and why."""
    found = {
        "base_url": _base_url_problem(settings),
        "from_address": _address_problem(settings, "from_address", "send from or reply to"),
        "reply_to": _address_problem(settings, "reply_to", "reply to"),
        "postal_address": _postal_problem(settings),
    }
    return {name: problem for name, problem in found.items() if problem}


def sending_problems(settings: Settings, provider_url: str) -> list[str]:
    """Why sending through `provider_url` with these settings would go wrong, one line per
    setting naming it and the fix; empty when ready, and always empty for a test backend."""
    if is_test_backend(provider_url):
        return []
    return list(_sending_problems(settings).values())


def _unset_problem(settings: Settings, name: str) -> str | None:
    """`name` not set yet: given nowhere (the built-in default stands in), still drip init's
    example, or empty (only reply_to may be: no Reply-To)."""
    value: str = getattr(settings, name)
    if settings.sources.get(name, "default") == "default":
        stands_in = f"the built-in {value!r} stands in" if value else "there is none"
        why = f"is not set ({stands_in})"
    elif value.strip() == PLACEHOLDERS[name]:
        why = f"is still drip init's example {value!r}"
    elif not value.strip() and name != "reply_to":
        why = "is empty"
    else:
        return None
    return f"{name} {why}; {_fix(settings, name, _WANTED[name])}"


def setup_problems(settings: Settings, provider_url: str) -> list[str]:
    """What `drip lint` reports of the settings, one line per identity setting: not set yet
    (with any provider: a new project's to-do list), else what sending through
    `provider_url` would refuse."""
    sending = {} if is_test_backend(provider_url) else _sending_problems(settings)
    problems = [_unset_problem(settings, name) or sending.get(name) for name in IDENTITY_SETTINGS]
    return [p for p in problems if p]


def refuse_unready(settings: Settings, provider_url: str) -> None:
    """Raise, listing every problem and its fix, unless `settings` are fit to send through
    `provider_url`."""
    if problems := sending_problems(settings, provider_url):
        raise DripError(f"not sending through {urlsplit(provider_url).scheme}: fix "
                        f"{'this setting' if len(problems) == 1 else 'these settings'} first:\n"
                        + "\n".join(f"  - {p}" for p in problems))
