"""The console's subscriber CSV pages against a real store: the invite button (two POSTs,
the first saying how many it will mail), the import report and its refusals, and the
export's formula guard."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path
from typing import Any

from sender.subscribers import add_subscriber
from tests.console.conftest import Console, log_in, make_console


def _said(answer: Any) -> str:
    return html.unescape(str(answer.get_data(as_text=True)))


def _pending(c: Console, *emails: str, tags: tuple[str, ...] = ()) -> None:
    for email in emails:
        add_subscriber(c.engine.store, email, now=c.clock(), status="pending", tags=tags)


def _confirmations(c: Console) -> list[str]:
    return sorted(m.to for m in c.engine.provider.outbox if m.metadata.get("kind") == "confirm")


def test_the_invite_button_says_how_many_then_sends(console: Console) -> None:
    c = console
    _pending(c, "ana@example.com", "ben@example.com", tags=("vip",))
    _pending(c, "cy@example.com")
    add_subscriber(c.engine.store, "active@example.com", now=c.clock())
    page = _said(c.client.get("/console/subscribers"))
    assert "Invite pending subscribers" in page and "Send the confirmation email…" in page

    review = c.post("/console/subscribers/invite", {"campaign": "glute-activation", "tag": "vip"})
    shown = _said(review)
    assert review.status_code == 200 and "2 pending subscriber(s) tagged 'vip'" in shown
    assert 'name="expected" value="2"' in shown and "Send 2 confirmation emails" in shown
    assert _confirmations(c) == []  # the first POST only counts

    _pending(c, "dee@example.com", tags=("vip",))  # someone arrives between the two pages
    stale = c.post("/console/subscribers/invite", {"campaign": "glute-activation", "tag": "vip",
                                                   "expected": "2"})
    assert "The number of pending subscribers changed" in _said(stale)
    assert "Send 3 confirmation emails" in _said(stale)
    assert _confirmations(c) == []

    sent = c.post("/console/subscribers/invite", {"campaign": "glute-activation", "tag": "vip",
                                                  "expected": "3"}, follow_redirects=True)
    assert "sent 3 confirmation email(s), failed 0" in _said(sent)
    assert _confirmations(c) == ["ana@example.com", "ben@example.com", "dee@example.com"]
    [message] = [m for m in c.engine.provider.outbox if m.to == "ana@example.com"]
    assert re.search(r"/confirm/[\w.-]+", message.text)


def test_the_invite_needs_the_forms_token(console: Console) -> None:
    c = console
    _pending(c, "ana@example.com")
    forged = c.client.post("/console/subscribers/invite", data={"expected": "1"})
    assert forged.status_code == 400 and "This form has expired" in _said(forged)
    assert _confirmations(c) == []


def test_the_invite_is_refused_with_sample_settings_for_a_real_provider(glute_project: Path,
                                                                      sqlite_url: str) -> None:
    c = make_console(glute_project, sqlite_url, provider="postmark://")
    assert log_in(c.client).status_code == 302
    _pending(c, "ana@example.com")
    refused = c.post("/console/subscribers/invite", {"expected": "1"})
    assert refused.status_code == 400
    assert "not sending through postmark: fix these settings first:" in _said(refused)
    assert _confirmations(c) == []


def test_import_report_shows_columns_duplicates_and_custom_fields(console: Console) -> None:
    c = console
    add_subscriber(c.engine.store, "old@example.com", now=c.clock())
    data = (b"E-mail,Full name,Time zone,City\nana@example.com,Ana Lima,Europe/Lisbon,Porto\n"
            b"old@example.com,Old,,\nANA@example.com,,,\n")
    report = c.post("/console/subscribers/import", {"file": (io.BytesIO(data), "people.csv"),
                                                    "map_email": "E-mail"},
                    content_type="multipart/form-data")
    shown = _said(report)
    assert "new 1, updated 1, duplicate 1, rejected 0" in shown
    assert "kept as custom fields: City" in shown
    assert "people.csv:4: duplicate of line 2 (ana@example.com)" in shown
    ana = c.engine.store.subscriber_by_email("ana@example.com")
    assert (ana.name, ana.timezone) == ("Ana Lima", "Europe/Lisbon")


def test_import_refusals_name_the_uploaded_file_and_the_encoding_field_works(console: Console) -> None:
    c = console
    bad = b'email,name\na@example.com,"Ann\nb@example.com,Bob\n'
    refused = c.post("/console/subscribers/import", {"file": (io.BytesIO(bad), "people.csv")},
                     content_type="multipart/form-data")
    assert refused.status_code == 400
    assert "people.csv:2: unclosed quote" in _said(refused) and "import.csv" not in _said(refused)
    assert c.engine.store.subscribers() == []

    cyrillic = "email,name\nivan@example.com,Иван Петров\n".encode("cp1251")
    refused = c.post("/console/subscribers/import", {"file": (io.BytesIO(cyrillic), "people.csv")},
                     content_type="multipart/form-data")
    assert refused.status_code == 400 and "Windows-1251" in _said(refused)
    done = c.post("/console/subscribers/import", {"file": (io.BytesIO(cyrillic), "people.csv"),
                                                  "encoding": "windows-1251"},
                  content_type="multipart/form-data")
    assert "new 1, updated 0, duplicate 0, rejected 0" in _said(done)
    assert c.engine.store.subscriber_by_email("ivan@example.com").name == "Иван Петров"


def test_export_neutralises_formulas(console: Console) -> None:
    c = console
    c.engine.store.upsert_subscriber("ana@example.com", now=c.clock(), name="=HYPERLINK(\"http://x\")",
                                     fields={"score": "-5", "note": "@SUM(A1)", "ok": "fine"})
    export = c.client.get("/console/subscribers/export.csv")
    [header, row] = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    cells = dict(zip(header, row, strict=True))
    assert (cells["name"], cells["score"], cells["note"], cells["ok"]) == (
        "'=HYPERLINK(\"http://x\")", "'-5", "'@SUM(A1)", "fine")
