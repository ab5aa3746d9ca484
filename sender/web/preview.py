"""`drip preview`: every email as subscribers will get it, for staff, on 127.0.0.1.

    /preview/                              campaigns, lessons and their send timing
    /preview/<slug>/<lesson>               phone and desktop side by side, plain text,
                                           raw headers, inbox row, sample subscriber,
                                           test send
    /preview/<slug>/<lesson>/email.html    the bare HTML (what the iframes show)
    /preview/<slug>/<lesson>/email.eml     the whole message, to open in a mail app
    /preview/system/<name>                 confirmation and "you are unsubscribed" emails
    /preview/fingerprint                   changes when a lesson or template file is saved

Pages poll the fingerprint and reload, so a save shows within a second. Render
errors (template, MJML, undefined variable) are shown in the page with their file
and line, never as a stack trace. Everything shown is autoescaped; the email's own
HTML is served with a CSP that allows no script and loads in sandboxed iframes of
the preview's own pages (and nobody else's). The app answers only to its own address
(`sender.web.security.only_hosts`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any, TypedDict

import werkzeug
from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState

from sender.campaign import Campaign, Lesson, campaign_dirs, load_campaign
from sender.errors import DripError
from sender.messages import compose
from sender.providers.base import OutgoingMessage
from sender.render import CompiledLesson, html_size_problem, subscriber_context
from sender.sample import find_lesson, sample_subscriber
from sender.schedule import WEEKDAYS, Timing, due_after, zone
from sender.web import drip, security

bp = Blueprint("preview", __name__, url_prefix="/preview", template_folder="templates")

SYSTEM_EMAILS = {"confirm": "Double opt-in confirmation", "unsubscribed": "You are unsubscribed"}
# The email's own HTML may hold anything staff pasted into a lesson: no script runs.
EMAIL_CSP = ("default-src 'none'; img-src * data:; style-src 'unsafe-inline'; base-uri 'none'; "
             "form-action 'none'; frame-ancestors 'self'")
# The pages around it: the live-reload script (with its nonce) polls the fingerprint, and
# the phone and desktop frames show the email's HTML from here.
PAGE_CSP = ("default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'")
_TOKEN_KEY = "drip_preview_token"
security.page_policy(bp, PAGE_CSP)


@bp.record_once
def _make_token(state: BlueprintSetupState) -> None:
    # A form token only our own pages know: another site can't make the preview send mail.
    state.app.extensions.setdefault(_TOKEN_KEY, secrets.token_urlsafe(24))


def _token() -> str:
    from flask import current_app

    token: str = current_app.extensions[_TOKEN_KEY]
    return token


# -- sample subscriber and rendering ----------------------------------------------------


class SampleQuery(TypedDict):
    """A sample subscriber as URL query values (keyword arguments to `url_for`)."""

    name: str
    email: str
    timezone: str
    fields: str


@dataclass
class Sample:
    name: str
    email: str
    timezone: str
    fields_text: str

    @classmethod
    def from_request(cls) -> Sample:
        args = request.values
        default_zone = drip().engine.settings.default_timezone
        return cls(name=args.get("name", "Alex Sample"), email=args.get("email", "alex@example.com"),
                   timezone=args.get("timezone") or default_zone, fields_text=args.get("fields", ""))

    def query(self) -> SampleQuery:
        return {"name": self.name, "email": self.email, "timezone": self.timezone, "fields": self.fields_text}

    def fields(self) -> dict[str, str]:
        """Custom fields from `key=value` lines."""
        out = {}
        for line in self.fields_text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip():
                out[key.strip()] = value.strip()
        return out

    def subscriber(self) -> Any:
        """A subscribers-row look-alike; a bad address or zone is a DripError shown in the page."""
        row = sample_subscriber(self.email, self.name, self.timezone)
        row.fields = self.fields()
        return row


def _campaign(slug: str) -> Campaign:
    folder = drip().engine.settings.path("campaigns_dir")
    if slug not in {p.name for p in campaign_dirs(folder)}:
        abort(404)
    return load_campaign(folder / slug)  # read per request: the files may just have changed


def _compose(campaign: Campaign, lesson: Lesson, subscriber: Any) -> tuple[CompiledLesson, OutgoingMessage]:
    engine = drip().engine
    engine.renderer.templates_generation(force=True)  # this request must see the latest save
    compiled = engine.renderer.compile(campaign, lesson)
    message = compose(settings=engine.settings, renderer=engine.renderer, compiled=compiled,
                      subscriber=subscriber, signing_key=engine.signing_key, now=engine.clock(),
                      delivery_key=f"preview:{campaign.slug}:{lesson.key}:{subscriber.email}")
    return compiled, message


def _system_context(subscriber: Any) -> dict[str, Any]:
    base = drip().engine.settings.base_url.rstrip("/")
    return {"subscriber": subscriber_context(subscriber), "campaign_title": "Sample Course",
            "confirm_url": f"{base}/confirm/sample-token",
            "resubscribe_url": f"{base}/preferences/sample-token"}


def _system_message(name: str, subscriber: Any) -> OutgoingMessage:
    engine = drip().engine
    if name not in SYSTEM_EMAILS:
        abort(404)
    engine.renderer.templates_generation(force=True)
    html, text = engine.renderer.render_system(name, _system_context(subscriber))
    return OutgoingMessage(to=subscriber.email, from_address=engine.settings.from_address,
                           subject=SYSTEM_EMAILS[name], html=html, text=text,
                           message_id=f"<preview-{name}@localhost>", date=engine.clock())


# -- timing -------------------------------------------------------------------------------


def describe_timing(timing: Timing, position: int) -> str:
    """"2 days after lesson 1, 09:00–11:00, Mon–Fri"."""
    after = "enrolment" if position == 1 else f"lesson {position - 1}"
    parts = [f"{timing.delay_days} day{'s' if timing.delay_days != 1 else ''}"] if timing.delay_days else []
    if timing.delay_hours:
        parts.append(f"{timing.delay_hours} h")
    first = "first" if position == 1 else "next"
    delay = f"{' '.join(parts)} after {after}" if parts else f"{first} send window after {after}"
    end = "24:00" if (timing.window_end.hour, timing.window_end.minute) == (23, 59) else \
        f"{timing.window_end:%H:%M}"
    return f"{delay}, {timing.window_start:%H:%M}–{end}, {_weekdays(timing.weekdays)}"


def _weekdays(days: frozenset[int]) -> str:
    if len(days) == 7:
        return "any day"
    ordered = sorted(days)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{WEEKDAYS[ordered[0]].title()}–{WEEKDAYS[ordered[-1]].title()}"
    return ", ".join(WEEKDAYS[d].title() for d in ordered)


def _schedule(campaign: Campaign, timezone: str) -> list[dict[str, Any]]:
    """Each lesson's timing rule and when it would go out for someone in `timezone`
    enrolled now."""
    engine = drip().engine
    tz = zone(timezone)
    rows, previous = [], engine.clock()
    for lesson in campaign.lessons:
        timing = campaign.timing(lesson, engine.settings)
        due = due_after(previous, timing, tz, first=lesson.position == 1)
        rows.append({"lesson": lesson, "rule": describe_timing(timing, lesson.position),
                     "local": due.astimezone(tz)})
        previous = due
    return rows


# -- pages ----------------------------------------------------------------------------------


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    engine = drip().engine
    return render_template(template, brand_colour=engine.settings.brand_colour,
                           fingerprint=fingerprint(_watched()), **context), status


@bp.get("/")
def index() -> tuple[str, int]:
    sample = Sample.from_request()
    campaigns, errors = [], []
    for folder in campaign_dirs(drip().engine.settings.path("campaigns_dir")):
        try:
            campaign = load_campaign(folder)
            campaigns.append({"campaign": campaign, "schedule": _schedule(campaign, sample.timezone)})
        except (DripError, ValueError) as exc:  # one broken campaign must not hide the others
            errors.append(str(exc))
    return _page("preview_index.html", title="Preview", campaigns=campaigns, errors=errors,
                 sample=sample, system=SYSTEM_EMAILS)


@bp.get("/<slug>/<key>")
def lesson_page(slug: str, key: str) -> tuple[str, int]:
    sample = Sample.from_request()
    context: dict[str, Any] = {"sample": sample, "slug": slug, "key": key, "title": f"{slug}/{key}",
                               "notice": request.args.get("sent", ""), "send_error": "",
                               "token": _token()}
    try:
        campaign = _campaign(slug)
        lesson = find_lesson(campaign, key)
        context.update(campaign=campaign, lesson=lesson,
                       title=f"{lesson.position}. {lesson.subject} — preview")
        context["timing"] = next(r for r in _schedule(campaign, sample.timezone) if r["lesson"] is lesson)
        compiled, message = _compose(campaign, lesson, sample.subscriber())
    except (DripError, ValueError) as exc:
        return _page("preview_email.html", 500, error=str(exc), **context)
    context.update(_shown(message, compiled.preheader_slots, sample))
    context["email_url"] = url_for("preview.email_html", slug=slug, key=key, **sample.query())
    context["eml_url"] = url_for("preview.email_eml", slug=slug, key=key, **sample.query())
    context["size_problem"] = html_size_problem(lesson.path, message.html) or ""
    return _page("preview_email.html", **context)


@bp.get("/system/<which>")
def system_page(which: str) -> tuple[str, int]:
    sample = Sample.from_request()
    context: dict[str, Any] = {"sample": sample, "title": f"{SYSTEM_EMAILS.get(which, which)} — preview"}
    try:
        message = _system_message(which, sample.subscriber())
    except (DripError, ValueError) as exc:
        return _page("preview_email.html", 500, error=str(exc), **context)
    context.update(_shown(message, None, sample))
    context["email_url"] = url_for("preview.system_html", which=which, **sample.query())
    return _page("preview_email.html", **context)


def _shown(message: OutgoingMessage, preheader: Any, sample: Sample) -> dict[str, Any]:
    """What the page shows of a message: inbox row, text part, raw headers."""
    raw = message.as_email().as_string()
    headers = raw.split("\n\n", 1)[0]
    try:
        pre = preheader.render({"subscriber": subscriber_context(sample.subscriber())}) if preheader else ""
    except Exception:  # a placeholder the preheader can't fill here: show it as written
        pre = getattr(preheader, "source", "")
    from_name, from_email = parseaddr(message.from_address)
    return {"message": message, "headers": headers, "preheader": pre, "from_name": from_name or from_email,
            "html_kb": len(message.html.encode()) / 1024}


def _email_response(body: str, mimetype: str = "text/html") -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Security-Policy"] = EMAIL_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def _error_response(exc: Exception) -> Response:
    response = _email_response(f"Render error: {exc}\n", mimetype="text/plain")
    response.status_code = 500
    return response


@bp.get("/<slug>/<key>/email.html")
def email_html(slug: str, key: str) -> Response:
    try:
        campaign = _campaign(slug)
        _, message = _compose(campaign, find_lesson(campaign, key), Sample.from_request().subscriber())
    except (DripError, ValueError) as exc:
        return _error_response(exc)
    return _email_response(message.html)


@bp.get("/<slug>/<key>/email.eml")
def email_eml(slug: str, key: str) -> Response:
    try:
        campaign = _campaign(slug)
        lesson = find_lesson(campaign, key)
        _, message = _compose(campaign, lesson, Sample.from_request().subscriber())
    except (DripError, ValueError) as exc:
        return _error_response(exc)
    response = _email_response(message.as_email().as_string(), mimetype="message/rfc822")
    response.headers["Content-Disposition"] = f'attachment; filename="{lesson.key}.eml"'
    return response


@bp.get("/system/<which>/email.html")
def system_html(which: str) -> Response:
    try:
        message = _system_message(which, Sample.from_request().subscriber())
    except (DripError, ValueError) as exc:
        return _error_response(exc)
    return _email_response(message.html)


@bp.post("/<slug>/<key>/send")
def send(slug: str, key: str) -> werkzeug.Response | tuple[str, int]:
    """A test of this lesson to one address, through the configured provider."""
    if not hmac.compare_digest(request.form.get("token", ""), _token()):
        abort(403)
    from sender.sample import send_test

    sample = Sample.from_request()
    to = request.form.get("to", "").strip()
    engine = drip().engine
    try:
        campaign = _campaign(slug)
        lesson = find_lesson(campaign, key)
        # The provider is shared with the scheduler's tick; each backend is thread-safe itself.
        result = send_test(engine, slug, lesson.key, to, name=sample.name, timezone=sample.timezone)
        if not result.ok:
            raise DripError(f"{engine.provider.name} did not accept the test: {result.error}")
    except (DripError, ValueError) as exc:
        return _page("preview_email.html", 400, sample=sample, slug=slug, key=key, title="Test not sent",
                     error=f"Test not sent: {exc}", token=_token(), notice="", send_error=str(exc))
    except Exception as exc:  # the provider's own failure (network, API): say so, in the page
        return _page("preview_email.html", 502, sample=sample, slug=slug, key=key, title="Test not sent",
                     error=f"Test not sent: {engine.provider.name}: {exc}", token=_token(), notice="",
                     send_error=str(exc))
    return redirect(url_for("preview.lesson_page", slug=slug, key=lesson.key, sent=result.message.to,
                            **sample.query()), code=303)


# -- live reload ------------------------------------------------------------------------------


def _watched() -> list[Path]:
    settings = drip().engine.settings
    return [settings.path("campaigns_dir"), settings.path("templates_dir")]


def fingerprint(folders: Iterable[Path]) -> str:
    """A digest of every file's path, mtime and size under `folders`: any save changes it."""
    digest = hashlib.sha256()
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                digest.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
    return digest.hexdigest()[:16]


@bp.get("/fingerprint")
def fingerprint_view() -> Response:
    response = jsonify(fingerprint=fingerprint(_watched()))
    response.headers["Cache-Control"] = "no-store"
    return response


def local_time(value: datetime) -> str:
    return value.strftime("%a %d %b %Y %H:%M %Z")


bp.add_app_template_filter(local_time, "local_time")
