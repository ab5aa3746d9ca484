"""The console's lessons of a campaign: the list (move a lesson up or down, make it a
draft or publish it) and one lesson's editor (subject, preheader and Markdown body) with
a live preview, rendered for a sample subscriber as `drip render` and the preview render.

Saving, reordering and drafts go through `sender.campaign_edit`: only the lines of the keys
edited change, and nothing is written unless the campaign reads back as a tick reads it.
A save is refused, with the file's line, if the lesson would not load or render. Moving a
lesson sets `position:` in the front matter and renames nothing: deliveries remember
lessons by file stem, so a subscriber never gets a lesson again because it moved.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import werkzeug
from flask import Response, flash, redirect, request, url_for
from markupsafe import escape

from sender.campaign import Campaign, Lesson, lesson_from_text
from sender.campaign_edit import draft_writes, edited_lesson, move_writes, write_checked
from sender.errors import DripError
from sender.providers import OutgoingMessage
from sender.sample import SAMPLE_EMAIL, SAMPLE_NAME, render_sample, sample_schedule, sample_subscriber
from sender.web import drip
from sender.web.console import NotFound, bp, page
from sender.web.console.campaigns import read_campaign

# The preview frame holds the email alone: no script, remote images as subscribers see them.
FRAME_CSP = ("default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src * data:; "
             "form-action 'none'; frame-ancestors 'self'; base-uri 'none'")
_LINE = re.compile(r":(\d+): ")


def _lesson(campaign: Campaign, key: str) -> Lesson:
    found = next((lesson for lesson in campaign.all_lessons if lesson.key == key), None)
    if found is None:
        raise NotFound(f"no lesson {key!r} in {campaign.slug}")
    return found


def _version(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _form_text(lesson: Lesson) -> tuple[str, str]:
    """The file's text now, and the new text the editor's form asks for."""
    text = lesson.path.read_text(encoding="utf-8")
    new = edited_lesson(text, request.form.get("subject", ""), request.form.get("preheader", ""),
                        request.form.get("body", ""))
    return text, new


def render_edited(campaign: Campaign, lesson: Lesson, text: str) -> OutgoingMessage:
    """The lesson file's `text`, read as `load_campaign` reads it and rendered for the sample
    subscriber as the preview renders it (`render_sample`; a draft as it will be once
    published). Raises DripError naming the file's line when it would not load or render."""
    engine = drip().engine
    edited = lesson_from_text(lesson.path, text, lesson.position)
    shown = campaign.with_lesson(edited)
    placed = next(other for other in shown.lessons if other.key == edited.key)
    shown.timing(placed, engine.settings)  # a bad delay or window is refused before any render
    subscriber = sample_subscriber(SAMPLE_EMAIL, SAMPLE_NAME, engine.settings.default_timezone)
    # Dated when it would reach the sample subscriber enrolled now, as the preview dates it,
    # so "Lesson 3 arrives Friday" reads the same in both.
    due = next(when for other, _, when in sample_schedule(shown, engine.settings, subscriber.timezone,
                                                          engine.clock()) if other.key == placed.key)
    return render_sample(engine.settings, engine.renderer, shown, placed, subscriber,
                         signing_key=engine.signing_key, now=due).message


def _editor(campaign: Campaign, lesson: Lesson, status: int = 200, **context: Any) -> tuple[str, int]:
    text = lesson.path.read_text(encoding="utf-8")
    form = {"subject": lesson.subject, "preheader": lesson.preheader, "body": lesson.body,
            "version": _version(text), **context.pop("form", {})}
    return page("console_lesson.html", status, title=f"{lesson.subject} — edit", campaign=campaign,
                lesson=lesson, form=form, **context)


@bp.get("/campaigns/<slug>/lessons")
def lessons(slug: str) -> tuple[str, int]:
    campaign = read_campaign(slug)
    return page("console_lessons.html", title=f"{campaign.title} — lessons", campaign=campaign)


@bp.get("/campaigns/<slug>/lessons/<key>")
def lesson_edit(slug: str, key: str) -> tuple[str, int]:
    campaign = read_campaign(slug)
    return _editor(campaign, _lesson(campaign, key))


@bp.post("/campaigns/<slug>/lessons/<key>")
def lesson_save(slug: str, key: str) -> werkzeug.Response | tuple[str, int]:
    """Write the lesson file, unless it would not load or render (then nothing is written)."""
    campaign = read_campaign(slug)
    lesson = _lesson(campaign, key)
    form = {k: request.form.get(k, "") for k in ("subject", "preheader", "body", "version")}
    try:
        text, new = _form_text(lesson)
        if form["version"] != _version(text):
            raise DripError(f"{lesson.path.name} changed since this page was opened (someone else "
                            "saved it): copy your text, reload the page and apply it again")
        render_edited(campaign, lesson, new)
        if new != text:
            write_checked(campaign, {lesson.path: new}, drip().engine.settings)
    except (DripError, ValueError) as exc:
        found = _LINE.search(str(exc))
        return _editor(campaign, lesson, 400, form=form, error=str(exc),
                       error_line=int(found.group(1)) if found else None)
    flash(f"Saved {lesson.path.name}." if new != text else f"No change to {lesson.path.name}.")
    return redirect(url_for("console.lesson_edit", slug=slug, key=key))


@bp.post("/campaigns/<slug>/lessons/<key>/preview")
def lesson_preview(slug: str, key: str) -> Response:
    """The editor's text rendered (not saved), for the editor's preview frame."""
    campaign = read_campaign(slug)
    lesson = _lesson(campaign, key)
    try:
        _, new = _form_text(lesson)
        message = render_edited(campaign, lesson, new)
    except (DripError, ValueError) as exc:
        body = (f'<!doctype html><meta charset="utf-8"><title>Not rendered</title>'
                f'<p role="alert" style="font:15px sans-serif;color:#b42318;white-space:pre-wrap">'
                f"This lesson can't be sent as it is:\n{escape(str(exc))}</p>")
        return Response(body, 200, headers={"Content-Security-Policy": FRAME_CSP})
    inbox = ('<div style="font:14px sans-serif;padding:8px 12px;border-bottom:1px solid #ccc;'
             'background:#f6f7f9">'
             f"<b>{escape(message.subject)}</b> — To {escape(SAMPLE_NAME)} &lt;{SAMPLE_EMAIL}&gt;</div>")
    html = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + inbox, message.html, count=1)
    return Response(html, 200, headers={"Content-Security-Policy": FRAME_CSP})


@bp.post("/campaigns/<slug>/lessons/<key>/move")
def lesson_move(slug: str, key: str) -> werkzeug.Response:
    campaign = read_campaign(slug)
    lesson = _lesson(campaign, key)
    step = -1 if request.form.get("direction") == "up" else 1
    written = write_checked(campaign, move_writes(campaign, key, step), drip().engine.settings)
    flash(f"Moved {lesson.subject!r} {'up' if step < 0 else 'down'}." if written
          else f"{lesson.subject!r} is already {'first' if step < 0 else 'last'}.")
    return redirect(url_for("console.lessons", slug=slug))


@bp.post("/campaigns/<slug>/lessons/<key>/draft")
def lesson_draft(slug: str, key: str) -> werkzeug.Response:
    campaign = read_campaign(slug)
    lesson = _lesson(campaign, key)
    draft = request.form.get("draft") == "1"
    write_checked(campaign, draft_writes(campaign, key, draft), drip().engine.settings)
    flash(f"{lesson.subject!r} is a draft: it is not sent until published." if draft else
          f"Published {lesson.subject!r}: it is sent next to those enrolled who have not had it.")
    return redirect(url_for("console.lessons", slug=slug))

