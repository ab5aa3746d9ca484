"""Rules that more than one layer applies, checked where they meet: the console, the CLI
and the content stage give the same answer, so a second copy of a rule shows up as a
disagreement here rather than as two numbers for one store."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sender import campaign as campaign_module
from sender.campaign import SCHEDULE_KEYS, TIMING_KEYS, CampaignError, load_campaign
from sender.content.lesson_markdown import lesson_filename
from sender.content.splitter import Lesson
from sender.naming import slugify
from sender.store import console as queries
from sender.store import reports
from sender.store.schema import deliveries
from sender.subscribers import add_subscriber
from tests.console.conftest import COURSE, Console
from tests.test_cli import drip


def _text(answer: Any) -> str:
    return html.unescape(str(answer.get_data(as_text=True)))


def _claimed(c: Console, email: str, ago: timedelta) -> None:
    """Put `email`'s deliveries in 'sending', claimed `ago` before the console's now."""
    with c.engine.store.begin() as conn:
        sid = conn.execute(sa.text("SELECT id FROM subscribers WHERE email = :e"), {"e": email}).scalar()
        conn.execute(deliveries.update().where(deliveries.c.subscriber_id == sid)
                     .values(status="sending", claimed_at=c.clock() - ago, sent_at=None))


def _sent_to(c: Console, *emails: str) -> None:
    for email in emails:
        add_subscriber(c.engine.store, email, now=c.clock(), name=email[:3].title(), timezone="UTC")
    c.engine.enrol(COURSE)
    c.clock.advance_to(c.engine.store.next_due_at())
    c.engine.tick()


# -- unknown outcome -------------------------------------------------------------------------


def test_console_and_drip_status_count_the_same_unknown_outcomes(sqlite_console: Console,
                                                                 glute_project: Path) -> None:
    c = sqlite_console
    _sent_to(c, "ana@example.com", "ben@example.com", "cy@example.com")
    # `drip status` reads the system clock; the console's clock is set to it so both
    # judge the same rows against the same now.
    c.clock.now = datetime.now(UTC)
    _claimed(c, "ana@example.com", timedelta(hours=1))  # its worker died: unknown
    _claimed(c, "ben@example.com", timedelta(seconds=30))  # a batch in flight: not unknown
    # cy's delivery stays 'sent'

    page = _text(c.client.get("/console/deliverability"))
    console_says = int(re.search(r"<p>([\d,]+) deliveries were handed to a worker", page).group(1))
    assert "1 more are being sent right now" in page

    url = c.engine.settings.database_url
    status = drip("--set", f"database_url={url}", "status", cwd=glute_project)
    assert status.returncode == 0, status.stderr
    [row] = [line for line in status.stdout.splitlines() if line.startswith(f"│ {COURSE}")]
    cli_says = int(row.split("│")[-2])

    campaign_id = next(x.id for x in c.engine.store.campaigns() if x.slug == COURSE)
    assert console_says == cli_says == 1
    assert reports.unknown_outcomes_per_campaign(c.engine.store, c.clock()) == {campaign_id: 1}
    assert "1 deliveries were handed to a worker" in status.stdout


def test_unknown_means_sending_for_longer_than_the_stale_threshold(sqlite_console: Console) -> None:
    c = sqlite_console
    _sent_to(c, "ana@example.com", "ben@example.com", "cy@example.com")
    _claimed(c, "ana@example.com", reports.STALE_AFTER + timedelta(seconds=1))
    _claimed(c, "ben@example.com", reports.STALE_AFTER)  # exactly at the threshold: still in flight
    _claimed(c, "cy@example.com", timedelta(0))
    recent, unknown, listed = queries.in_flight(c.engine.store, c.clock())
    assert (recent, unknown, [r.email for r in listed]) == (2, 1, ["ana@example.com"])
    assert sum(reports.unknown_outcomes_per_campaign(c.engine.store, c.clock()).values()) == 1
    # resolving goes by the same rule: a delivery in flight cannot be settled by hand
    ids = {r.email: r.id for r in queries.in_flight(c.engine.store, c.clock() + timedelta(days=1))[2]}

    def resolve(email: str) -> int:
        return queries.resolve_deliveries(c.engine.store, [ids[email]], "sent", c.clock(), by="test")

    assert resolve("ben@example.com") == 0
    assert resolve("ana@example.com") == 1


# -- timing keys -----------------------------------------------------------------------------


def test_the_timing_form_edits_exactly_the_keys_campaign_files_accept(sqlite_console: Console) -> None:
    c = sqlite_console
    page = _text(c.client.get(f"/console/campaigns/{COURSE}/timing"))
    lessons = load_campaign(c.engine.settings.path("campaigns_dir") / COURSE).lessons
    assert set(re.findall(r'name="campaign:(\w+)"', page)) == set(SCHEDULE_KEYS)
    for lesson in lessons:
        assert set(re.findall(rf'name="{re.escape(lesson.key)}:(\w+)"', page)) == set(TIMING_KEYS)


def test_every_timing_key_the_console_writes_is_read_back_by_load_campaign(sqlite_console: Console) -> None:
    c = sqlite_console
    folder = c.engine.settings.path("campaigns_dir") / COURSE
    first = load_campaign(folder).lessons[1]
    values = {"delay": "3", "delay_hours": "2", "window": "18:00-20:00", "weekdays": "mon-fri",
              "timezone": "Europe/Lisbon"}
    assert set(values) == set(SCHEDULE_KEYS)  # a new key needs a value here, and a field on the form
    version = re.search(r'name="version" value="(\w+)"',
                        _text(c.client.get(f"/console/campaigns/{COURSE}/timing"))).group(1)
    form = {"version": version, **{f"campaign:{k}": v for k, v in values.items()},
            **{f"{first.key}:{k}": values[k] for k in TIMING_KEYS}}
    assert c.post(f"/console/campaigns/{COURSE}/timing", form).status_code == 302
    saved = load_campaign(folder)
    assert {k: str(v) for k, v in saved.schedule.items()} == values
    assert {k: str(v) for k, v in saved.lessons[1].timing.items()} == {k: values[k] for k in TIMING_KEYS}


def test_load_campaign_refuses_a_schedule_key_it_does_not_declare(glute_project: Path) -> None:
    folder = glute_project / "campaigns" / COURSE
    with (folder / "campaign.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[schedule]\nwindow = "09:00-11:00"\nwindw = "09:00-11:00"\n')
    with pytest.raises(CampaignError, match=r"unknown \[schedule\] key\(s\): windw"):
        load_campaign(folder)


def test_the_console_has_no_timing_keys_of_its_own() -> None:
    from sender.web import console

    assert console.TIMING_KEYS is campaign_module.TIMING_KEYS
    assert console.SCHEDULE_KEYS is campaign_module.SCHEDULE_KEYS
    assert not {"LESSON_FIELDS", "CAMPAIGN_FIELDS", "INT_FIELDS"} & set(vars(console))


# -- slugify ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("title", "slug"), [
    ("Café Été news", "cafe-ete-news"),
    ("Don't skip leg day!", "dont-skip-leg-day"),
    ("  ", "lesson"),
    ("word " * 20, "-".join(["word"] * 9)),  # whole words only, at most 48 characters
])
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_lesson_files_and_console_newsletters_are_named_by_one_slugify(sqlite_console: Console) -> None:
    from sender.content import lesson_markdown

    assert lesson_markdown.slugify is slugify  # the old import path is the same function
    lesson = Lesson(position=1, total=3, subject="Café Été news", preheader="", teaser="", blocks=[],
                    references=[], words=0)
    assert lesson_filename(lesson) == "01-cafe-ete-news.md"

    c = sqlite_console
    add_subscriber(c.engine.store, "ana@example.com", now=c.clock())  # a newsletter to nobody is refused
    answer = c.post("/console/newsletters", {"subject": "Café Été news", "preheader": "", "body": "Hi",
                                             "at": "2026-04-01T09:00", "timezone": "UTC",
                                             "action": "schedule"})
    assert answer.status_code == 302
    [row] = c.engine.store.newsletters()
    assert Path(row.source).name == f"{c.clock():%Y%m%d}-cafe-ete-news.md"


# -- schedule projection ---------------------------------------------------------------------


def test_the_console_schedule_projects_later_lessons_as_the_engine_plans_them(sqlite_console: Console
                                                                              ) -> None:
    """With no zone of their own, a subscriber's later lessons fall on the days the
    console's schedule projects, whatever the campaign's delays, windows and weekdays."""
    c = sqlite_console
    folder = c.engine.settings.path("campaigns_dir") / COURSE
    toml = folder / "campaign.toml"  # a zone far from UTC and weekdays, so a second rule would drift
    toml.write_text(toml.read_text() + '\n[schedule]\ntimezone = "Pacific/Auckland"\nweekdays = "mon,wed"\n'
                    'window = "07:00-08:00"\n')
    add_subscriber(c.engine.store, "ana@example.com", now=c.clock(), name="Ana")
    c.engine.enrol(COURSE)
    assert c.engine.read(COURSE).schedule["timezone"] == "Pacific/Auckland"
    page = _text(c.client.get("/console/schedule"))
    names = re.findall(r"<th class=\"n\">([^<]+)</th>", page)[1:]
    column = names.index(f"{COURSE}: later lessons (projected)")
    shown = {day for day, values in _schedule_rows(page) if values[column]}
    window_end = (c.clock() + timedelta(days=30)).astimezone(UTC).strftime("%Y-%m-%d")
    planned = {row["utc"].astimezone(UTC).strftime("%Y-%m-%d") for row in c.engine.plan("ana@example.com")
               if row["state"] == "planned" and row["lesson"] != load_campaign(folder).lessons[0].key}
    assert shown and shown == {day for day in planned if day < window_end}


def _schedule_rows(page: str) -> list[tuple[str, list[int]]]:
    return [(day, [int(n.replace(",", "")) for n in re.findall(r'<td class="n">([\d,]+)', cells)])
            for day, cells in re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td>(.*?)</tr>", page, re.S)]
