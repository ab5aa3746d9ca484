"""The console's CSV import, in the background: the upload is saved to the project's
`.drip/imports/JOB/` folder and checked (a file that cannot be read safely is refused at
once, as `drip subscribers import` refuses it), then imported row by row by one worker
thread per process, through `sender.subscribers.import_csv` (the one definition of a valid
row). The page shows a progress bar fed by `/console/subscribers/import/JOB/status`
(static/console-import.js, allowed by the page's CSP nonce): rows done of the total, the
duplicate and rejected rows by line, then the report `drip subscribers import` prints.

Nothing is lost or doubled:
- imports run one after another (a second upload waits its turn), so two never race for
  the same address;
- each row is one transaction keyed on the (unique) email, so running a row twice
  updates the subscriber rather than adding a second one;
- the job's state is written to `job.json` as it goes; a job found unfinished when the app
  starts (the process stopped mid-import) is imported again from the top, which writes every
  row once more without doubling anyone. A job a live process is running is locked
  (`flock`), so another process leaves it alone.

A small import (done within `CONSOLE_IMPORT_WAIT` seconds, 1 by default) answers in the
request with its report, as it always did; a big one answers at once with the progress page.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import werkzeug
from flask import Response, current_app, g, jsonify, redirect, request, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.datastructures import FileStorage

from sender.errors import DripError
from sender.store import Store
from sender.subscribers import (
    KNOWN_COLUMNS,
    CsvSource,
    ImportReport,
    ImportStopped,
    InvalidSubscriber,
    import_csv,
    open_csv,
)
from sender.web import drip
from sender.web.console import NotFound, bp, page
from sender.web.console.subscribers import split_tags

log = logging.getLogger(__name__)

FOLDER = Path(".drip") / "imports"  # under the project
UPLOAD = "upload.csv"
FINISHED = ("done", "failed")
SAVE_EVERY = 2.0  # seconds between writes of job.json while a job runs (for a restart, other processes)
KEEP_DAYS = 7  # a finished import's page (and report) stays this long
SHOWN_LINES = 1000  # duplicate/rejected lines in one status answer; the finished page shows them all
_JOB_ID = re.compile(r"[0-9a-f]{16}")


@dataclass
class Job:
    """One console import: what was asked, how far it got, and its report so far."""

    id: str
    name: str  # the uploaded file's name, as rows are reported (people.csv:12: …)
    now: str  # ISO time every row is imported at, as one request would have
    options: dict[str, Any]  # import_csv's mapping, encoding, tags, status, consent_source
    user: str
    created: str
    total: int = 0
    done: int = 0
    status: str = "queued"  # queued, running, done, failed
    error: str | None = None
    restarts: int = 0  # times the app stopped mid-import and the job began again
    report: ImportReport = field(default_factory=ImportReport)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def heading(self) -> str:
        return ("Imported " if self.status == "done" else
                "Import failed: " if self.status == "failed" else "Importing ") + self.name

    def text(self) -> str:
        """Where the import is, in one line (the page and the status answer both show it)."""
        if self.status == "done":
            return self.report.summary()
        if self.status == "failed":
            return f"Stopped after {self.done:,} of {self.total:,} rows: {self.error}"
        if self.status == "queued":
            return f"{self.total:,} rows, waiting for the import before this one to finish"
        share = f" ({self.done * 100 // self.total}%)" if self.total else ""
        return f"{self.done:,} of {self.total:,} rows{share}: {self.report.summary()}"

    def notes(self) -> list[str]:
        notes = self.report.notes() if self.report.columns else []
        if self.restarts:
            notes.append(f"the app stopped mid-import {self.restarts} time(s) and the import began again: "
                         "rows written before that count as updated; nobody was added twice")
        return notes

    def status_answer(self) -> dict[str, Any]:
        lines = self.report.row_lines(self.name)
        return {"status": self.status, "finished": self.finished, "done": self.done, "total": self.total,
                "heading": self.heading(), "text": self.text(), "notes": self.notes(),
                "lines": lines[:SHOWN_LINES], "more": max(0, len(lines) - SHOWN_LINES)}

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Job:
        data = json.loads(text)
        report = data.pop("report")
        report["duplicates"] = [tuple(d) for d in report["duplicates"]]
        report["rejected"] = [tuple(r) for r in report["rejected"]]
        return cls(**data, report=ImportReport(**report))


class Imports:
    """The jobs of one app: saved under `root`, run one at a time by a worker thread that
    lives while there is work."""

    def __init__(self, root: Path, store: Store) -> None:
        self.root = root
        self.store = store
        self._lock = threading.Lock()
        self._queue: list[str] = []
        self._worker: threading.Thread | None = None
        self._live: dict[str, Job] = {}  # jobs this process is running or has queued
        self._sources: dict[str, CsvSource] = {}  # checked at upload; a resumed job checks again
        self._finished: dict[str, threading.Event] = {}

    # -- asking -----------------------------------------------------------------------------

    def submit(self, upload: FileStorage, name: str, options: dict[str, Any], *, now: datetime,
               user: str) -> Job:
        """Save the upload, check it as the CLI does (refusing, by the upload's name, a file
        that cannot be read safely: nothing is written then) and queue it."""
        job = Job(id=secrets.token_hex(8), name=name, now=now.isoformat(), options=options, user=user,
                  created=datetime.now(UTC).isoformat())
        folder = self.root / job.id
        folder.mkdir(parents=True)
        path = folder / UPLOAD
        upload.save(path)
        try:
            source = open_csv(path, mapping=options["mapping"], encoding=options["encoding"])
        except InvalidSubscriber as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise DripError(str(exc).replace(str(path), name)) from None
        job.total = source.rows
        self._save(job)
        with self._lock:
            self._sources[job.id] = source
        self._enqueue(job)
        return job

    def job(self, job_id: str) -> Job:
        if not _JOB_ID.fullmatch(job_id):
            raise NotFound(f"no import {job_id!r}")
        with self._lock:
            live = self._live.get(job_id)
        if live is not None:
            return live
        try:
            return self.job_on_disk(job_id)
        except FileNotFoundError:
            raise NotFound(f"no import {job_id} (not started here, or its folder was removed)") from None

    def wait(self, job_id: str, seconds: float) -> bool:
        """Wait up to `seconds` for a job of this process to finish; True if it has."""
        with self._lock:
            event = self._finished.get(job_id)
        return event.wait(seconds) if event is not None else self.job(job_id).finished

    def resume(self) -> None:
        """Queue, oldest first, the jobs a stopped process left unfinished; remove the
        reports of those finished more than KEEP_DAYS ago (they name people by address)."""
        found = []
        old = datetime.now(UTC) - timedelta(days=KEEP_DAYS)
        for state in self.root.glob("*/job.json"):
            with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
                job = Job.from_json(state.read_text(encoding="utf-8"))
                if not job.finished:
                    found.append(job)
                elif datetime.fromisoformat(job.created) < old:
                    shutil.rmtree(state.parent, ignore_errors=True)
        for job in sorted(found, key=lambda j: j.created):
            log.info("console import %s (%s) was not finished: importing it again", job.id, job.name)
            self._enqueue(job)

    # -- working ----------------------------------------------------------------------------

    def _enqueue(self, job: Job) -> None:
        with self._lock:
            self._live[job.id] = job
            self._finished.setdefault(job.id, threading.Event())
            self._queue.append(job.id)
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, daemon=True, name="console-import")
                self._worker.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._worker = None
                    return
                job_id = self._queue.pop(0)
                job = self._live[job_id]
                source = self._sources.pop(job_id, None)
            try:
                with _locked(self.root / job_id) as mine:
                    if mine:
                        self._run(job, source)
                    # else another process runs it; its job.json tells this one's pages how far
            except Exception:  # the worker must go on to the next job whatever happened to this one
                log.exception("console import %s failed", job_id)
            finally:
                with self._lock:
                    self._live.pop(job_id, None)
                    self._finished[job_id].set()

    def _run(self, job: Job, source: CsvSource | None) -> None:
        on_disk = self.job_on_disk(job.id)
        if on_disk.finished:  # finished by another process meanwhile
            return
        if on_disk.status == "running":  # this job was under way when its process stopped
            job.restarts = on_disk.restarts + 1
        path = self.root / job.id / UPLOAD
        job.status, job.done, job.report = "running", 0, ImportReport()
        self._save(job)
        saved = time.monotonic()

        def advance(n: int) -> None:
            nonlocal saved
            job.done += n
            if time.monotonic() - saved > SAVE_EVERY:
                self._save(job)
                saved = time.monotonic()

        def watch(report: ImportReport) -> None:
            job.report = report

        options = job.options
        try:
            src = source or open_csv(path, mapping=options["mapping"], encoding=options["encoding"])
            job.total = src.rows
            job.report = import_csv(self.store, src, now=datetime.fromisoformat(job.now),
                                    consent_source=options["consent_source"], tags=options["tags"],
                                    status=options["status"], progress=advance, watch=watch)
            job.status = "done"
            path.unlink(missing_ok=True)  # personal data kept no longer than the import needs it
        except (InvalidSubscriber, ImportStopped) as exc:  # the upload is kept, so staff can see why
            job.status, job.error = "failed", str(exc).replace(str(path), job.name)
        except Exception as exc:
            log.exception("console import %s (%s) stopped", job.id, job.name)
            job.status = "failed"
            job.error = (f"{type(exc).__name__}: {exc}; import the file again to finish (rows "
                         "already imported are updated, not doubled)")
        finally:
            self._save(job)

    def job_on_disk(self, job_id: str) -> Job:
        return Job.from_json((self.root / job_id / "job.json").read_text(encoding="utf-8"))

    def _save(self, job: Job) -> None:
        """job.json, replaced whole: a reader (or a restart) never finds half of it."""
        target = self.root / job.id / "job.json"
        temporary = target.with_suffix(".tmp")
        temporary.write_text(job.to_json(), encoding="utf-8")
        os.replace(temporary, target)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[bool]:
    """Hold the job's lock file while it runs; False if another process holds it. The lock
    goes with the process, so a job whose process died can be taken up again."""
    handle: IO[str] = (folder / "lock").open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        handle.close()


def _set_up(state: BlueprintSetupState) -> None:
    """At app start: the app's jobs, and any import a stopped process left unfinished."""
    app = state.app
    engine = app.extensions["drip"].engine
    app.config.setdefault("CONSOLE_IMPORT_WAIT", 1.0)
    found = app.extensions["drip_imports"] = Imports(engine.settings.project_dir / FOLDER, engine.store)
    if found.root.is_dir():
        found.resume()


bp.record_once(_set_up)


def imports() -> Imports:
    found: Imports = current_app.extensions["drip_imports"]
    return found


# -- the pages ------------------------------------------------------------------------------------


def _options() -> dict[str, Any]:
    """import_csv's options from the import form (the same fields `drip subscribers import` has)."""
    mapping = {f: request.form.get(f"map_{f}", "").strip() for f in sorted(KNOWN_COLUMNS)}
    pending = bool(request.form.get("pending"))
    consent = None if pending else (request.form.get("consent_source", "").strip() or "import")
    return {"mapping": {k: v for k, v in mapping.items() if v},
            "encoding": request.form.get("encoding", "").strip() or None,
            "tags": split_tags(request.form.get("tag", "")),
            "status": "pending" if pending else "active",
            "consent_source": consent}


def _page(job: Job) -> tuple[str, int]:
    return page("console_import.html", title=job.heading(), job=job,
                lines=job.report.row_lines(job.name))


@bp.post("/subscribers/import")
def subscribers_import() -> werkzeug.Response | tuple[str, int]:
    """`drip subscribers import`, in the background: the report when it is done within
    CONSOLE_IMPORT_WAIT seconds, else the progress page (which ends with the same report)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise DripError("choose a CSV file to import")
    engine = drip().engine
    job = imports().submit(upload, Path(upload.filename).name, _options(), now=engine.clock(),
                           user=str(g.user))
    if imports().wait(job.id, float(current_app.config["CONSOLE_IMPORT_WAIT"])):
        return _page(imports().job(job.id))
    return redirect(url_for("console.subscribers_import_progress", job_id=job.id), 303)


@bp.get("/subscribers/import/<job_id>")
def subscribers_import_progress(job_id: str) -> tuple[str, int]:
    return _page(imports().job(job_id))


@bp.get("/subscribers/import/<job_id>/status")
def subscribers_import_status(job_id: str) -> Response:
    """What the progress bar shows: {status, finished, done, total, heading, text, notes,
    lines (duplicate and rejected rows, by line), more (lines left out)}."""
    return jsonify(imports().job(job_id).status_answer())
