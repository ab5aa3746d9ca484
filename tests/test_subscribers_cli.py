"""`drip subscribers import`, `invite` and `export` as a user runs them: a real process, its
exit code and its exact output, on a SQLite file and on PostgreSQL; `invite` through the
outbox and through Postmark's batch API served on 127.0.0.1."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender.store import Store
from tests.test_cli import drip

# Settings a real provider accepts (the shipped samples are refused before anything is sent).
READY = ('base_url = "https://learn.bimkinesiology.ca"\n'
         'from_address = "BIM Kinesiology <coach@bimkinesiology.ca>"\n'
         'reply_to = "coach@bimkinesiology.ca"\n'
         'postal_address = "BIM Kinesiology, 2150 Main Street, Vancouver BC V5T 3C8, Canada"\n')


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}
    full.update(COLUMNS="200", **(env or {}))
    return subprocess.run([sys.executable, "-m", "sender.cli", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120)


def emails(url: str) -> list[tuple[str, str, str]]:
    with Store(url) as store:
        return [(s.email, s.name, s.status) for s in store.subscribers()]


def test_import_maps_usual_columns_and_reports_each_kind_of_row(project: Path, db_url: str) -> None:
    assert drip("-s", f"database_url={db_url}", "subscribers", "add", "old@example.com",
                cwd=project).returncode == 0
    (project / "people.csv").write_text("E-mail,Full name,Time zone,Plan\n"
                                        "ana@example.com,Ana Lima,Europe/Lisbon,gold\n"
                                        "old@example.com,Old Timer,,\n"
                                        "not-an-address,X,,\n"
                                        "Ana@example.com,Ana,,\n")
    result = drip("-s", f"database_url={db_url}", "subscribers", "import", "people.csv",
                  "--map", "email=E-mail", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-4:] == [
        "new 1, updated 1, duplicate 1, rejected 1",
        "columns: email = 'E-mail', name = 'Full name', timezone = 'Time zone'",
        "kept as custom fields: Plan",
        "people.csv:5: duplicate of line 2 (ana@example.com)"]
    assert result.stderr == ("people.csv:4: rejected: email 'not-an-address' is not valid: "
                             "An email address must have an @-sign.\n")
    assert emails(db_url) == [("old@example.com", "Old Timer", "active"),
                              ("ana@example.com", "Ana", "active")]


def test_import_of_a_latin1_file_says_how_it_was_read(project: Path) -> None:
    (project / "people.csv").write_bytes("email,name\njose@example.com,José Müller\n".encode("latin-1"))
    result = drip("subscribers", "import", "people.csv", cwd=project)
    assert result.returncode == 0, result.stderr  # was a UnicodeDecodeError traceback
    assert result.stderr == ""
    assert "read as Windows-1252 (the file is not UTF-8), e.g. 'José Müller'" in result.stdout
    assert emails(f"sqlite:///{project / 'dripcourse.db'}") == [("jose@example.com", "José Müller", "active")]


def test_import_of_an_unreadable_encoding_is_one_line_and_encoding_fixes_it(project: Path) -> None:
    (project / "people.csv").write_bytes("email,name\nivan@example.com,Иван Петров\n".encode("cp1251"))
    refused = drip("subscribers", "import", "people.csv", cwd=project)
    assert refused.returncode == 1 and refused.stdout == ""
    assert re.fullmatch(r"error: people.csv:2: this line is not UTF-8, and not Windows-1252 \(Western\) "
                        r"text either; the likeliest encodings are [^:]*Windows-1251[^:]*: name the right "
                        r"one with --encoding, or save the file as UTF-8\n", refused.stderr)
    named = drip("subscribers", "import", "people.csv", "--encoding", "windows-1251", cwd=project)
    assert named.returncode == 0, named.stderr
    assert emails(f"sqlite:///{project / 'dripcourse.db'}") == [("ivan@example.com", "Иван Петров", "active")]


def test_import_stops_at_an_unclosed_quote_and_writes_nothing(project: Path, db_url: str) -> None:
    (project / "people.csv").write_text('email,name\na@example.com,Ann\nb@example.com,"Bob\n'
                                        "c@example.com,Cy\nd@example.com,Di\n")
    result = drip("-s", f"database_url={db_url}", "subscribers", "import", "people.csv", cwd=project)
    assert result.returncode == 1
    assert result.stderr == (
        "error: people.csv:3: unclosed quote: a quoted cell that starts on this line is never closed "
        "(it runs to the end of the file), swallowing the rows in between; nothing was imported. "
        'Close the quote (inside quotes, write a quote as "")\n')
    assert emails(db_url) == []


def test_export_neutralises_formulas_and_imports_back(project: Path, db_url: str) -> None:
    (project / "in.csv").write_text("email,name,score\n-ana@example.com,=1+2,-5\nben@example.com,Ben,7\n")
    db = ("-s", f"database_url={db_url}")
    assert drip(*db, "subscribers", "import", "in.csv", cwd=project).returncode == 0
    exported = drip(*db, "subscribers", "export", "out.csv", cwd=project)
    assert exported.returncode == 0 and exported.stdout == "exported 2 subscriber(s) to out.csv\n"
    rows = list(csv.DictReader((project / "out.csv").open(encoding="utf-8", newline="")))
    assert [(r["email"], r["name"], r["score"]) for r in rows] == [
        ("'-ana@example.com", "'=1+2", "'-5"), ("ben@example.com", "Ben", "7")]
    other = f"sqlite:///{project / 'other.db'}"
    again = drip("-s", f"database_url={other}", "subscribers", "import", "out.csv", cwd=project)
    assert again.returncode == 0 and "new 2, updated 0, duplicate 0, rejected 0" in again.stdout
    with Store(other) as store:
        ana = store.subscriber_by_email("-ana@example.com")
        assert (ana.name, ana.fields) == ("=1+2", {"score": "-5"})


# -- invite ---------------------------------------------------------------------------------


def _pending(project: Path, db: tuple[str, ...] = ()) -> None:
    (project / "people.csv").write_text("email,name,tags\nana@example.com,Ana,vip\nben@example.com,Ben,\n"
                                        "cy@example.com,Cy,vip\n")
    imported = drip(*db, "subscribers", "import", "people.csv", "--pending", cwd=project)
    assert imported.returncode == 0, imported.stderr
    assert ("imported as pending: they get no mail until they confirm; send them the confirmation email "
            "with `drip subscribers invite` (or the console's invite button)") in imported.stdout
    assert drip(*db, "subscribers", "add", "active@example.com", cwd=project).returncode == 0


def test_invite_mails_pending_subscribers_and_the_link_confirms(project: Path, db_url: str) -> None:
    from sender.engine import Engine
    from sender.providers.memory import MemoryProvider
    from sender.schedule import system_clock
    from sender.settings import load_settings
    from sender.web import create_app

    (project / "dripcourse.toml").write_text('provider = "outbox://outbox"\n')
    db = ("-s", f"database_url={db_url}")
    _pending(project, db)
    dry = drip(*db, "subscribers", "invite", "--dry-run", cwd=project)
    assert (dry.returncode, dry.stdout) == (
        0, "would send the confirmation email to 3 pending subscriber(s), to confirm Mini & Course\n")
    assert not (project / "outbox").exists()

    sent = drip(*db, "subscribers", "invite", "--tag", "vip", cwd=project)
    assert (sent.returncode, sent.stderr) == (0, "")
    assert sent.stdout == ("sent 2 confirmation email(s), failed 0 (2 pending subscriber(s) tagged 'vip', "
                           "to confirm Mini & Course, through outbox)\n")
    files = sorted((project / "outbox").glob("*.eml"))
    parsed = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert sorted(str(m["To"]) for m in parsed) == ["ana@example.com", "cy@example.com"]
    assert {str(m["Subject"]) for m in parsed} == {"Confirm your subscription to Mini & Course"}

    # The link in the email is the one the web app confirms.
    ana = next(m for m in parsed if str(m["To"]) == "ana@example.com")
    text = ana.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [link] = re.findall(r"https?://\S+/confirm/[\w.-]+", text)
    settings = load_settings(project, environ={}).replace(database_url=db_url)
    with Store(db_url) as store:
        app = create_app(Engine(settings, store, MemoryProvider("memory://invite"), system_clock))
        assert app.test_client().post("/" + link.split("/", 3)[3]).status_code == 200
        assert store.subscriber_by_email("ana@example.com").status == "active"
        assert store.subscriber_by_email("cy@example.com").status == "pending"


def test_invite_is_refused_with_sample_settings_for_a_real_provider(project: Path) -> None:
    _pending(project)
    refused = drip("-s", "provider=postmark://", "subscribers", "invite", cwd=project)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("error: not sending through postmark: fix these settings first:\n"
                                     "  - base_url 'http://127.0.0.1:8000' is plain http")
    assert not (project / "outbox").exists()


def test_invite_needs_a_course_when_there_are_several(project: Path) -> None:
    import shutil

    shutil.copytree(project / "campaigns" / "mini", project / "campaigns" / "other")
    _pending(project)
    refused = drip("subscribers", "invite", cwd=project)
    assert (refused.returncode, refused.stderr) == (
        1, "error: say which course the confirmation enrols in: --campaign mini or other\n")
    assert drip("subscribers", "invite", "--campaign", "other", cwd=project).returncode == 0
    assert len(list((project / "outbox").glob("*_other_confirm.eml"))) == 3


def test_invite_through_postmark_and_a_refused_address_exits_1(project: Path, httpserver: HTTPServer) -> None:
    batches: list[list[dict[str, object]]] = []

    def postmark(req: Request) -> Response:
        assert req.headers["X-Postmark-Server-Token"] == "pm-token"
        batch = req.get_json()
        batches.append(batch)
        # Postmark answers 200 for the batch and an ErrorCode per message (406: inactive recipient).
        return Response(json.dumps([
            {"ErrorCode": 406, "To": m["To"],
             "Message": "You tried to send to recipient(s) that have been marked as inactive."}
            if "ben@" in str(m["To"]) else
            {"ErrorCode": 0, "Message": "OK", "MessageID": f"pm-{i}", "To": m["To"]}
            for i, m in enumerate(batch)]), 200, content_type="application/json")

    httpserver.expect_request("/email/batch", method="POST").respond_with_handler(postmark)
    (project / "dripcourse.toml").write_text(
        READY + f'provider = "postmark://?rate=0&attempts=1&endpoint={httpserver.url_for("/").rstrip("/")}"\n')
    _pending(project)
    result = run("subscribers", "invite", cwd=project, env={"POSTMARK_SERVER_TOKEN": "pm-token"})
    assert result.returncode == 1
    assert result.stdout.startswith("sent 2 confirmation email(s), failed 1 (3 pending subscriber(s)")
    assert result.stderr.startswith("failed: ben@example.com: ")
    [batch] = batches
    assert sorted(str(m["To"]) for m in batch) == ["ana@example.com", "ben@example.com", "cy@example.com"]
    assert all("https://learn.bimkinesiology.ca/confirm/" in str(m["TextBody"]) for m in batch)
    assert {str(m["From"]) for m in batch} == {"BIM Kinesiology <coach@bimkinesiology.ca>"}
