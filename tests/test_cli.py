"""The CLI as a user runs it: a real process, its exit code and its exact stderr."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


def drip(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}
    env["COLUMNS"] = "200"  # rich wraps tables to the terminal width
    return subprocess.run([sys.executable, "-m", "sender.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_missing_article_file(tmp_path: Path) -> None:
    result = drip("split", "no-such-article.txt", "--campaign", "x", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "error: article file not found: no-such-article.txt\n"
    assert not (tmp_path / "campaigns").exists()


def test_invalid_email_address(tmp_path: Path) -> None:
    result = drip("subscribers", "add", "not-an-address", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        "error: email 'not-an-address' is not valid: "
        "An email address must have an @-sign.\n"
    )


def test_unknown_setting_in_project_file(tmp_path: Path) -> None:
    (tmp_path / "dripcourse.toml").write_text("sendhour = 9\n")
    result = drip("settings", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"error: {tmp_path / 'dripcourse.toml'}: unknown setting 'sendhour'\n"


def test_settings_shows_value_and_source(tmp_path: Path) -> None:
    (tmp_path / "dripcourse.toml").write_text("send_window = \"08:00-10:00\"\n")
    result = drip("-s", "batch_size=50", "settings", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "08:00-10:00" in lines["send_window"] and "dripcourse.toml" in lines["send_window"]
    assert "50" in lines["batch_size"] and "flag --set" in lines["batch_size"]


def test_add_enrol_tick_status(project: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    # Lessons may go any day but today, so the first one is planned for 09:00 on a later
    # day whatever the time is now (today's window may be open while the test runs).
    today = datetime.now(ZoneInfo("Europe/Lisbon")).strftime("%a").lower()
    days = [d for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") if d != today]
    (project / "dripcourse.toml").write_text(f'send_weekdays = "{",".join(days)}"\n')
    assert drip("subscribers", "add", "Maria@Example.com", "--name", "Maria",
                "--timezone", "Europe/Lisbon", cwd=project).returncode == 0
    listed = drip("subscribers", "list", cwd=project)
    assert "maria@example.com" in listed.stdout  # normalised: one person, one subscriber
    assert drip("enrol", "mini", cwd=project).stdout.strip() == "enrolled 1 new subscriber(s) in mini"
    plan = drip("schedule", "--subscriber", "maria@example.com", cwd=project)
    assert plan.returncode == 0, plan.stderr
    rows = [line for line in plan.stdout.splitlines() if "mini" in line]
    assert [r.split("│")[2].strip() for r in rows] == ["01-start", "02-next", "03-last"]
    assert all(" 09:00 " in r and "planned" in r for r in rows)

    assert drip("pause", "mini", cwd=project).stdout.strip() == "paused mini"
    status = drip("status", cwd=project)
    assert status.returncode == 0, status.stderr
    assert "paused (paused by staff)" in status.stdout
    wrong = drip("resume", "mini", "--subscriber", "nobody@example.com", cwd=project)
    assert (wrong.returncode, wrong.stderr) == (1, "error: nobody@example.com is not enrolled in mini\n")


@pytest.mark.parametrize("args", [["--help"], ["subscribers", "--help"]])
def test_help_answers(args: list[str], tmp_path: Path) -> None:
    result = drip(*args, cwd=tmp_path)
    assert result.returncode == 0 and "Usage" in result.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("worker", [False, True], ids=["web+scheduler", "worker"])
def test_serve_ticks_on_its_own_serves_pages_and_stops_on_ctrl_c(project: Path, worker: bool) -> None:
    import signal
    import urllib.request

    from tests.conftest import DEADLINE, wait_until

    port = _free_port()
    # A window that is always open, so the lesson is due at once.
    (project / "dripcourse.toml").write_text('send_window = "00:00-23:59"\ntick_seconds = 1\n'
                                             f'provider = "outbox://outbox"\nlisten = "127.0.0.1:{port}"\n')
    assert drip("subscribers", "add", "a@example.com", cwd=project).returncode == 0
    assert drip("enrol", "mini", cwd=project).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}
    proc = subprocess.Popen([sys.executable, "-m", "sender.cli", "serve", *(["--worker"] if worker else [])],
                            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    page = None
    try:
        wait_until(lambda: list((project / "outbox").glob("*.eml")))
        if not worker:
            url = f"http://127.0.0.1:{port}/subscribe/mini"
            with urllib.request.urlopen(url, timeout=DEADLINE) as answer:
                page = answer.read().decode()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE)
    assert len(list((project / "outbox").glob("*.eml"))) == 1, err
    assert proc.returncode == 0, err
    assert "sent 1, failed 0" in out
    if not worker:
        assert page is not None and "Mini &amp; Course" in page


def test_tick_exits_non_zero_when_a_lesson_typo_pauses_the_campaign_and_retry_says_what_it_did(
        project: Path) -> None:
    (project / "dripcourse.toml").write_text('send_window = "00:00-23:59"\n')
    lesson = project / "campaigns" / "mini" / "01-start.md"
    good = lesson.read_text()
    lesson.write_text("---\nsubject: Start\npreheader: p\ndelay: 0\n---\nHi {{ subscriber.nickname }}\n")
    assert drip("subscribers", "add", "ana@example.com", "--timezone", "UTC", cwd=project).returncode == 0
    assert drip("enrol", "mini", cwd=project).returncode == 0
    tick = drip("tick", cwd=project)
    assert tick.returncode == 1, tick.stdout
    assert "paused: mini" in tick.stdout and "01-start.md" in tick.stderr
    status = drip("status", cwd=project)
    assert "paused (a lesson cannot be sent:" in status.stdout and "01-start.md" in status.stdout
    lesson.write_text(good)
    assert drip("resume", "mini", cwd=project).returncode == 0
    tick = drip("tick", cwd=project)
    assert (tick.returncode, tick.stdout.split(",")[0]) == (0, "sent 1")
    assert drip("retry", "mini/01-start", cwd=project).stdout.strip() == (
        "queued 0 failed deliveries of mini/01-start again")
    missing = drip("retry", "nope", cwd=project)
    assert (missing.returncode, missing.stderr) == (
        1, "error: no campaign 'nope' in the store (enrol someone first)\n")


def test_enrol_lints_first_and_says_who_lacks_a_field(project: Path) -> None:
    lesson = project / "campaigns" / "mini" / "01-start.md"
    lesson.write_text(lesson.read_text() + "\nSee you in {{ subscriber.city }}.\n")
    assert drip("subscribers", "add", "ana@example.com", cwd=project).returncode == 0
    enrolled = drip("enrol", "mini", cwd=project)
    assert enrolled.returncode == 0
    assert enrolled.stderr.startswith(f"warning: 1 active subscriber(s) have no 'city', which {lesson}:")
    (project / "campaigns" / "mini" / "02-next.md").write_text("no front matter at all\n")
    refused = drip("enrol", "mini", cwd=project)
    assert refused.returncode == 1 and refused.stderr.startswith(
        "error: mini is not ready to enrol anyone (`drip lint mini`):\n")


def test_tick_dry_run_says_who_would_get_what_and_sends_nothing(project: Path) -> None:
    (project / "dripcourse.toml").write_text('send_window = "00:00-23:59"\n')
    for email in ("ana@example.com", "ben@example.com"):
        assert drip("subscribers", "add", email, "--timezone", "UTC", cwd=project).returncode == 0
    assert drip("enrol", "mini", cwd=project).returncode == 0
    dry = drip("tick", "--dry-run", cwd=project)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == ["would send 2 lesson(s) now; dry run: nothing sent",
                                       "  ana@example.com: mini/01-start", "  ben@example.com: mini/01-start"]
    assert not (project / "outbox").exists() or not list((project / "outbox").glob("*.eml"))
    assert drip("tick", cwd=project).stdout.startswith("sent 2")  # the dry run claimed nothing
