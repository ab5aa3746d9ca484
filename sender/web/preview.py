"""`drip preview`: every email as subscribers will get it, for staff, on 127.0.0.1.

    /preview/                              campaigns, lessons and their send timing; newsletters
    /preview/<slug>/<lesson>               phone and desktop side by side (light or dark), plain
                                           text, raw headers, inbox row, sample subscriber, its
                                           links, client support, spam score, test send
    /preview/<slug>/<lesson>/email.html    the bare HTML (what the iframes show; ?scheme=dark)
    /preview/<slug>/<lesson>/email.eml     the whole message, to open in a mail app
    /preview/<slug>/<lesson>/links         POST: each link's HTTP status (the "Check links" button)
    /preview/<slug>/<lesson>/spam          POST: SpamAssassin's score (the "Spam score" button)
    /preview/newsletters/<ref>[/…]         a newsletter: a scheduled one by its id, or a file of the
                                           newsletters folder by its name; the same pages as a lesson
    /preview/system/<name>[/…]             confirmation and "you are unsubscribed" emails
    /preview/fingerprint                   changes when a lesson, newsletter or template file is saved

Pages poll the fingerprint and reload, so a save shows within a second. Render
errors (template, MJML, undefined variable) are shown in the page with their file
and line, never as a stack trace. Everything shown is autoescaped; the email's own
HTML is served with a CSP that allows no script and loads in sandboxed iframes of
the preview's own pages (and nobody else's). The app answers only to its own address
(`sender.web.security.only_hosts`). A page load reaches no other server: links and the
spam score are checked when staff press their buttons (POSTs that need the page's token).

A lesson is rendered as it would go out for the sample subscriber enrolled now (its date
is the send time the timing section shows), so "Lesson 3 arrives Friday" in lesson 2 is
the day lesson 3 is shown to go.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypedDict

import sqlalchemy as sa
import werkzeug
import werkzeug.exceptions
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState

from sender import email_support, linkcheck, spamcheck
from sender.campaign import Campaign, CampaignError, Lesson, campaign_dirs, load_campaign, load_lesson
from sender.errors import DripError
from sender.messages import compose
from sender.newsletters import WALL_FORMAT, issue_key, issue_lesson
from sender.providers.base import OutgoingMessage
from sender.providers.smtp import email_of
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
# Seconds each link may take to answer; tests set a shorter one in app.config.
LINK_TIMEOUT_KEY = "DRIP_PREVIEW_LINK_TIMEOUT_S"
SCHEMES = ("light", "dark")
_TOKEN_KEY = "drip_preview_token"
security.page_policy(bp, PAGE_CSP)


@bp.record_once
def _make_token(state: BlueprintSetupState) -> None:
    # A form token only our own pages know: another site can't make the preview send mail.
    state.app.extensions.setdefault(_TOKEN_KEY, secrets.token_urlsafe(24))


def _token() -> str:
    token: str = current_app.extensions[_TOKEN_KEY]
    return token


def _check_token() -> None:
    if not hmac.compare_digest(request.form.get("token", ""), _token()):
        abort(403)


# -- sample subscriber and rendering ----------------------------------------------------


class SampleQuery(TypedDict):
    """A sample subscriber as URL query values (keyword arguments to `url_for`)."""

    name: str
    email: str
    timezone: str
    fields: str
    scheme: str


@dataclass
class Sample:
    name: str
    email: str
    timezone: str
    fields_text: str
    scheme: str = "light"  # the colour scheme the email frames show: light or dark

    @classmethod
    def from_request(cls) -> Sample:
        args = request.values
        default_zone = drip().engine.settings.default_timezone
        scheme = args.get("scheme", "light")
        return cls(name=args.get("name", "Alex Sample"), email=args.get("email", "alex@example.com"),
                   timezone=args.get("timezone") or default_zone, fields_text=args.get("fields", ""),
                   scheme=scheme if scheme in SCHEMES else "light")

    def query(self) -> SampleQuery:
        return {"name": self.name, "email": self.email, "timezone": self.timezone, "fields": self.fields_text,
                "scheme": self.scheme}

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


@dataclass
class Shown:
    """One email as the preview shows it, and what its page says around it."""

    message: OutgoingMessage
    preheader: Any = None  # the compiled preheader, filled per subscriber (None: none)
    campaign: Campaign | None = None
    lesson: Lesson | None = None
    timing: dict[str, Any] | None = None  # a row of `_schedule`: when this lesson goes out
    newsletter: dict[str, Any] | None = None  # a row of `_newsletter_items`
    extra: dict[str, Any] = field(default_factory=dict)


def _compose(campaign: Campaign, compiled: CompiledLesson, subscriber: Any, when: datetime,
             key: str) -> OutgoingMessage:
    engine = drip().engine
    return compose(settings=engine.settings, renderer=engine.renderer, compiled=compiled,
                   subscriber=subscriber, signing_key=engine.signing_key, now=when,
                   delivery_key=f"preview:{campaign.slug}:{key}:{subscriber.email}")


def _lesson(slug: str, key: str, sample: Sample) -> Shown:
    """The lesson rendered at the time it would go out for the sample subscriber enrolled
    now: its Date, and the day its "next lesson arrives" line names, match the timing shown."""
    engine = drip().engine
    campaign = _campaign(slug)
    lesson = find_lesson(campaign, key)
    subscriber = sample.subscriber()
    timing = next(r for r in _schedule(campaign, sample.timezone) if r["lesson"] is lesson)
    engine.renderer.templates_generation(force=True)  # this request must see the latest save
    if lesson.draft:  # rendered as it will be once published: its number, the lesson after it
        published = campaign.with_lesson(lesson)
        compiled = engine.renderer.compile(published, published.lesson(lesson.position) or lesson)
    else:
        compiled = engine.renderer.compile(campaign, lesson)
    message = _compose(campaign, compiled, subscriber, timing["due"], lesson.key)
    return Shown(message, compiled.preheader_slots, campaign, lesson, timing)


def _system_context(subscriber: Any) -> dict[str, Any]:
    base = drip().engine.settings.base_url.rstrip("/")
    return {"subscriber": subscriber_context(subscriber), "campaign_title": "Sample Course",
            "confirm_url": f"{base}/confirm/sample-token",
            "resubscribe_url": f"{base}/preferences/sample-token"}


def _system(name: str, sample: Sample) -> Shown:
    engine = drip().engine
    if name not in SYSTEM_EMAILS:
        abort(404)
    subscriber = sample.subscriber()
    engine.renderer.templates_generation(force=True)
    html, text = engine.renderer.render_system(name, _system_context(subscriber))
    return Shown(OutgoingMessage(to=subscriber.email, from_address=engine.settings.from_address,
                                 subject=SYSTEM_EMAILS[name], html=html, text=text,
                                 message_id=f"<preview-{name}@localhost>", date=engine.clock()))


# -- newsletters ----------------------------------------------------------------------------


def _newsletter_items() -> tuple[list[dict[str, Any]], str]:
    """Newsletters to preview, and a problem reading the store ("" if none): every one
    scheduled (`drip newsletter schedule FILE`, or the console), newest first, then the
    Markdown files of the newsletters folder not scheduled yet, by name."""
    engine = drip().engine
    items: list[dict[str, Any]] = []
    problem = ""
    try:
        rows = list(engine.store.newsletters())
    except sa.exc.SQLAlchemyError as exc:  # the preview still shows lessons without a store
        rows, problem = [], f"the store can't be read ({engine.store.url}): {str(exc).splitlines()[0]}"
    scheduled = set()
    for row in rows:
        source = Path(row.source)
        scheduled.add(source.resolve())
        where = "each subscriber's local time" if row.local else row.timezone
        items.append({"ref": str(row.id), "row": row, "title": row.title or source.name, "source": source,
                      "status": row.status, "when": f"{row.wall_time.replace('T', ' ')} {where}",
                      "repeat": row.cron or "", "segment": row.segment or "",
                      "missing": not source.is_file()})
    for path in _newsletter_files():
        if path.resolve() in scheduled:
            continue
        try:
            title = load_lesson(path, 1).subject
        except (CampaignError, OSError, ValueError) as exc:
            title = f"(can't be read: {exc})"
        items.append({"ref": path.name, "row": None, "title": title, "source": path,
                      "status": "not scheduled", "when": "", "repeat": "", "segment": "", "missing": False})
    return items, problem


def _newsletter_files() -> list[Path]:
    folder = drip().engine.settings.path("newsletters_dir")
    return sorted(p for p in folder.glob("*.md") if p.is_file()) if folder.is_dir() else []


def _newsletter(ref: str, sample: Sample) -> Shown:
    """A newsletter rendered as `drip tick` sends it (`sender.newsletters.issue_lesson`: the
    newsletter template, one greeting), dated when it reaches the sample subscriber."""
    engine = drip().engine
    items, problem = _newsletter_items()
    item = next((i for i in items if i["ref"] == ref), None)
    if item is None:
        if problem:
            raise DripError(problem)
        abort(404)
    source: Path = item["source"]
    row = item["row"]
    subscriber = sample.subscriber()
    if row is not None:
        key, slug = issue_key(row), row.slug
        wall = datetime.strptime(row.wall_time, WALL_FORMAT)
        when = wall.replace(tzinfo=zone(sample.timezone if row.local else row.timezone))
    else:  # as `schedule_newsletter` would name its campaign
        key, slug, when = "issue-preview", f"newsletter-{source.stem}", engine.clock()
    try:
        lesson = issue_lesson(source, key)
    except OSError as exc:
        raise DripError(f"{source}: {exc.strerror or exc}") from None
    campaign = Campaign(slug=slug, path=source.parent, title=lesson.subject, lessons=(lesson,))
    engine.renderer.templates_generation(force=True)
    compiled = engine.renderer.compile(campaign, lesson, "newsletter")
    message = _compose(campaign, compiled, subscriber, when, key)
    return Shown(message, compiled.preheader_slots, newsletter=item,
                 extra={"sends_at": when.astimezone(zone(sample.timezone))})


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
    enrolled now: the projection the engine makes (`due_after`, and `Campaign.zone_of`,
    as `Campaign.next_lesson_at` does for the email's "next lesson arrives" day)."""
    engine = drip().engine
    tz = campaign.zone_of(SimpleNamespace(timezone=timezone), engine.settings)
    rows, previous = [], engine.clock()
    for lesson in campaign.all_lessons:
        timing = campaign.timing(lesson, engine.settings)
        due = due_after(previous, timing, tz, first=lesson.position == 1)
        rule = describe_timing(timing, lesson.position)
        rows.append({"lesson": lesson, "due": due, "local": due.astimezone(tz),
                     "rule": f"draft, not sent until published (then: {rule})" if lesson.draft else rule})
        if not lesson.draft:  # a draft's row says when it would go; the lessons after it don't wait
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
    newsletters, problem = _newsletter_items()
    if problem:
        errors.append(problem)
    return _page("preview_index.html", title="Preview", campaigns=campaigns, errors=errors,
                 sample=sample, system=SYSTEM_EMAILS, newsletters=newsletters,
                 newsletters_dir=drip().engine.settings.path("newsletters_dir"))


def _email_page(resolve: Callable[[Sample], Shown], urls: Callable[[Sample], dict[str, str]],
                **context: Any) -> tuple[str, int]:
    """The page of one email; `urls(sample)`: its email.html, links and spam URLs (and eml)."""
    sample = Sample.from_request()
    context = {"sample": sample, "notice": request.args.get("sent", ""), "send_error": "",
               "token": _token(), **context}
    try:
        shown = resolve(sample)
    except (DripError, ValueError) as exc:
        return _page("preview_email.html", 500, error=str(exc), **context)
    context.update(campaign=shown.campaign, lesson=shown.lesson, timing=shown.timing,
                   newsletter=shown.newsletter, **shown.extra)
    if shown.lesson is not None and shown.newsletter is None:
        context["title"] = f"{shown.lesson.position}. {shown.lesson.subject} — preview"
    elif shown.newsletter is not None:
        context["title"] = f"{shown.message.subject} — newsletter preview"
    context.update(_shown(shown, sample))
    context.update(urls(sample))
    path = shown.lesson.path if shown.lesson is not None else \
        shown.newsletter["source"] if shown.newsletter is not None else Path(context["title"])
    context["size_problem"] = html_size_problem(path, shown.message.html) or ""
    return _page("preview_email.html", **context)


@bp.get("/<slug>/<key>")
def lesson_page(slug: str, key: str) -> tuple[str, int]:
    def urls(sample: Sample) -> dict[str, str]:
        q = sample.query()
        return {"email_url": url_for("preview.email_html", slug=slug, key=key, **q),
                "eml_url": url_for("preview.email_eml", slug=slug, key=key, **q),
                "links_url": url_for("preview.lesson_links", slug=slug, key=key, **q),
                "spam_url": url_for("preview.lesson_spam", slug=slug, key=key, **q)}

    return _email_page(lambda sample: _lesson(slug, key, sample), urls, slug=slug, key=key,
                       title=f"{slug}/{key}")


@bp.get("/system/<which>")
def system_page(which: str) -> tuple[str, int]:
    def urls(sample: Sample) -> dict[str, str]:
        q = sample.query()
        return {"email_url": url_for("preview.system_html", which=which, **q),
                "links_url": url_for("preview.system_links", which=which, **q),
                "spam_url": url_for("preview.system_spam", which=which, **q)}

    return _email_page(lambda sample: _system(which, sample), urls,
                       title=f"{SYSTEM_EMAILS.get(which, which)} — preview")


@bp.get("/newsletters/<ref>")
def newsletter_page(ref: str) -> tuple[str, int]:
    def urls(sample: Sample) -> dict[str, str]:
        q = sample.query()
        return {"email_url": url_for("preview.newsletter_html", ref=ref, **q),
                "eml_url": url_for("preview.newsletter_eml", ref=ref, **q),
                "links_url": url_for("preview.newsletter_links", ref=ref, **q),
                "spam_url": url_for("preview.newsletter_spam", ref=ref, **q)}

    return _email_page(lambda sample: _newsletter(ref, sample), urls, title=f"newsletter {ref}")


def _shown(shown: Shown, sample: Sample) -> dict[str, Any]:
    """What the page shows of a message: inbox row, text part, raw headers, links, client support."""
    message, preheader = shown.message, shown.preheader
    raw = message.as_email().as_string()
    headers = raw.split("\n\n", 1)[0]
    try:
        pre = preheader.render({"subscriber": subscriber_context(sample.subscriber())}) if preheader else ""
    except Exception:  # a placeholder the preheader can't fill here: show it as written
        pre = getattr(preheader, "source", "")
    from_name, from_email = parseaddr(message.from_address)
    return {"message": message, "headers": headers, "preheader": pre, "from_name": from_name or from_email,
            "html_kb": len(message.html.encode()) / 1024, "links": linkcheck.links(message.html),
            "support": email_support.report(message.html),
            "spamassassin": spamcheck.find_spamassassin() is not None}


# -- the email itself -------------------------------------------------------------------------

_STYLE_BLOCK = re.compile(r"(<style\b[^>]*>)(.*?)(</style\s*>)", re.IGNORECASE | re.DOTALL)
_SCHEME_QUERY = re.compile(r"\(\s*prefers-color-scheme\s*:\s*(light|dark)\s*\)", re.IGNORECASE)
# Media features true and false in any frame: a frame can't be told the reader's preference
# (Chromium gives an iframe the browser's), so the preference is written into the CSS.
_ALWAYS, _NEVER = "(min-width: 0px)", "(max-width: 0px)"


def force_color_scheme(html: str, scheme: str) -> str:
    """`html` as a client set to `scheme` shows it: each `(prefers-color-scheme: …)` in its
    style blocks made true or false, whatever the browser itself prefers."""
    if scheme not in SCHEMES:
        return html

    def media(query: re.Match[str]) -> str:
        return _ALWAYS if query[1].lower() == scheme else _NEVER

    def block(style: re.Match[str]) -> str:
        return style[1] + _SCHEME_QUERY.sub(media, style[2]) + style[3]

    html = _STYLE_BLOCK.sub(block, html)
    if scheme == "dark":  # what a client in dark mode does for an email that declares it supports it
        html = re.sub(r"</head\s*>", "<style>:root { color-scheme: dark; }</style></head>", html, count=1,
                      flags=re.IGNORECASE)
    return html


def _email_response(body: str, mimetype: str = "text/html") -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Security-Policy"] = EMAIL_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def _error_response(exc: Exception) -> Response:
    response = _email_response(f"Render error: {exc}\n", mimetype="text/plain")
    response.status_code = 500
    return response


def _resolved(resolve: Callable[[Sample], Shown]) -> Shown | Response:
    """The email for a frame, or its error as text the frame shows (never a page of ours)."""
    try:
        return resolve(Sample.from_request())
    except (DripError, ValueError) as exc:
        return _error_response(exc)
    except werkzeug.exceptions.NotFound:
        response = _email_response("Not found: no such email here.\n", mimetype="text/plain")
        response.status_code = 404
        return response


def _html(resolve: Callable[[Sample], Shown]) -> Response:
    shown = _resolved(resolve)
    if isinstance(shown, Response):
        return shown
    scheme = request.args.get("scheme", "")  # none given: the browser's own preference applies
    return _email_response(force_color_scheme(shown.message.html, scheme))


def _eml(resolve: Callable[[Sample], Shown], filename: str) -> Response:
    shown = _resolved(resolve)
    if isinstance(shown, Response):
        return shown
    response = _email_response(shown.message.as_email().as_string(), mimetype="message/rfc822")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.eml"'
    return response


def _links(resolve: Callable[[Sample], Shown]) -> Response:
    """Each http(s) link of the email and whether it answers (a POST: it reaches other servers)."""
    _check_token()
    try:
        shown = resolve(Sample.from_request())
    except (DripError, ValueError) as exc:
        return _json_error(str(exc))
    found = linkcheck.links(shown.message.html)
    timeout = float(current_app.config.get(LINK_TIMEOUT_KEY, linkcheck.TIMEOUT_S))
    statuses = {s.url: s for s in linkcheck.check([link.url for link in found if link.checkable],
                                                   timeout=timeout)}
    out = []
    for link in found:
        status = statuses.get(link.url) or linkcheck.check_one(link.url)  # not http(s): says so at once
        out.append({"url": link.url, "texts": list(link.texts), "ok": status.ok, "status": status.status,
                    "checked": link.checkable, "summary": status.summary})
    return _json({"links": out, "broken": sum(1 for o in out if o["checked"] and not o["ok"])})


def _spam(resolve: Callable[[Sample], Shown]) -> Response:
    """SpamAssassin's score of the whole message, as the SMTP backend would send it."""
    _check_token()
    if spamcheck.find_spamassassin() is None:
        return _json({"installed": False, "error": "SpamAssassin not installed"})
    try:
        shown = resolve(Sample.from_request())
        verdict = spamcheck.check(email_of(shown.message).as_bytes())
    except (DripError, ValueError, spamcheck.SpamCheckError) as exc:
        return _json_error(str(exc), installed=True)
    return _json({"installed": True, "score": verdict.score, "required": verdict.required,
                  "spam": verdict.is_spam,
                  "rules": [{"name": r.name, "points": r.points, "description": r.description}
                            for r in verdict.rules]})


def _json(data: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(data)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _json_error(message: str, **data: Any) -> Response:
    return _json({"error": message, **data}, 500)


@bp.get("/<slug>/<key>/email.html")
def email_html(slug: str, key: str) -> Response:
    return _html(lambda sample: _lesson(slug, key, sample))


@bp.get("/<slug>/<key>/email.eml")
def email_eml(slug: str, key: str) -> Response:
    shown = _resolved(lambda sample: _lesson(slug, key, sample))
    if isinstance(shown, Response):
        return shown
    assert shown.lesson is not None
    return _eml(lambda sample: shown, shown.lesson.key)


@bp.post("/<slug>/<key>/links")
def lesson_links(slug: str, key: str) -> Response:
    return _links(lambda sample: _lesson(slug, key, sample))


@bp.post("/<slug>/<key>/spam")
def lesson_spam(slug: str, key: str) -> Response:
    return _spam(lambda sample: _lesson(slug, key, sample))


@bp.get("/system/<which>/email.html")
def system_html(which: str) -> Response:
    return _html(lambda sample: _system(which, sample))


@bp.post("/system/<which>/links")
def system_links(which: str) -> Response:
    return _links(lambda sample: _system(which, sample))


@bp.post("/system/<which>/spam")
def system_spam(which: str) -> Response:
    return _spam(lambda sample: _system(which, sample))


@bp.get("/newsletters/<ref>/email.html")
def newsletter_html(ref: str) -> Response:
    return _html(lambda sample: _newsletter(ref, sample))


@bp.get("/newsletters/<ref>/email.eml")
def newsletter_eml(ref: str) -> Response:
    return _eml(lambda sample: _newsletter(ref, sample), Path(ref).stem)


@bp.post("/newsletters/<ref>/links")
def newsletter_links(ref: str) -> Response:
    return _links(lambda sample: _newsletter(ref, sample))


@bp.post("/newsletters/<ref>/spam")
def newsletter_spam(ref: str) -> Response:
    return _spam(lambda sample: _newsletter(ref, sample))


@bp.post("/<slug>/<key>/send")
def send(slug: str, key: str) -> werkzeug.Response | tuple[str, int]:
    """A test of this lesson to one address, through the configured provider."""
    _check_token()
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
    return [settings.path("campaigns_dir"), settings.path("templates_dir"), settings.path("newsletters_dir")]


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
