"""What the CLI prints, for people and for scripts: tables readable in an 80-column terminal,
`--json` documents, `--version`, shell completion, `enrol --dry-run`, a taken port, and flags
whose help says what the parser takes. Each runs `drip` as a real process."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

LONG_SLUG = "nn-remote-coaching-course-2026"  # 30 characters, as people name their courses
LONG_EMAIL = "maria.fernanda.long-address@example-company.com"
LONG_ZONE = "America/Argentina/Buenos_Aires"
REPO = Path(__file__).resolve().parent.parent
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def drip(*args: str, cwd: Path, columns: int = 200, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}
    clean["COLUMNS"] = str(columns)  # what a terminal of that width tells rich
    return subprocess.run([sys.executable, "-m", "sender.cli", *args], cwd=cwd,
                          env={**clean, **(env or {})}, capture_output=True, text=True, timeout=120)


def ok(*args: str, cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    result = drip(*args, cwd=cwd, **kw)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def lines_fit(out: str, columns: int, ellipses: int = 0) -> None:
    from rich.cells import cell_len

    assert out.count("…") == ellipses, out  # nothing cut with an ellipsis
    assert all(cell_len(line) <= columns for line in out.splitlines()), out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with a long-named course, long addresses and zones, lesson 1 sent to both
    subscribers and a newsletter scheduled next year: built once, copied for each test."""
    root = tmp_path_factory.mktemp("busy") / "project"
    shutil.copytree(REPO / "templates", root / "templates")
    course = root / "campaigns" / LONG_SLUG
    course.mkdir(parents=True)
    (course / "campaign.toml").write_text('title = "Remote coaching"\n')
    for n, (key, delay) in enumerate((("01-start", 0), ("02-next", 2), ("03-last", 3)), start=1):
        (course / f"{key}.md").write_text(f"---\nsubject: Lesson {n}\npreheader: Part {n} of three\n"
                                          f"delay: {delay}\n---\nBody {n}.\n")
    (root / "dripcourse.toml").write_text('send_window = "00:00-23:59"\n')
    ok("subscribers", "add", LONG_EMAIL, "--name", "Maria Fernanda", "--timezone", LONG_ZONE,
       "--tag", "vip", "--tag", "webinar-2026", cwd=root)
    ok("subscribers", "add", "ana@example.com", "--name", "Ana", "--timezone", "UTC", cwd=root)
    ok("enrol", LONG_SLUG, cwd=root)
    ok("tick", cwd=root)  # lesson 1 goes to both at once (the window is always open)
    (root / "news.md").write_text("---\nsubject: Our December news for every subscriber\n---\nNews.\n")
    ok("newsletter", "schedule", "news.md", "--at", f"{datetime.now(UTC).year + 1}-12-01 09:00",
       "--timezone", LONG_ZONE, "--segment", "vip", cwd=root)
    return root


@pytest.fixture
def busy(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built, tmp_path / "project")
    return tmp_path / "project"


# -- 80 columns -----------------------------------------------------------------------------


def test_status_at_80_columns_keeps_the_campaign_name_whole(busy: Path) -> None:
    out = ok("status", cwd=busy, columns=80).stdout
    lines_fit(out, 80)
    row = next(line for line in out.splitlines() if LONG_SLUG in line)
    assert "active" in row and "enrolled 2" in row  # name, state and the first figures on one line
    assert "sent 2" in out and "unknown outcome 0" in out


def test_settings_at_80_columns_keeps_names_and_values_whole(busy: Path) -> None:
    from sender.settings import SETTINGS

    out = ok("-s", "provider=outbox://./outbox", "settings", cwd=busy, columns=80).stdout
    lines_fit(out, 80, ellipses=sum(s.help.count("…") for s in SETTINGS))  # "mon,wed,fri …"

    names = {line.split("│")[1].strip() for line in out.splitlines() if line.count("│") == 4}
    assert {s.name for s in SETTINGS} <= names  # provider_rest_seconds was "provider_rest_secon…"
    row = next(line for line in out.splitlines() if "database_url" in line)
    assert "sqlite:///dripcourse.db" in row and "default" in row
    assert "send_window" in out and "00:00-23:59" in out and "dripcourse.toml" in out


def test_newsletter_list_at_80_columns_keeps_the_date_whole(busy: Path) -> None:
    out = ok("newsletter", "list", cwd=busy, columns=80).stdout
    lines_fit(out, 80)
    assert f"{datetime.now(UTC).year + 1}-12-01 09:00" in out  # was "2026-12-0…"
    assert LONG_ZONE in out and "Our December news for every subscriber" in out


def test_schedule_and_subscribers_at_80_columns_keep_keys_whole(busy: Path) -> None:
    plan = ok("schedule", "--subscriber", LONG_EMAIL, cwd=busy, columns=80).stdout
    lines_fit(plan, 80)
    for lesson in ("01-start", "02-next", "03-last"):
        assert re.search(rf"{LONG_SLUG}\s.*{lesson}", plan), plan
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", plan)  # a UTC time, whole
    listed = ok("subscribers", "list", cwd=busy, columns=80).stdout
    lines_fit(listed, 80)
    for value in (LONG_EMAIL, LONG_ZONE, "vip, webinar-2026", "ana@example.com"):
        assert value in listed


def test_a_wide_enough_terminal_keeps_one_row_per_campaign(busy: Path) -> None:
    out = ok("status", cwd=busy, columns=120).stdout  # the old table cut the name here
    lines_fit(out, 120)
    row = next(line for line in out.splitlines() if LONG_SLUG in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == [LONG_SLUG, "active", "2", "2", "0", "0", "2", "0", "0", "0"]  # due in 24 h before sent


def test_a_paused_campaigns_reason_is_printed_whole_under_the_table(busy: Path) -> None:
    ok("pause", LONG_SLUG, cwd=busy)
    out = ok("status", cwd=busy, columns=80).stdout
    assert f"{LONG_SLUG}: paused (paused by staff)" in out.splitlines()


# -- --json ---------------------------------------------------------------------------------


def as_json(*args: str, cwd: Path, **kw: Any) -> Any:
    result = ok(*args, "--json", cwd=cwd, columns=80, **kw)
    return json.loads(result.stdout)  # the whole of stdout is one document


def test_status_json(busy: Path) -> None:
    doc = as_json("status", "--days", "3", cwd=busy)
    assert set(doc) == {"generated_at", "campaigns"} and ISO_UTC.match(doc["generated_at"])
    course = next(c for c in doc["campaigns"] if c["slug"] == LONG_SLUG)
    assert course == {
        "slug": LONG_SLUG, "status": "active", "paused_reason": None, "enrolled": 2, "active": 2,
        "completed": 0, "sent": 2, "failed": 0, "held": 0, "due_in_24h": course["due_in_24h"],
        "unknown_outcome": 0, "sent_per_lesson": {"01-start": 2}, "due_per_day": course["due_per_day"],
    }
    assert len(course["due_per_day"]) == 3 and sum(course["due_per_day"].values()) <= 2
    assert all(re.match(r"^\d{4}-\d\d-\d\d$", day) for day in course["due_per_day"])


def test_schedule_json(busy: Path) -> None:
    doc = as_json("schedule", "--subscriber", LONG_EMAIL.upper(), cwd=busy)
    assert doc["subscriber"] == LONG_EMAIL
    assert [(r["campaign"], r["lesson"], r["state"]) for r in doc["lessons"]] == [
        (LONG_SLUG, "01-start", "sent"), (LONG_SLUG, "02-next", "planned"), (LONG_SLUG, "03-last", "planned")]
    for row in doc["lessons"]:
        assert set(row) == {"campaign", "lesson", "state", "reason", "utc", "local", "timezone"}
        assert ISO_UTC.match(row["utc"]) and row["timezone"] == LONG_ZONE
        local = datetime.fromisoformat(row["local"])
        assert local == datetime.fromisoformat(row["utc"]) and local.utcoffset() is not None
        assert local.utcoffset().total_seconds() == -3 * 3600  # type: ignore[union-attr]


def test_settings_json_shows_types_and_sources_and_hides_secrets(busy: Path) -> None:
    doc = as_json("-s", "batch_size=50", "settings", cwd=busy,
                  env={"DRIP_SIGNING_KEY": "s3cret-signing-key-value"})
    by_name = {s["name"]: s for s in doc["settings"]}
    assert set(doc) == {"settings"}
    assert all(set(s) == {"name", "value", "source", "secret", "help"} for s in doc["settings"])
    assert by_name["batch_size"]["value"] == 50 and by_name["batch_size"]["source"] == "flag --set"
    assert by_name["send_window"] == {**by_name["send_window"], "value": "00:00-23:59",
                                      "source": "dripcourse.toml", "secret": False}
    assert by_name["signing_key"] == {**by_name["signing_key"], "value": "(hidden)",
                                      "source": "env DRIP_SIGNING_KEY", "secret": True}
    assert by_name["admin_password_hash"]["value"] is None  # a secret not set
    assert "s3cret" not in json.dumps(doc)


def test_newsletter_list_json(busy: Path) -> None:
    doc = as_json("newsletter", "list", cwd=busy)
    [item] = doc["newsletters"]
    year = datetime.now(UTC).year + 1
    assert item == {**item, "subject": "Our December news for every subscriber", "status": "scheduled",
                    "next_issue": f"{year}-12-01T09:00", "timezone": LONG_ZONE, "local": False,
                    "segment": "vip", "cron": None, "next_run_at": f"{year}-12-01T12:00:00Z"}
    assert {"id", "campaign", "source", "created_at"} <= set(item)
    assert isinstance(item["id"], int) and ISO_UTC.match(item["created_at"])


def test_subscribers_list_json(busy: Path) -> None:
    doc = as_json("subscribers", "list", cwd=busy)
    first, second = doc["subscribers"]
    assert set(first) == {"email", "name", "timezone", "status", "tags", "fields", "consent_source",
                          "consent_at", "created_at"}
    assert (first["email"], first["name"], first["timezone"], first["tags"], first["status"]) == (
        LONG_EMAIL, "Maria Fernanda", LONG_ZONE, ["vip", "webinar-2026"], "active")
    assert first["fields"] == {} and first["consent_source"] == "cli"
    assert ISO_UTC.match(first["created_at"]) and ISO_UTC.match(first["consent_at"])
    assert second["email"] == "ana@example.com"
    assert as_json("subscribers", "list", "--limit", "1", cwd=busy)["subscribers"] == [first]


# -- version, completion --------------------------------------------------------------------


def test_version_is_the_installed_packages(tmp_path: Path) -> None:
    from importlib.metadata import version

    result = ok("--version", cwd=tmp_path)
    assert result.stdout == f"dripcourse {version('dripcourse')}\n"


def test_shell_completion_is_offered_and_answers(tmp_path: Path) -> None:
    helped = ok("--help", cwd=tmp_path).stdout
    assert "--install-completion" in helped and "--show-completion" in helped
    # What the installed bash script asks at each Tab press.
    words = drip(cwd=tmp_path, env={"_DRIP_COMPLETE": "complete_bash", "COMP_WORDS": "drip newsletter li",
                                    "COMP_CWORD": "2"})
    assert (words.returncode, words.stdout.split()) == (0, ["list"])
    script = drip(cwd=tmp_path, env={"_DRIP_COMPLETE": "source_bash"})
    assert "complete_bash" in script.stdout and "_DRIP_COMPLETE" in script.stdout


# -- enrol --dry-run ------------------------------------------------------------------------


def test_enrol_dry_run_says_who_and_enrols_nobody(project: Path) -> None:
    lesson = project / "campaigns" / "mini" / "02-next.md"
    lesson.write_text(lesson.read_text() + "\nGreetings to {{ subscriber.city }}.\n")
    (project / "people.csv").write_text("email\n" + "".join(f"p{n}@example.com\n" for n in range(1, 9)))
    ok("subscribers", "import", "people.csv", cwd=project)
    (project / "later.csv").write_text("email\nlater@example.com\n")
    ok("subscribers", "import", "later.csv", "--pending", cwd=project)  # pending: not enrolled
    ok("enrol", "mini", "--email", "p1@example.com", cwd=project)

    dry = ok("enrol", "mini", "--dry-run", cwd=project)
    assert dry.stdout.splitlines() == [
        "would enrol 7 new subscriber(s) in mini (1 enrolled already); dry run: nobody enrolled",
        "  p2@example.com", "  p3@example.com", "  p4@example.com", "  p5@example.com",
        "  p6@example.com", "  and 2 more"]
    assert dry.stderr.startswith("warning: 8 active subscriber(s) have no 'city'")  # lint still runs
    only = ok("enrol", "mini", "--dry-run", "--email", "p8@example.com", "--email", "later@example.com",
              cwd=project)
    assert only.stdout.splitlines() == ["would enrol 1 new subscriber(s) in mini; dry run: nobody enrolled",
                                        "  p8@example.com"]
    assert as_json("status", cwd=project)["campaigns"][0]["enrolled"] == 1
    assert ok("enrol", "mini", cwd=project).stdout.strip() == "enrolled 7 new subscriber(s) in mini"


# -- a port already taken -------------------------------------------------------------------


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_preview_on_a_taken_port_is_one_line(project: Path, taken_port: int) -> None:
    result = drip("preview", "--port", str(taken_port), cwd=project)
    assert (result.returncode, result.stdout) == (1, "")  # no URL printed for a server that isn't
    assert result.stderr == (f"error: port {taken_port} is in use; "
                             f"pass --port (e.g. --port {taken_port + 1})\n")


def test_serve_on_a_taken_port_names_the_setting(project: Path, taken_port: int) -> None:
    (project / "dripcourse.toml").write_text(
        f'listen = "127.0.0.1:{taken_port}"\nsend_window = "00:00-23:59"\n')
    ok("subscribers", "add", "a@example.com", cwd=project)
    ok("enrol", "mini", cwd=project)
    result = drip("serve", cwd=project)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: 127.0.0.1:{taken_port} is in use; set listen in dripcourse.toml, "
                             "or run drip --set listen=HOST:PORT serve\n")
    assert not list((project / "outbox").glob("*.eml"))  # lesson 1 was due: it did not go on to send


# -- flags: the help says what the parser takes ---------------------------------------------


def _commands() -> Iterator[tuple[list[str], Any]]:
    import typer.main

    from sender.cli import app

    def walk(path: list[str], command: Any) -> Iterator[tuple[list[str], Any]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk([*path, name], sub)

    yield from walk([], typer.main.get_command(app))


def test_no_help_offers_a_value_to_a_flag() -> None:
    from typer.testing import CliRunner

    from sender.cli import app

    runner = CliRunner()
    seen = 0
    for path, command in _commands():
        options = [p for p in command.params if p.param_type_name == "option"]
        for option in options:  # every yes/no option is a flag, so "<bool>" would be false
            annotation = getattr(getattr(option, "type_descriptor", None), "annotation", None)
            assert option.is_flag or annotation is not bool, (path, option.opts)
        helped = runner.invoke(app, [*path, "--help"], prog_name="drip", env={"COLUMNS": "200"})
        assert helped.exit_code == 0, (path, helped.output)
        assert "<bool>" not in helped.output, (path, helped.output)
        for option in options:
            if option.is_flag and not option.hidden:
                assert re.search(rf"{re.escape(option.opts[0])}\s", helped.output), (path, option.opts)
                seen += 1
    assert seen >= 10  # --dry-run, --force, --worker, --pending, --local, --json, ...


def test_serve_worker_is_taken_as_its_help_shows_it(project: Path) -> None:
    helped = ok("serve", "--help", cwd=project).stdout
    row = next(line for line in helped.splitlines() if "--worker" in line)
    assert re.search(r"--worker\s+Only send", row), row  # a flag: nothing to give it
    # As shown, it parses: the run goes on to the settings check (a real provider with the
    # sample From refuses to start), not to a usage error.
    started = drip("-s", "provider=postmark://", "serve", "--worker", cwd=project)
    assert started.returncode == 1 and started.stderr.startswith("error: "), started.stderr
    assert "Usage" not in started.stderr
    given = drip("serve", "--worker", "true", cwd=project)
    assert given.returncode == 2 and "unexpected extra argument" in given.stderr
