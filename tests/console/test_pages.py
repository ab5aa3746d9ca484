"""Console pages against a real store (SQLite and PostgreSQL): start/pause/resume,
the per-lesson funnel, the schedule, send-time rules written back to the files,
newsletters, subscribers (search, add, import, export, unsubscribe, delete) and
deliverability (rates, unknown outcomes resolved)."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sender.campaign import CampaignError, load_campaign
from sender.store import console as queries
from sender.store.schema import deliveries, enrolments, events, suppressions
from sender.subscribers import EXPORT_COLUMNS, add_subscriber
from tests.console.conftest import COURSE, Console

LESSON1 = "01-4-reasons-why-you-cant-activate-your-glutes"


def _text(answer: Any) -> str:
    return str(answer.get_data(as_text=True))


def _said(answer: Any) -> str:
    """The page as a reader sees it (entities decoded)."""
    return html.unescape(_text(answer))


def _row(html: str, label: str) -> list[int]:
    """The figures of the table row whose first cell starts with `label`."""
    match = re.search(rf"<tr><td>{re.escape(label)}.*?</tr>", html, re.S)
    assert match, f"no row {label!r}"
    return [int(n.replace(",", "")) for n in re.findall(r'<td class="n">([\d,]+)', match.group(0))]


def _people(c: Console, *emails: str, tags: tuple[str, ...] = ()) -> None:
    for email in emails:
        add_subscriber(c.engine.store, email, now=c.clock(), name=email[:3].title(), timezone="UTC",
                       tags=tags)


def _send_next(c: Console) -> None:
    c.clock.advance_to(c.engine.store.next_due_at())
    c.engine.tick()


def _event(c: Console, kind: str, email: str, delivery_id: int, n: int, permanent: bool = False) -> None:
    c.engine.store.record_webhook_events([{
        "provider": "postmark", "type": kind, "email": email, "at": c.clock(), "external_id": f"e{n}",
        "provider_message_id": None, "delivery_id": delivery_id, "permanent": permanent, "data": {}}],
        c.clock())


def _delivery_ids(c: Console) -> dict[str, int]:
    with c.engine.store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT s.email, d.id FROM deliveries d JOIN subscribers s "
                                    "ON s.id = d.subscriber_id WHERE d.lesson_key = :k"),
                            {"k": LESSON1}).all()
    return dict(rows)


def test_start_for_everyone_or_a_tag_then_pause_and_resume(console: Console) -> None:
    c = console
    _people(c, "ana@example.com", "ben@example.com", tags=("vip",))
    _people(c, "cy@example.com", "di@example.com")
    listing = _text(c.client.get("/console/"))
    assert "not started" in listing
    answer = c.post(f"/console/campaigns/{COURSE}/start", {"audience": "tag", "tag": "vip", "expected": "2"})
    assert answer.status_code == 302
    page = _text(c.client.get(answer.headers["Location"]))
    assert "Enrolled 2 new subscriber(s) tagged vip in glute-activation." in page
    assert c.post(f"/console/campaigns/{COURSE}/start", {"audience": "tag", "tag": ""}).status_code == 400
    c.post(f"/console/campaigns/{COURSE}/start", {"audience": "all", "expected": "2"})
    counts = queries.enrolment_counts(c.engine.store)
    assert sum(counts[c.engine.store.campaign_by_slug(COURSE).id].values()) == 4

    c.post(f"/console/campaigns/{COURSE}/pause")
    row = c.engine.store.campaign_by_slug(COURSE)
    assert row.status == "paused" and row.paused_reason == "paused by admin in the console"
    assert "paused by admin in the console" in _text(c.client.get("/console/"))
    assert c.engine.store.next_due_at() is None  # paused: nothing is due
    c.clock.advance_to(c.clock() + timedelta(hours=21, minutes=30))  # tomorrow, 09:30 UTC
    c.engine.tick()
    assert not c.engine.provider.outbox
    c.post(f"/console/campaigns/{COURSE}/resume")
    assert c.engine.store.campaign_by_slug(COURSE).status == "active"
    c.engine.tick()
    assert len(c.engine.provider.outbox) == 4


def test_funnel_counts_each_lesson_from_deliveries_and_events(console: Console) -> None:
    c = console
    _people(c, "ana@example.com", "ben@example.com", "cy@example.com", "di@example.com")
    c.engine.enrol(COURSE)
    _send_next(c)
    ids = _delivery_ids(c)
    _event(c, "delivered", "ana@example.com", ids["ana@example.com"], 1)
    _event(c, "delivered", "ben@example.com", ids["ben@example.com"], 2)
    _event(c, "delivered", "cy@example.com", ids["cy@example.com"], 3)
    _event(c, "opened", "ana@example.com", ids["ana@example.com"], 4)
    _event(c, "opened", "ana@example.com", ids["ana@example.com"], 5)  # a second open counts once
    _event(c, "opened", "ben@example.com", ids["ben@example.com"], 6)
    _event(c, "clicked", "ana@example.com", ids["ana@example.com"], 7)
    _event(c, "bounced", "di@example.com", ids["di@example.com"], 8, permanent=True)
    _event(c, "complained", "cy@example.com", ids["cy@example.com"], 9)
    campaign_id = c.engine.store.campaign_by_slug(COURSE).id
    ben = c.engine.store.subscriber_by_email("ben@example.com")
    c.clock.advance_to(c.clock() + timedelta(hours=3))
    c.engine.store.unsubscribe(ben.id, campaign_id, c.clock(), source="page")  # on our page: no delivery
    _send_next(c)  # lesson 2: only ana is left

    happened = queries.event_counts(c.engine.store)[(campaign_id, LESSON1)]
    assert happened == {"delivered": 3, "opened": 2, "clicked": 1, "unsubscribed": 1, "bounced": 1,
                        "complained": 1}
    page = _text(c.client.get(f"/console/campaigns/{COURSE}"))
    # sent, delivered, opened, clicked, unsubscribed, bounced, complained, failed
    assert _row(page, "1. 4 Reasons Why") == [4, 3, 2, 1, 1, 1, 1, 0, 0]  # ..., failed, held
    assert _row(page, "2. Dominant Hamstrings") == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert page.count('<svg class="chart chart-wide"') == 2 and page.count("chart-narrow") >= 2
    assert "<title>1. 4 Reasons Why You Can’t Activate Your Glutes: opened 2</title>" in page  # whole
    assert "Completion rate <b>0.0%</b>" in page
    assert "75.0%" in page  # delivered / sent of lesson 1

    deliverability = _text(c.client.get("/console/deliverability"))
    assert re.search(r'<span class="pill bad">20\.00%</span>', deliverability)  # 1 bounce of 5 sent
    assert "bounced 1" in deliverability and "complained 1" in deliverability


def test_schedule_shows_next_lessons_later_lessons_and_newsletters(sqlite_console: Console, tmp_path: Path
                                                                    ) -> None:
    c = sqlite_console
    _people(c, "ana@example.com", "ben@example.com", "cy@example.com", tags=("vip",))
    c.engine.enrol(COURSE)  # at 12:00 UTC: lesson 1 tomorrow at 09:00
    letter = tmp_path / "news.md"
    letter.write_text("---\nsubject: Big <news>\n---\nHello.\n")
    from sender.newsletters import schedule_newsletter

    schedule_newsletter(c.engine.store, letter, at="2026-03-30 09:00", cron=None, local=False, segment="vip",
                        timezone="UTC", now=c.clock())
    page = _text(c.client.get("/console/schedule"))
    assert '<svg class="chart chart-wide"' in page
    names = re.findall(r"<th class=\"n\">([^<]+)</th>", page)[1:]  # after the newsletters table
    assert names == ["glute-activation: later lessons (projected)", "glute-activation: next lesson",
                     "newsletter 1: Big &lt;news&gt;", "Total"]
    assert _row(page, "2026-03-26") == [0, 3, 0, 3]
    assert _row(page, "2026-03-28") == [3, 0, 0, 3]  # lesson 2, two days on
    assert _row(page, "2026-03-30") == [3, 0, 3, 6]
    total = sum(sum(_row(page, f"2026-{d}")[:1]) for d in re.findall(r"<tr><td>2026-(\d\d-\d\d)</td>", page))
    assert total == 3 * 4  # lessons 2 to 5 of all three fall in the next 30 days


def test_send_time_rules_are_validated_like_the_cli_and_written_back_in_place(sqlite_console: Console
                                                                              ) -> None:
    c = sqlite_console
    folder = c.engine.settings.path("campaigns_dir") / COURSE
    lesson2 = folder / "02-dominant-hamstrings.md"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    form = _text(c.client.get(f"/console/campaigns/{COURSE}/timing"))
    version = re.search(r'name="version" value="([0-9a-f]+)"', form).group(1)
    assert 'name="02-dominant-hamstrings:delay" value="2"' in form

    def save(**fields: str) -> Any:
        return c.post(f"/console/campaigns/{COURSE}/timing", {"version": version, **fields})

    bad = save(**{"02-dominant-hamstrings:window": "9-11"})
    assert bad.status_code == 400
    assert f"{lesson2}: timing: send window '9-11' must look like 09:00-11:00" in _said(bad)
    assert 'value="9-11"' in _text(bad)  # what was typed stays, to correct
    assert "must be a whole number of days" in _said(save(**{"02-dominant-hamstrings:delay": "-1"}))
    assert "unknown time zone 'Mars/Base'" in _said(save(**{"campaign:timezone": "Mars/Base"}))
    assert "unknown weekday 'funday'" in _said(save(**{"03-tight-hip-flexors:weekdays": "funday"}))
    empty = save(**{"campaign:window": "11:00-09:00"})
    assert "send window 11:00-09:00 is empty" in _said(empty)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing written

    fields = {f"{key}:delay": "2" for key in [p.stem for p in sorted(folder.glob("0[2-5]*.md"))]}
    fields[f"{LESSON1}:delay"] = "0"
    good = save(**fields, **{"02-dominant-hamstrings:window": "18:00-20:00",
                             "02-dominant-hamstrings:weekdays": "mon-fri",
                             "campaign:delay": "3", "campaign:timezone": "Europe/Lisbon"})
    assert good.status_code == 302, _text(good)
    text = lesson2.read_text()
    old = before["02-dominant-hamstrings.md"].decode()
    assert text.split("\n---\n", 1)[1] == old.split("\n---\n", 1)[1]  # the body, byte for byte
    assert text.startswith(old.split("\n---\n", 1)[0])  # every old front matter line, in order
    assert text.split("\n---\n", 1)[0].endswith('delay: 2\nteaser: ' + old.split("teaser: ", 1)[1].split(
        "\n")[0] + '\nreferences: []\nwindow: "18:00-20:00"\nweekdays: "mon-fri"')
    toml = (folder / "campaign.toml").read_text()
    assert toml.startswith(before["campaign.toml"].decode())
    assert toml.endswith('\n[schedule]\ndelay = 3\ntimezone = "Europe/Lisbon"\n')
    campaign = load_campaign(folder)
    timing = c.engine.timing(campaign, campaign.lessons[1])
    assert (timing.window_start.hour, timing.window_end.hour) == (18, 20)
    assert sorted(timing.weekdays) == [0, 1, 2, 3, 4]
    assert "18:00–20:00, Mon–Fri" in _text(c.client.get(good.headers["Location"]))

    stale = save(**{"campaign:delay": "4"})  # the form of before the save
    assert stale.status_code == 400 and "changed since this form was opened" in _text(stale)
    form = _text(c.client.get(f"/console/campaigns/{COURSE}/timing"))
    version = re.search(r'name="version" value="([0-9a-f]+)"', form).group(1)
    cleared = save(**{f"{LESSON1}:delay": "0"})  # every other field blank: inherit
    assert cleared.status_code == 302
    assert "[schedule]\n" in (folder / "campaign.toml").read_text()
    assert "delay" not in load_campaign(folder).schedule and "window:" not in lesson2.read_text()
    assert "delay: 2" not in lesson2.read_text() and lesson2.read_text().endswith(old.split("\n---\n", 1)[1])


def test_front_matter_and_toml_edits_touch_only_their_lines() -> None:
    from sender.campaign import TIMING_KEYS
    from sender.web.console import set_front_matter, set_toml_schedule

    text = ("---\r\nsubject: Hi # keep\r\nweekdays:\r\n  - sat\r\n  - sun\r\nteaser: x\r\n---\r\n"
            "Body\r\n---\r\nmore\r\n")
    out = set_front_matter(text, {"window": "18:00-20:00", "weekdays": "mon"}, TIMING_KEYS)
    assert out == ("---\r\nsubject: Hi # keep\r\nweekdays: \"mon\"\r\nteaser: x\r\n"
                   "window: \"18:00-20:00\"\r\n"
                   "---\r\nBody\r\n---\r\nmore\r\n")
    assert set_front_matter("Body only\n", {"delay": 1}, TIMING_KEYS) == "---\ndelay: 1\n---\nBody only\n"
    toml = 'title = "T"\n\n[schedule]  # ours\nwindow = "09:00-11:00" # morning\n\n# later\n[other]\nx = 1\n'
    assert set_toml_schedule(toml, {"delay": 3}) == (
        'title = "T"\n\n[schedule]  # ours\ndelay = 3\n\n# later\n[other]\nx = 1\n')
    with pytest.raises(CampaignError, match="inline table or dotted keys"):
        set_toml_schedule('schedule = { delay = 2 }\n', {"delay": 3})


def test_newsletter_preview_schedule_and_cancel(console: Console) -> None:
    c = console
    _people(c, "ana@example.com", tags=("vip",))
    form = {"subject": "Spring <sale>", "preheader": "Ends soon",
            "body": "Hi {{ subscriber.first_name }}!\n\n**Bold** news.", "at": "2026-04-01T09:00",
            "local": "1", "segment": "vip", "timezone": "UTC"}
    preview = c.post("/console/newsletters", {**form, "action": "preview"})
    shown = _text(preview)
    assert preview.status_code == 200 and "Preview: Spring &lt;sale&gt;" in shown
    assert 'sandbox="" srcdoc="' in shown and "&lt;strong&gt;Bold&lt;/strong&gt;" in shown
    assert "img-src * data:" in preview.headers["Content-Security-Policy"]
    assert not c.engine.store.newsletters()  # a preview schedules nothing

    bad = c.post("/console/newsletters", {**form, "cron": "every monday", "action": "schedule"})
    assert bad.status_code == 400 and "--cron 'every monday'" in _said(bad)
    folder = c.engine.settings.path("newsletters_dir")
    assert not list(folder.glob("*.md"))  # the refused newsletter's file is not left behind

    done = c.post("/console/newsletters", {**form, "action": "schedule"})
    assert done.status_code == 302
    [row] = c.engine.store.newsletters()
    assert (row.wall_time, row.local, row.segment) == ("2026-04-01T09:00", True, "vip")
    assert row.status == "scheduled"
    assert Path(row.source).parent == folder and "Spring <sale>" in Path(row.source).read_text()
    page = _text(c.client.get("/console/newsletters"))
    assert "Scheduled newsletter 1 (&#39;Spring &lt;sale&gt;&#39;) for 2026-04-01T09:00 each" in page
    assert c.post(f"/console/newsletters/{row.id}/cancel").status_code == 302
    assert c.engine.store.newsletters()[0].status == "cancelled"
    again = c.post(f"/console/newsletters/{row.id}/cancel")
    assert again.status_code == 400 and "not scheduled" in _text(again)

    upload = c.post("/console/newsletters", {"action": "schedule", "at": "2026-04-02 10:00",
                                            "timezone": "UTC",
                                            "file": (io.BytesIO(b"---\nsubject: From a file\n---\nBody\n"),
                                                     "letter.md")}, content_type="multipart/form-data")
    assert upload.status_code == 302
    assert c.engine.store.newsletters()[0].title == "From a file"


def test_subscribers_search_add_import_export(sqlite_console: Console) -> None:
    c = sqlite_console
    for i in range(55):
        add_subscriber(c.engine.store, f"p{i:02d}@example.com", now=c.clock(),
                       tags=["vip"] if i % 5 == 0 else [])
    page = _text(c.client.get("/console/subscribers"))
    assert page.count('class="email"><a') == 50 and "next page" in page
    last = _text(c.client.get(re.search(r'href="([^"]+)">next page', page).group(1).replace("&amp;", "&")))
    assert last.count('class="email"><a') == 5
    assert _text(c.client.get("/console/subscribers?q=P07")).count('class="email"><a') == 1
    assert _text(c.client.get("/console/subscribers?tag=vip")).count('class="email"><a') == 11
    assert _text(c.client.get("/console/subscribers?q=%25")).count('class="email"><a') == 0  # % is literal

    added = c.post("/console/subscribers", {"email": "New@Example.com", "name": "New",
                                            "timezone": "Asia/Tokyo", "tags": "a; b"})
    assert added.status_code == 302
    new = c.engine.store.subscriber_by_email("new@example.com")
    assert (new.timezone, new.tags, new.consent_source) == ("Asia/Tokyo", ["a", "b"], "console")
    refused = c.post("/console/subscribers", {"email": "nope"}, follow_redirects=True)
    assert "Not added: email &#39;nope&#39; is not valid" in _text(refused)

    data = b"E-mail,name,city\nana@example.com,Ana,Porto\nnope,X,Y\np01@example.com,Pat,Lyon\n"
    report = c.post("/console/subscribers/import", {"file": (io.BytesIO(data), "people.csv"),
                                                    "map_email": "E-mail", "tag": "webinar"},
                    content_type="multipart/form-data")
    shown = _text(report)
    assert "new 1, updated 1, duplicate 0, rejected 1" in shown
    assert "people.csv:3: rejected: email &#39;nope&#39; is not valid" in shown
    ana = c.engine.store.subscriber_by_email("ana@example.com")
    assert ana.fields == {"city": "Porto"} and ana.tags == ["webinar"] and ana.consent_source == "import"

    export = c.client.get("/console/subscribers/export.csv")
    assert export.headers["Content-Disposition"].startswith("attachment; filename=subscribers-")
    rows = list(csv.reader(io.StringIO(_text(export))))
    assert rows[0] == [*EXPORT_COLUMNS, "city"] and len(rows) == 1 + 55 + 2


def test_timeline_unsubscribe_and_delete_keep_only_a_hash(console: Console) -> None:
    c = console
    _people(c, "ana@example.com", "ben@example.com")
    c.engine.enrol(COURSE)
    _send_next(c)
    ana = c.engine.store.subscriber_by_email("ana@example.com")
    ids = _delivery_ids(c)
    _event(c, "opened", "ana@example.com", ids["ana@example.com"], 1)
    _event(c, "clicked", "ana@example.com", ids["ana@example.com"], 2)
    with c.engine.store.begin() as conn:  # a webhook that came before she was known
        conn.execute(events.insert().values(subscriber_id=None, delivery_id=None, type="bounced",
                                            at=c.clock(), provider="postmark",
                                            data={"email": "ana@example.com"}))
    page = _text(c.client.get(f"/console/subscribers/{ana.id}"))
    story = re.findall(r"<strong>([a-z]+)</strong>", page)
    assert story == ["added", "enrolled", "sent", "opened", "clicked"]
    assert "planned" in page and "glute-activation" in page

    c.post(f"/console/subscribers/{ana.id}/unsubscribe")
    assert c.engine.store.subscriber(ana.id).status == "unsubscribed"
    assert re.findall(r"<strong>([a-z]+)</strong>", _text(c.client.get(f"/console/subscribers/{ana.id}"))
                      )[-1] == "unsubscribed"

    assert c.post(f"/console/subscribers/{ana.id}/delete").status_code == 400  # the box is not ticked
    gone = c.post(f"/console/subscribers/{ana.id}/delete", {"confirm": "yes"})
    assert gone.status_code == 302
    store = c.engine.store
    assert store.subscriber(ana.id) is None and store.is_suppressed("ana@example.com")
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(suppressions.c.reason, suppressions.c.email_hash)).all() == [
            ("deleted", store.email_hash("ana@example.com"))]
        left = conn.execute(sa.select(events.c.data)).scalars().all()
        assert not any("ana@example.com" in str(d) for d in left)
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)
                            .where(deliveries.c.subscriber_id == ana.id)).scalar() == 0
    assert c.client.get(f"/console/subscribers/{ana.id}").status_code == 404
    assert store.subscriber_by_email("ben@example.com").status == "active"


def _stale_delivery(c: Console, email: str) -> int:
    """A delivery handed to a worker an hour ago that never said how it went."""
    with c.engine.store.begin() as conn:
        sid = conn.execute(sa.text("SELECT id FROM subscribers WHERE email = :e"), {"e": email}).scalar()
        conn.execute(deliveries.update().where(deliveries.c.subscriber_id == sid)
                     .values(status="sending", claimed_at=c.clock() - timedelta(hours=1), sent_at=None))
        return int(conn.execute(sa.select(deliveries.c.id).where(deliveries.c.subscriber_id == sid)).scalar())


def test_unknown_outcomes_are_listed_and_resolved(console: Console) -> None:
    c = console
    _people(c, "ana@example.com", "ben@example.com", "cy@example.com")
    c.engine.enrol(COURSE)
    _send_next(c)
    ana, ben, cy = (_stale_delivery(c, e) for e in ("ana@example.com", "ben@example.com", "cy@example.com"))
    page = _text(c.client.get("/console/deliverability"))
    assert "<p>3 deliveries were handed to a worker" in page and page.count('name="id" value=') == 3
    assert c.post("/console/deliverability/resolve", {"id": [str(ana)], "outcome": "sent"}).status_code == 302
    c.post("/console/deliverability/resolve", {"id": [str(ben)], "outcome": "failed"})
    c.post("/console/deliverability/resolve", {"id": [str(cy)], "outcome": "retry"})
    with c.engine.store.engine.connect() as conn:
        status = dict(conn.execute(sa.select(deliveries.c.id, deliveries.c.status)).all())
        assert status == {ana: "sent", ben: "failed", cy: "queued"}
        cy_sub = conn.execute(sa.select(deliveries.c.subscriber_id).where(deliveries.c.id == cy)).scalar()
        enrolment = conn.execute(sa.select(enrolments).where(enrolments.c.subscriber_id == cy_sub)).one()
        assert (enrolment.next_position, enrolment.status) == (1, "active")
        assert conn.execute(sa.select(sa.func.count()).select_from(events)
                            .where(events.c.type == "resolved")).scalar() == 3
    before = len(c.engine.provider.outbox)
    c.engine.tick()  # lesson 1 goes again to cy, now, in the window
    sent = c.engine.provider.outbox[before:]
    assert [m.to.split("<")[-1] for m in sent] == ["cy@example.com>"]
    assert sent[0].metadata["lesson"] == LESSON1
    assert "<p>0 deliveries were handed" in _text(c.client.get("/console/deliverability"))
    nothing = c.post("/console/deliverability/resolve", {"outcome": "sent"})
    assert nothing.status_code == 400


def test_pages_escape_what_subscribers_typed(sqlite_console: Console) -> None:
    c = sqlite_console
    evil = "<img src=x onerror=alert(1)>"
    add_subscriber(c.engine.store, "evil@example.com", now=c.clock(), name=evil, tags=[evil])
    sub = c.engine.store.subscriber_by_email("evil@example.com")
    for path in ("/console/subscribers", f"/console/subscribers/{sub.id}", f"/console/subscribers?q={evil}"):
        shown = _text(c.client.get(path))
        assert evil not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown


def test_send_again_queues_a_lessons_failed_deliveries_but_not_for_suppressed_addresses(
        console: Console) -> None:
    c = console
    _people(c, "ana@example.com", "ben@example.com", "cy@example.com")
    c.post(f"/console/campaigns/{COURSE}/start", {"audience": "all", "expected": "3"})
    _send_next(c)
    assert len(c.engine.provider.outbox) == 3
    ids = _delivery_ids(c)
    with c.engine.store.begin() as conn:  # as a provider refusing two messages would leave them
        conn.execute(deliveries.update().where(deliveries.c.id.in_([ids["ana@example.com"],
                                                                     ids["ben@example.com"]]))
                     .values(status="failed", error="refused"))
    c.engine.store.suppress([c.engine.store.subscriber_by_email("ben@example.com").id], "complained",
                            c.clock())
    page = _said(c.client.get(f"/console/campaigns/{COURSE}"))
    assert "Send again" in page
    answer = c.post(f"/console/campaigns/{COURSE}/retry", {"lesson": LESSON1})
    assert answer.status_code == 302
    assert (f"Queued 1 failed delivery of {COURSE}/{LESSON1} again"
            in _said(c.client.get(answer.headers["Location"])))
    c.engine.provider.outbox.clear()
    c.engine.tick()
    assert [m.to for m in c.engine.provider.outbox] == ["Ana <ana@example.com>"]


def test_start_says_who_lacks_a_field_a_lesson_uses(console: Console) -> None:
    c = console
    lesson = next(iter(load_campaign(c.engine.settings.path("campaigns_dir") / COURSE).lessons)).path
    lesson.write_text(lesson.read_text().replace("\n\n", "\n\nSee you in {{ subscriber.city }}.\n\n", 1))
    _people(c, "ana@example.com", "ben@example.com")
    add_subscriber(c.engine.store, "cy@example.com", now=c.clock(), timezone="UTC", fields={"city": "Porto"})
    answer = c.post(f"/console/campaigns/{COURSE}/start", {"audience": "all", "expected": "3"})
    page = _said(c.client.get(answer.headers["Location"]))
    assert "2 active subscriber(s) have no 'city'" in page and lesson.name in page
    _send_next(c)
    assert [m.to for m in c.engine.provider.outbox] == ["cy@example.com"]
    ana = c.engine.store.subscriber_by_email("ana@example.com")
    timeline = _said(c.client.get(f"/console/subscribers/{ana.id}"))
    assert "held" in timeline and "this subscriber has no field 'city'" in timeline
