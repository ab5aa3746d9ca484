"""The console's newsletters: the list (sent so far), composing one (previewed as a
subscriber gets it, then saved under newsletters_dir and scheduled, as `drip newsletter
schedule` does) and cancelling one."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import frontmatter
import werkzeug
import yaml
from flask import Response, flash, redirect, request, url_for

from sender.campaign import Campaign
from sender.errors import DripError
from sender.naming import slugify
from sender.sample import SAMPLE_EMAIL, SAMPLE_NAME, render_sample, sample_subscriber, send_test_of
from sender.store import AnyRow
from sender.store import console as queries
from sender.web import drip
from sender.web.console import PREVIEW_CSP, bp, cache, page
from sender.web.console.campaigns import send_test_to, test_address

if TYPE_CHECKING:
    from sender.newsletters import Scheduled

_FIELDS = ("subject", "preheader", "body", "at", "timezone", "segment", "cron", "local", "now", "to")


def _newsletter_source() -> str:
    """The Markdown of the form: an uploaded file as it is, or subject, preheader
    and body from the text fields."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DripError(f"{upload.filename}: not UTF-8 text") from None
    subject = " ".join(request.form.get("subject", "").split())
    if not subject:
        raise DripError("a newsletter needs a subject")
    body = request.form.get("body", "").replace("\r\n", "\n")
    if not body.strip():
        raise DripError("a newsletter needs a body (Markdown)")
    meta = {"subject": subject, "preheader": " ".join(request.form.get("preheader", "").split())}
    return f"---\n{yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)}---\n{body.rstrip()}\n"


def _stem(source: str) -> str:
    """The name the newsletter's file is saved under: its day and subject."""
    subject = frontmatter.loads(source).metadata.get("subject") or "newsletter"
    return f"{drip().engine.clock():%Y%m%d}-{slugify(str(subject), fallback='newsletter')}"


def _issue(source: str, folder: Path) -> Campaign:
    """The newsletter as the tick builds it (one greeting), a one-lesson campaign in `folder`
    named as `schedule_newsletter` names the saved file's (its links are signed for it), as
    the preview app names a file of the newsletters folder."""
    from sender.newsletters import issue_lesson

    path = folder / f"{_stem(source)}.md"
    path.write_text(source, encoding="utf-8")
    lesson = issue_lesson(path, "issue-preview")
    return Campaign(slug=f"newsletter-{path.stem}", path=folder, title=lesson.subject, lessons=(lesson,))


def _preview_newsletter(source: str) -> dict[str, str]:
    """The newsletter rendered for a sample subscriber, as `drip tick` would render it."""
    engine = drip().engine
    with tempfile.TemporaryDirectory() as tmp:
        campaign = _issue(source, Path(tmp))
        subscriber = sample_subscriber(SAMPLE_EMAIL, SAMPLE_NAME, engine.settings.default_timezone)
        message = render_sample(engine.settings, engine.renderer, campaign, campaign.lessons[0], subscriber,
                                signing_key=engine.signing_key, now=engine.clock(), template="newsletter",
                                delivery_key=f"preview:newsletter:{secrets.token_hex(4)}").message
    return {"subject": message.subject, "html": message.html, "text": message.text}


def _send_test_newsletter(source: str) -> None:
    """The newsletter as a [Test] email to the form's address (`sender.sample.send_test_of`)."""
    engine = drip().engine
    with tempfile.TemporaryDirectory() as tmp:
        campaign = _issue(source, Path(tmp))
        issue = campaign.lessons[0]
        send_test_to(lambda to: send_test_of(engine, campaign, issue, to, template="newsletter",
                                             name=SAMPLE_NAME),
                     f"the newsletter {campaign.title!r}")


def _newsletters_page(status: int = 200, **context: Any) -> tuple[str, int]:
    from sender.newsletters import issue_key, legacy_issue_key

    engine = drip().engine
    delivered, _ = cache.snapshot("deliveries")

    def sent(n: Any) -> int:  # under its own key, or (sent before keys had the row id) the old one
        return (delivered.get((n.campaign_id, issue_key(n)), {}).get("sent", 0)
                or delivered.get((n.campaign_id, legacy_issue_key(n.wall_time)), {}).get("sent", 0))

    rows = [{"row": n, "sent": sent(n)} for n in queries.newsletters_page(engine.store)]
    form = {"timezone": engine.settings.default_timezone, **context.pop("form", {})}
    return page("console_newsletters.html", status, title="Newsletters", newsletters=rows, form=form,
                test_to=test_address(), **context)


@bp.get("/newsletters")
def newsletters() -> tuple[str, int]:
    return _newsletters_page()


def _save_source(source: str) -> Path:
    """The newsletter's Markdown saved under newsletters_dir, named for its subject and day."""
    engine = drip().engine
    folder = engine.settings.path("newsletters_dir")
    folder.mkdir(parents=True, exist_ok=True)
    stem = _stem(source)
    path = folder / f"{stem}.md"
    n = 2
    while path.exists():  # each newsletter file (and campaign row) is its own
        path, n = folder / f"{stem}-{n}.md", n + 1
    path.write_text(source, encoding="utf-8")
    return path


def _schedule(path: Path, form: dict[str, str]) -> Scheduled:
    """`drip newsletter schedule FILE …` of the form's choices; the file goes if that fails."""
    from sender.newsletters import schedule_newsletter

    engine = drip().engine
    try:
        return schedule_newsletter(
            engine.store, path, at=form["at"] or None, cron=form["cron"].strip() or None,
            local=bool(form["local"]), segment=form["segment"].strip() or None,
            timezone=form["timezone"].strip() or engine.settings.default_timezone, now=engine.clock(),
            send_now=bool(form["now"]), default_zone=engine.settings.default_timezone,
            past_hint="tick “Send now” to send it at the next tick anyway")
    except (DripError, ValueError):
        path.unlink(missing_ok=True)
        raise


def _scheduled_message(done: Scheduled, row: AnyRow, path: Path) -> str:
    where = "each subscriber's local time" if row.local else row.timezone
    return (f"Scheduled newsletter {done.id} ({row.title!r}) for {row.wall_time} {where}"
            + (f", then {row.cron}" if row.cron else "") + f", to {done.reach}; saved as {path.name}.")


@bp.post("/newsletters")
def newsletter_compose() -> werkzeug.Response | tuple[str, int]:
    """Preview, or save the Markdown under newsletters_dir and schedule it
    (`drip newsletter schedule FILE --at … [--now] [--local] [--segment] [--cron] [--timezone]`)."""
    engine = drip().engine
    form = {k: request.form.get(k, "") for k in _FIELDS}
    try:
        source = _newsletter_source()
        if request.form.get("action") == "test":
            _send_test_newsletter(source)
            return _newsletters_page(form=form)
        if request.form.get("action") == "preview":
            text, status = _newsletters_page(form=form, preview=_preview_newsletter(source))
            return Response(text, status, headers={"Content-Security-Policy": PREVIEW_CSP})
        path = _save_source(source)
        done = _schedule(path, form)
    except (DripError, ValueError, yaml.YAMLError) as exc:
        return _newsletters_page(400, form=form, error=str(exc))
    row = queries.newsletter_by_id(engine.store, done.id)
    assert row is not None, f"newsletter {done.id} vanished right after scheduling"
    flash(_scheduled_message(done, row, path))
    return redirect(url_for("console.newsletters"))


@bp.post("/newsletters/<int:newsletter_id>/cancel")
def newsletter_cancel(newsletter_id: int) -> werkzeug.Response:
    if not queries.cancel_newsletter(drip().engine.store, newsletter_id):
        raise DripError(f"newsletter {newsletter_id} is not scheduled (already sent or cancelled)")
    flash(f"Cancelled newsletter {newsletter_id}; anything already sent stays sent.")
    return redirect(url_for("console.newsletters"))
