"""The console's CSV import in the background, through Flask's test client on a real store:
the upload answers at once with a progress page, the job reaches done with the counts and
the rejected rows by line that `drip subscribers import` gives, two imports at once add
everyone once (two console uploads, or two writers of the same addresses at the same time),
an import whose process is killed mid-way finishes after a restart without losing or
doubling anyone, and finished imports' reports go after a week."""

from __future__ import annotations

import html
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sender.store.schema import subscribers
from sender.subscribers import ImportReport, import_csv
from tests.conftest import REPO
from tests.console.conftest import Console, log_in, make_console

DEADLINE = 120.0  # seconds; generous for a loaded machine, never a measure of speed


def _upload(c: Console, data: bytes, name: str = "people.csv", **form: str) -> Any:
    return c.post("/console/subscribers/import", {"file": (io.BytesIO(data), name), **form},
                  content_type="multipart/form-data")


def _job_url(answer: Any) -> str:
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    return str(answer.headers["Location"])


def _until_finished(c: Console, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while True:
        status = c.client.get(url + "/status")
        assert status.status_code == 200
        found: dict[str, Any] = status.get_json()
        if found["finished"] or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _emails(c: Console) -> list[str]:
    with c.engine.store.engine.connect() as conn:
        return list(conn.execute(sa.select(subscribers.c.email)).scalars())


def _people(first: int, last: int) -> str:
    return "".join(f"p{i:05d}@example.com,Person {i}\n" for i in range(first, last))


def test_a_background_import_reaches_done_with_counts_and_rejected_lines(console: Console) -> None:
    c = console
    c.app.config["CONSOLE_IMPORT_WAIT"] = 0  # answer with the progress page, however small the file
    c.engine.store.upsert_subscriber("p00001@example.com", now=c.clock())
    data = ("email,name,tags\n" + _people(0, 300)
            + "nope,Not An Address,\n"  # line 302
            + ',"half "quoted" cell",\n'  # line 303: malformed, and does not stop the rest
            + "p00010@example.com,Again,vip\n"  # line 304: a duplicate of line 12
            + "last@example.com,Last One,vip\n").encode()
    url = _job_url(_upload(c, data, tag="webinar"))

    shown = html.unescape(c.client.get(url).get_data(as_text=True))
    assert re.search(r'<progress id="import-bar" max="304"', shown)  # the total is known from the start
    script = re.search(r'<script src="(/console/static/console-import\.js)" nonce="([^"]+)"></script>', shown)
    assert script, "the progress page loads its script file by the CSP nonce"
    page = c.client.get(url)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'nonce-" in policy and "unsafe-inline" not in policy.split("script-src")[1]
    assert "<script>" not in page.get_data(as_text=True)  # no inline script
    js = c.client.get(script.group(1))
    assert js.status_code == 200 and "javascript" in js.mimetype

    found = _until_finished(c, url)
    assert found["status"] == "done" and found["done"] == found["total"] == 304
    assert found["text"] == "new 300, updated 1, duplicate 1, rejected 2"
    assert found["heading"] == "Imported people.csv"
    assert found["lines"][0].startswith("people.csv:302: rejected: email 'nope' is not valid")
    assert found["lines"][1].startswith("people.csv:303: rejected: a quote inside a cell is not doubled")
    assert found["lines"][2] == "people.csv:304: duplicate of line 12 (p00010@example.com)"
    assert len(_emails(c)) == 301
    last = c.engine.store.subscriber_by_email("last@example.com")
    assert (last.name, last.tags, last.consent_source) == ("Last One", ["vip", "webinar"], "import")

    done = html.unescape(c.client.get(url).get_data(as_text=True))  # the page, once done: the report
    assert "new 300, updated 1, duplicate 1, rejected 2" in done and "console-import.js" not in done
    assert "people.csv:304: duplicate of line 12 (p00010@example.com)" in done
    assert not list((c.engine.settings.project_dir / ".drip" / "imports").glob("*/upload.csv"))


def test_a_refused_file_is_refused_at_once_and_leaves_no_job(console: Console) -> None:
    c = console
    c.app.config["CONSOLE_IMPORT_WAIT"] = 0
    refused = _upload(c, b'email,name\na@example.com,"Ann\nb@example.com,Bob\n')
    assert refused.status_code == 400
    assert "people.csv:2: unclosed quote" in html.unescape(refused.get_data(as_text=True))
    assert not list((c.engine.settings.project_dir / ".drip" / "imports").iterdir())
    assert c.client.get("/console/subscribers/import/0123456789abcdef").status_code == 404
    assert c.client.get("/console/subscribers/import/..%2F..%2Fetc").status_code == 404


def test_two_imports_at_once_add_everyone_once(console: Console) -> None:
    c = console
    c.app.config["CONSOLE_IMPORT_WAIT"] = 0
    first = _job_url(_upload(c, ("email,name\n" + _people(0, 400)).encode(), "a.csv"))
    second = _job_url(_upload(c, ("email,name\n" + _people(200, 600)).encode(), "b.csv"))
    a, b = _until_finished(c, first), _until_finished(c, second)
    assert a["text"] == "new 400, updated 0, duplicate 0, rejected 0"
    assert b["text"] == "new 200, updated 200, duplicate 0, rejected 0"  # one after the other
    emails = _emails(c)
    assert len(emails) == len(set(emails)) == 600


def test_two_writers_importing_the_same_people_at_once_add_each_once(console: Console,
                                                                     tmp_path: Path) -> None:
    """A console import beside `drip subscribers import` (or a second app process): each
    address is added by one and updated by the other, and neither import stops."""
    c = console
    people = tmp_path / "people.csv"
    people.write_text("email,name\n" + _people(0, 1500))
    reports: list[ImportReport] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(import_csv(c.engine.store, people, now=c.clock(), consent_source="test"))
        except BaseException as exc:  # the failure is what this test looks for
            failures.append(exc)

    writers = [threading.Thread(target=run) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(DEADLINE)
    assert not failures, failures
    assert sum(r.new for r in reports) == 1500 and sum(r.updated for r in reports) == 1500
    emails = _emails(c)
    assert len(emails) == len(set(emails)) == 1500


CHILD = """
import io, sys, time
from pathlib import Path
from tests.console.conftest import log_in, make_console
c = make_console(Path(sys.argv[1]), sys.argv[2])
c.app.config["CONSOLE_IMPORT_WAIT"] = 0
assert log_in(c.client).status_code == 302
upload = (io.BytesIO(Path(sys.argv[3]).read_bytes()), "big.csv")
answer = c.post("/console/subscribers/import", {"file": upload}, content_type="multipart/form-data")
print(answer.status_code, answer.headers.get("Location"), flush=True)
time.sleep(600)
"""


def test_an_import_killed_mid_way_finishes_after_a_restart(glute_project: Path, sqlite_url: str,
                                                          tmp_path: Path) -> None:
    rows = 6000
    csv_file = tmp_path / "big.csv"
    csv_file.write_text("email,name\n" + _people(0, rows))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(glute_project), sqlite_url, str(csv_file)],
                             cwd=REPO, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout is not None
        status, location = child.stdout.readline().split()
        assert status == "303"
        watcher = sa.create_engine(sqlite_url)
        deadline = time.monotonic() + DEADLINE
        written = 0
        while written < 100 and time.monotonic() < deadline:  # some rows in: the import is under way
            time.sleep(0.05)
            with watcher.connect() as conn:
                written = conn.execute(sa.select(sa.func.count()).select_from(subscribers)).scalar_one()
        assert 100 <= written < rows, "the import should be under way when the process dies"
        watcher.dispose()
    finally:
        child.send_signal(signal.SIGKILL)  # no shutdown: the job stays half done on disk
        child.wait(timeout=30)

    c = make_console(glute_project, sqlite_url)  # the restart: it takes the job up again
    assert log_in(c.client).status_code == 302
    found = _until_finished(c, location)
    assert found["status"] == "done" and found["done"] == rows
    counts = re.fullmatch(r"new (\d+), updated (\d+), duplicate 0, rejected 0", found["text"])
    assert counts, found["text"]
    new, updated = map(int, counts.groups())
    assert new + updated == rows and updated >= 100
    assert any("the app stopped mid-import 1 time(s)" in note for note in found["notes"])
    emails = _emails(c)
    assert len(emails) == len(set(emails)) == rows  # nobody lost, nobody twice
    assert c.engine.store.subscriber_by_email("p05999@example.com").name == "Person 5999"


def test_finished_imports_are_kept_a_week(glute_project: Path, sqlite_url: str) -> None:
    from sender.web.console.imports import Job

    c = make_console(glute_project, sqlite_url)
    assert log_in(c.client).status_code == 302
    assert _upload(c, b"email\nana@example.com\n").status_code == 200  # done within the request
    folders = list((glute_project / ".drip" / "imports").iterdir())
    assert len(folders) == 1
    state = folders[0] / "job.json"
    job = Job.from_json(state.read_text())
    assert job.status == "done"
    job.created = "2020-01-01T00:00:00+00:00"
    state.write_text(job.to_json())
    make_console(glute_project, sqlite_url)  # the next start removes it (it names people)
    assert not folders[0].exists()
