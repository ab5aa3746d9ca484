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
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any

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
from sender.campaign import campaign_dirs, load_campaign
from sender.errors import DripError
from sender.providers.smtp import email_of
from sender.render import html_size_problem, subscriber_context
from sender.sample import find_lesson
from sender.web import drip, security
from sender.web.preview_emails import (
    SCHEMES,
    SYSTEM_EMAILS,
    Sample,
    Shown,
    campaign_named,
    lesson_email,
    lesson_schedule,
    newsletter_email,
    newsletter_items,
    system_email,
)

bp = Blueprint("preview", __name__, url_prefix="/preview", template_folder="templates")

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
            campaigns.append({"campaign": campaign, "schedule": lesson_schedule(campaign, sample.timezone)})
        except (DripError, ValueError) as exc:  # one broken campaign must not hide the others
            errors.append(str(exc))
    newsletters, problem = newsletter_items()
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

    return _email_page(lambda sample: lesson_email(slug, key, sample), urls, slug=slug, key=key,
                       title=f"{slug}/{key}")


@bp.get("/system/<which>")
def system_page(which: str) -> tuple[str, int]:
    def urls(sample: Sample) -> dict[str, str]:
        q = sample.query()
        return {"email_url": url_for("preview.system_html", which=which, **q),
                "links_url": url_for("preview.system_links", which=which, **q),
                "spam_url": url_for("preview.system_spam", which=which, **q)}

    return _email_page(lambda sample: system_email(which, sample), urls,
                       title=f"{SYSTEM_EMAILS.get(which, which)} — preview")


@bp.get("/newsletters/<ref>")
def newsletter_page(ref: str) -> tuple[str, int]:
    def urls(sample: Sample) -> dict[str, str]:
        q = sample.query()
        return {"email_url": url_for("preview.newsletter_html", ref=ref, **q),
                "eml_url": url_for("preview.newsletter_eml", ref=ref, **q),
                "links_url": url_for("preview.newsletter_links", ref=ref, **q),
                "spam_url": url_for("preview.newsletter_spam", ref=ref, **q)}

    return _email_page(lambda sample: newsletter_email(ref, sample), urls, title=f"newsletter {ref}")


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
    return _html(lambda sample: lesson_email(slug, key, sample))


@bp.get("/<slug>/<key>/email.eml")
def email_eml(slug: str, key: str) -> Response:
    shown = _resolved(lambda sample: lesson_email(slug, key, sample))
    if isinstance(shown, Response):
        return shown
    assert shown.lesson is not None
    return _eml(lambda sample: shown, shown.lesson.key)


@bp.post("/<slug>/<key>/links")
def lesson_links(slug: str, key: str) -> Response:
    return _links(lambda sample: lesson_email(slug, key, sample))


@bp.post("/<slug>/<key>/spam")
def lesson_spam(slug: str, key: str) -> Response:
    return _spam(lambda sample: lesson_email(slug, key, sample))


@bp.get("/system/<which>/email.html")
def system_html(which: str) -> Response:
    return _html(lambda sample: system_email(which, sample))


@bp.post("/system/<which>/links")
def system_links(which: str) -> Response:
    return _links(lambda sample: system_email(which, sample))


@bp.post("/system/<which>/spam")
def system_spam(which: str) -> Response:
    return _spam(lambda sample: system_email(which, sample))


@bp.get("/newsletters/<ref>/email.html")
def newsletter_html(ref: str) -> Response:
    return _html(lambda sample: newsletter_email(ref, sample))


@bp.get("/newsletters/<ref>/email.eml")
def newsletter_eml(ref: str) -> Response:
    return _eml(lambda sample: newsletter_email(ref, sample), Path(ref).stem)


@bp.post("/newsletters/<ref>/links")
def newsletter_links(ref: str) -> Response:
    return _links(lambda sample: newsletter_email(ref, sample))


@bp.post("/newsletters/<ref>/spam")
def newsletter_spam(ref: str) -> Response:
    return _spam(lambda sample: newsletter_email(ref, sample))


@bp.post("/<slug>/<key>/send")
def send(slug: str, key: str) -> werkzeug.Response | tuple[str, int]:
    """A test of this lesson to one address, through the configured provider."""
    _check_token()
    from sender.sample import send_test

    sample = Sample.from_request()
    to = request.form.get("to", "").strip()
    engine = drip().engine
    try:
        campaign = campaign_named(slug)
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
