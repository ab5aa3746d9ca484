"""Every setting declared once: name, type, default, help.

Precedence, lowest first: the declared default, `dripcourse.toml` at the project
root, `DRIP_<NAME>` environment variables, then `--set NAME=VALUE` flags.
Secrets may only come from the environment, so they never end up in a
committed file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sender.errors import DripError

CONFIG_FILE = "dripcourse.toml"
ENV_PREFIX = "DRIP_"


class SettingsError(DripError):
    """A setting is unknown, malformed, or comes from a place it may not."""


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str
    secret: bool = False

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", str, "sqlite:///dripcourse.db",
            "SQLAlchemy URL of the store; relative SQLite paths are under the project folder."),
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
            "IANA time zone for subscribers who have none."),
    Setting("send_window", str, "09:00-11:00",
            "Local send window (e.g. 09:00-11:00); campaigns and lessons may override it."),
    Setting("send_weekdays", str, "all", "Weekdays lessons may go out on: all, mon-fri, mon,wed,fri …"),
    Setting("default_delay_days", int, 2,
            "Days between lessons when a lesson does not say."),
    Setting("batch_size", int, 500, "Deliveries claimed and sent per batch in a tick."),
    Setting("tick_seconds", int, 60, "How often `drip serve` wakes up to send what is due."),
    Setting("provider_rest_seconds", int, 600,
            "After the provider fails batch after batch, how long its campaigns pause before "
            "trying again by themselves."),
    Setting("listen", str, "127.0.0.1:8000",
            "HOST:PORT the web app of `drip serve` listens on (public pages, webhooks, console)."),
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
            values[name] = _coerce(_BY_NAME[name], value, "code")
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
            values[key] = _coerce(setting, value, str(config))
            sources[key] = CONFIG_FILE

    for setting in SETTINGS:
        if setting.env_var in environ:
            values[setting.name] = _coerce(setting, environ[setting.env_var], setting.env_var)
            sources[setting.name] = f"env {setting.env_var}"

    for key, value in (overrides or {}).items():
        setting = _BY_NAME.get(key)
        if setting is None:
            raise SettingsError(f"--set: unknown setting '{key}'")
        if setting.secret:
            raise SettingsError(f"--set: '{key}' is a secret; set it with {setting.env_var}")
        values[key] = _coerce(setting, value, "--set")
        sources[key] = "flag --set"

    from sender.schedule import parse_weekdays, parse_window

    for name, parse in (("send_window", parse_window), ("send_weekdays", parse_weekdays)):
        try:
            parse(values[name])
        except ValueError as exc:
            raise SettingsError(f"{sources[name]}: {name}: {exc}") from None
    return Settings(project_dir, values, sources)
