"""`drip init DIR`: a new project, ready for `drip split`, `drip render` and `drip demo`.

It writes `dripcourse.toml` with the identity settings left for the user (commented-out
examples that `drip lint` reports until they are set), an empty `campaigns/`, a `templates/`
folder for overrides of the packaged defaults, and a `.gitignore`. It never replaces a file
that is already there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sender.defaults import template_names
from sender.errors import DripError
from sender.readiness import IDENTITY_SETTINGS, PLACEHOLDERS
from sender.settings import CONFIG_FILE

# The order a person fills them in: who sends first, where the links go last.
_ASKED = ("from_address", "reply_to", "postal_address", "base_url")
assert sorted(_ASKED) == sorted(IDENTITY_SETTINGS)

# What is made by running the project (store, outbox, renders, the demo), never committed.
GITIGNORE_LINES = ("*.db", "*.db-wal", "*.db-shm", "/outbox/", "/out/", "/demo/")


def config_text() -> str:
    examples = "\n".join(f'# {name} = "{PLACEHOLDERS[name]}"' for name in _ASKED)
    return f"""\
# Settings of this dripcourse project. `drip settings` lists every setting, its value and help.
# Secrets (DRIP_SIGNING_KEY, provider API keys) belong in the environment, never in this file.

# Who sends, and where the unsubscribe and confirmation links go. Uncomment each line and put
# in your own value: `drip lint` reports every one until it is set (reply_to = "" for none).
{examples}

# Where mail goes: .eml files in outbox/ until you choose a provider (README: "Delivery").
provider = "outbox://outbox"
# default_timezone = "UTC"          # for subscribers without one (an IANA name)
# send_window = "09:00-11:00"       # their local time
"""


def templates_readme() -> str:
    names = "\n".join(f"  {name}" for name in template_names())
    return f"""\
A template placed in this folder overrides the packaged default of the same name, also where
another template includes it: partials/footer.mjml here changes the footer of every email,
lesson.mjml here the whole lesson layout. Left empty, every email uses the defaults.

To start from a default, copy it here from the folder `drip init` printed. The defaults:
{names}
"""


@dataclass
class InitReport:
    folder: Path
    created: list[Path] = field(default_factory=list)  # files and folders made
    kept: list[Path] = field(default_factory=list)  # already there, left as they were
    gitignore_added: list[str] = field(default_factory=list)  # lines added to an existing one


def init_project(folder: Path) -> InitReport:
    """Scaffold a project in `folder` (made if missing); refuses a folder that already has a
    dripcourse.toml, and leaves every other existing file alone."""
    config = folder / CONFIG_FILE
    if config.exists():
        raise DripError(f"{config} already exists; not overwriting it "
                        "(edit it, or run drip init with another folder)")
    if folder.exists() and not folder.is_dir():
        raise DripError(f"{folder} is a file, not a folder")
    report = InitReport(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config.write_text(config_text(), encoding="utf-8")
    report.created.append(config)

    for sub in ("campaigns", "templates"):
        path = folder / sub
        if path.exists():
            report.kept.append(path)
        else:
            path.mkdir()
            report.created.append(path)
    readme = folder / "templates" / "README.txt"
    if readme.exists():
        report.kept.append(readme)
    else:
        readme.write_text(templates_readme(), encoding="utf-8")
        report.created.append(readme)

    gitignore = folder / ".gitignore"
    if gitignore.exists():
        text = gitignore.read_text(encoding="utf-8")
        present = {line.strip() for line in text.splitlines()}
        report.gitignore_added = [line for line in GITIGNORE_LINES if line not in present]
        if report.gitignore_added:
            sep = "" if not text or text.endswith("\n") else "\n"
            gitignore.write_text(text + sep + "# dripcourse: made by running the project\n"
                                 + "".join(f"{line}\n" for line in report.gitignore_added),
                                 encoding="utf-8")
        else:
            report.kept.append(gitignore)
    else:
        gitignore.write_text("# Made by running the project: the store (SQLite and its journal "
                             "files), the outbox, renders, the demo\n"
                             + "".join(f"{line}\n" for line in GITIGNORE_LINES), encoding="utf-8")
        report.created.append(gitignore)
    return report
