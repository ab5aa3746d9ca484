"""`drip newsletter schedule` as a user runs it: a time past, --now, the audience (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_cli import drip


def _project_with_people(project: Path) -> Path:
    for email, tag in (("ana@example.com", "vip"), ("ben@example.com", "vip"), ("cy@example.com", "beta")):
        added = drip("subscribers", "add", email, "--name", email[:3].title(), "--tag", tag, cwd=project)
        assert added.returncode == 0, added.stderr
    (project / "news.md").write_text("---\nsubject: December news\n---\nHi {{ subscriber.first_name }}!\n")
    return project


def test_schedule_refuses_a_time_past_and_sends_now_when_told(project: Path) -> None:
    _project_with_people(project)
    past = drip("newsletter", "schedule", "news.md", "--at", "2020-01-01 09:00", "--timezone", "Asia/Tokyo",
                cwd=project)
    assert past.returncode == 1
    assert re.fullmatch(r"error: --at 2020-01-01 09:00 is in the past: it is now \d{4}-\d\d-\d\d \d\d:\d\d "
                        r"in Asia/Tokyo; pass --now to send it at the next tick anyway\n", past.stderr), \
        past.stderr
    late = drip("newsletter", "schedule", "news.md", "--at", "2020-01-01 09:00", "--timezone", "UTC", "--now",
                cwd=project)
    assert late.returncode == 0, late.stderr
    assert late.stdout == ("scheduled newsletter 1 ('December news') for 3 active subscribers, "
                           "at 2020-01-01T09:00 UTC\n")
    listed = drip("newsletter", "list", cwd=project)
    assert "scheduled" in listed.stdout


def test_schedule_refuses_a_segment_of_nobody_and_says_whom_it_reaches(project: Path) -> None:
    _project_with_people(project)
    typo = drip("newsletter", "schedule", "news.md", "--at", "2099-12-01 09:00", "--segment", "vpi",
                cwd=project)
    assert (typo.returncode, typo.stderr) == (
        1, "error: segment 'vpi' matches no active subscriber; tags in use: beta, vip\n")
    vip = drip("newsletter", "schedule", "news.md", "--at", "2099-12-01 09:00", "--segment", "vip",
               "--timezone", "Europe/Lisbon", cwd=project)
    assert vip.returncode == 0, vip.stderr
    assert vip.stdout == ("scheduled newsletter 1 ('December news') for 2 subscribers tagged vip, "
                          "at 2099-12-01T09:00 Europe/Lisbon\n")


def test_schedule_names_an_unknown_zone_without_a_traceback(project: Path) -> None:
    _project_with_people(project)
    bad = drip("newsletter", "schedule", "news.md", "--at", "2099-12-01 09:00", "--timezone", "Mars/Olympus",
               cwd=project)
    assert (bad.returncode, bad.stderr) == (
        1, "error: --timezone: unknown time zone 'Mars/Olympus' (use an IANA name like Europe/Lisbon)\n")
