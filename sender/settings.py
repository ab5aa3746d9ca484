"""Every setting declared once: name, type, default, help.

Precedence, lowest first: the declared default, `dripcourse.toml` at the project
root, `DRIP_<NAME>` environment variables, then `--set NAME=VALUE` flags.
Secrets may only come from the environment, so they never end up in a
committed file. Every value is checked where it is read (its type, then what
it may be: a real time zone, a port, a database the store can open), so a bad
one is one line naming its source and the values allowed, never a traceback
later in a tick.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sender.errors import DripError
from sender.schedule import Timing, parse_weekdays, parse_window, zone

CONFIG_FILE = "dripcourse.toml"
ENV_PREFIX = "DRIP_"


class SettingsError(DripError):
    """A setting is unknown, malformed, or comes from a place it may not."""


# -- value checks: each raises ValueError saying what is allowed -------------------------------

# A batch is claimed in one transaction (or one per request the provider runs at once) and held
# in memory while it is rendered and sent, and a crash leaves at most one batch with an unknown
# outcome. Providers take at most 1,000 messages a call (SendGrid, Mailgun), so more than ten
# calls' worth per batch gains no speed, only risk.
MAX_BATCH_SIZE = 10_000


def _whole_number(low: int, high: int | None = None) -> Callable[[int], None]:
    def check(value: int) -> None:
        if value < low or (high is not None and value > high):
            allowed = f"from {low:,} to {high:,}" if high is not None else f">= {low}"
            raise ValueError(f"must be a whole number {allowed}, got {value}")
    return check


def _time_zone(name: str) -> None:
    zone(name)


def _send_window(text: str) -> None:
    start, end = parse_window(text)
    Timing(window_start=start, window_end=end)  # refuses an empty window, as the engine would


def _send_weekdays(text: str) -> None:
    Timing(weekdays=parse_weekdays(text))  # refuses "no weekday at all"


_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")


def _listen(text: str) -> None:
    """HOST:PORT as `drip serve` splits it (at the last colon; no host is 127.0.0.1)."""
    host, colon, port = text.rpartition(":")
    good_port = port.isascii() and port.isdigit() and 1 <= int(port) <= 65535
    good_host = not host or _HOSTNAME.fullmatch(host) is not None or _is_ip(host)
    if not (colon and good_port and good_host):
        # `drip serve` hands the host to waitress as it is, which takes no brackets
        hint = "; write IPv6 without brackets, e.g. ::1:8000" if host.startswith("[") else ""
        raise ValueError(f"must be HOST:PORT with a port from 1 to 65535 (e.g. 127.0.0.1:8000), "
                         f"got {text!r}{hint}")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


DATABASES = "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"


def _database_url(text: str) -> None:
    """A URL SQLAlchemy can open for the store (SQLite or PostgreSQL, driver installed)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    shown = re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", text)  # never echo a password
    try:
        url = make_url(text)
        backend = url.get_backend_name()
        # sqlite://name.db (two slashes) names a host, which SQLite refuses when it opens
        known = backend == "postgresql" or (backend == "sqlite" and not (url.host or url.username))
        dialect = url.get_dialect() if known else None
    except (ArgumentError, NoSuchModuleError, ValueError):
        dialect = None
    if dialect is None:
        raise ValueError(f"must be {DATABASES}, got {shown!r}")
    try:
        dialect.import_dbapi()
    except ImportError:
        raise ValueError(f"{shown!r} needs the {url.get_driver_name()} driver, which is not installed; "
                         f"use {DATABASES} (for PostgreSQL: pip install -e '.[postgres]')") from None


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str
    secret: bool = False
    check: Callable[[Any], None] | None = None  # raises ValueError saying what is allowed

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", str, "sqlite:///dripcourse.db",
            "SQLAlchemy URL of the store; relative SQLite paths are under the project folder.",
            check=_database_url),
    Setting("provider", str, "outbox://./outbox",
            "Where mail goes: outbox://DIR, console://, memory://, or a provider URL."),
    Setting("from_address", str, "Dripcourse <hello@example.com>",
            "From header of every email."),
    Setting("reply_to", str, "", "Reply-To header; empty for none."),
    Setting("base_url", str, "http://127.0.0.1:8000",
            "Public URL of the web app, used in unsubscribe and confirmation links."),
    Setting("unsubscribe_mailto", str, "unsubscribe@example.com",
            "Address for the mailto: part of List-Unsubscribe."),
    Setting("postal_address", str, "Dripcourse, 1 Example Street, Vancouver BC, Canada",
            "Sender's physical postal address, shown in every marketing email (CAN-SPAM)."),
    Setting("brand_colour", str, "#0b7a5a", "Brand colour for links, buttons and accents."),
    Setting("logo_url", str, "",
            "https URL of a logo image at the top of every email (alt text: the From name); empty for none."),
    Setting("default_timezone", str, "UTC",
            "IANA time zone for subscribers who have none.", check=_time_zone),
    Setting("send_window", str, "09:00-11:00",
            "Local send window (e.g. 09:00-11:00); campaigns and lessons may override it.",
            check=_send_window),
    Setting("send_weekdays", str, "all", "Weekdays lessons may go out on: all, mon-fri, mon,wed,fri …",
            check=_send_weekdays),
    Setting("default_delay_days", int, 2,
            "Days between lessons when a lesson does not say.", check=_whole_number(0)),
    Setting("batch_size", int, 500,
            f"Deliveries a tick has with the provider at once (1 to {MAX_BATCH_SIZE:,}), claimed in one "
            "claim per request the provider runs at once. Left unset: 500, or enough to fill those "
            "requests (Postmark: 500 × 2), at most 1,000.",
            check=_whole_number(1, MAX_BATCH_SIZE)),
    # More than a day between ticks would sleep through whole send windows.
    Setting("tick_seconds", int, 60, "How often `drip serve` wakes up to send what is due (1 to 86,400).",
            check=_whole_number(1, 86_400)),
    Setting("provider_rest_seconds", int, 600,
            "After the provider fails batch after batch, how long its campaigns pause before "
            "trying again by themselves.", check=_whole_number(0)),
    Setting("listen", str, "127.0.0.1:8000",
            "HOST:PORT the web app of `drip serve` listens on (public pages, webhooks, console).",
            check=_listen),
    Setting("campaigns_dir", str, "campaigns", "Folder of campaign folders, under the project."),
    Setting("templates_dir", str, "templates", "Folder of MJML/Jinja templates, under the project."),
    Setting("signing_key", str, None,
            "Key for signed links (unsubscribe, confirm). Generated and kept in the store if unset.",
            secret=True),
    Setting("admin_user", str, "admin", "User name of the staff console login (/console)."),
    Setting("admin_password_hash", str, None,
            "Password hash of the console login, from `drip admin hash-password`; the console "
            "refuses every login while unset.", secret=True),
    Setting("session_secret", str, None,
            "Key that signs console session cookies; derived from the signing key if unset. "
            "Changing it logs everyone out.", secret=True),
    Setting("newsletters_dir", str, "newsletters",
            "Folder, under the project, where newsletters composed in the console are saved."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    if setting.type is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
    elif setting.type is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
    elif setting.type is str and isinstance(value, str):
        return value
    raise SettingsError(
        f"{where}: setting '{setting.name}' must be {setting.type.__name__}, got {value!r}"
    )


def _read(setting: Setting, value: Any, where: str) -> Any:
    """`value` as the setting's type, checked; `where` names the source in errors."""
    value = _coerce(setting, value, where)
    if setting.check is not None and value is not None:
        try:
            setting.check(value)
        except ValueError as exc:
            raise SettingsError(f"{where}: {setting.name}: {exc}") from None
    return value


class Settings:
    """Resolved values plus where each came from (for `drip settings`)."""

    def __init__(self, project_dir: Path, values: dict[str, Any], sources: dict[str, str]):
        self.project_dir = project_dir
        self._values = values
        self.sources = sources

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def replace(self, **changes: Any) -> Settings:
        values, sources = dict(self._values), dict(self.sources)
        for name, value in changes.items():
            if name not in _BY_NAME:
                raise SettingsError(f"unknown setting '{name}'")
            values[name] = _read(_BY_NAME[name], value, "code")
            sources[name] = "code"
        return Settings(self.project_dir, values, sources)

    def path(self, name: str) -> Path:
        """A folder setting resolved against the project folder."""
        return (self.project_dir / self._values[name]).resolve()

    @property
    def resolved_database_url(self) -> str:
        url: str = self._values["database_url"]
        prefix = "sqlite:///"
        if url.startswith(prefix) and url != "sqlite:///:memory:" and not url.startswith("sqlite:////"):
            return prefix + str((self.project_dir / url[len(prefix):]).resolve())
        return url


def load_settings(
    project_dir: Path | None = None,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    project_dir = (project_dir or Path.cwd()).resolve()
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in SETTINGS}
    sources = {s.name: "default" for s in SETTINGS}

    config = project_dir / CONFIG_FILE
    if config.exists():
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{config}: {exc}") from None
        for key, value in data.items():
            setting = _BY_NAME.get(key)
            if setting is None:
                raise SettingsError(f"{config}: unknown setting '{key}'")
            if setting.secret:
                raise SettingsError(
                    f"{config}: '{key}' is a secret; set it with {setting.env_var} instead"
                )
            values[key] = _read(setting, value, str(config))
            sources[key] = CONFIG_FILE

    for setting in SETTINGS:
        if setting.env_var in environ:
            values[setting.name] = _read(setting, environ[setting.env_var], setting.env_var)
            sources[setting.name] = f"env {setting.env_var}"

    for key, value in (overrides or {}).items():
        setting = _BY_NAME.get(key)
        if setting is None:
            raise SettingsError(f"--set: unknown setting '{key}'")
        if setting.secret:
            raise SettingsError(f"--set: '{key}' is a secret; set it with {setting.env_var}")
        values[key] = _read(setting, value, "--set")
        sources[key] = "flag --set"
    return Settings(project_dir, values, sources)
