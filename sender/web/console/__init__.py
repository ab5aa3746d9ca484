"""The staff console at /console: campaigns and how each lesson does, the schedule
(and each lesson's send-time rules), newsletters, subscribers, deliverability.

One module per page: `campaigns`, `schedule`, `timing`, `newsletters`, `subscribers`,
`deliverability`, `segments` (the live segment count) and `imports` (CSV
imports in the background, with a progress bar); the big counts they share
are cached by `cache`. This module holds
the blueprint and what every page goes through: the login, the CSRF check, the
headers, the error pages and the page frame.

Every page needs a login (`sender.web.auth`) and every form a CSRF token. It does
what the CLI does and validates the same way (`drip enrol`, `pause`/`resume`,
`newsletter schedule`/`cancel`, `subscribers add`/`import`/`export`, `status`,
`schedule`), through the same functions. Pages are server-rendered Jinja
(autoescaped); the few scripts (the live segment count, the lesson preview, the
import's progress bar) run by the CSP nonce; charts
are inline SVG (`sender.web.charts`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import werkzeug
from flask import Blueprint, Flask, Response, current_app, g, redirect, render_template, request, url_for

from sender.campaign import SCHEDULE_KEYS, TIMING_KEYS
from sender.campaign_edit import set_front_matter, set_toml_schedule
from sender.errors import DripError
from sender.web import auth, drip, security
from sender.web.console.cache import Snapshots, warm_up

# The templates sit with the other pages' in sender/web/templates (the app's folder too).
# Its one script file (the import's progress bar) is in sender/web/static, at /console/static/.
bp = Blueprint("console", __name__, url_prefix="/console",
               template_folder=str(Path(__file__).resolve().parent.parent / "templates"),
               static_folder=str(Path(__file__).resolve().parent.parent / "static"))

IMPORT_LIMIT = 200 * 1024 * 1024  # a CSV of a few hundred thousand people; the app's default is 5 MB
NAV = (("console.campaigns", "Campaigns"), ("console.schedule", "Schedule"),
       ("console.newsletters", "Newsletters"), ("console.subscribers", "Subscribers"),
       ("console.deliverability", "Deliverability"), ("console.sending", "Sending"))
OPEN_ENDPOINTS = {"console.login"}  # everything else needs a login
CSP = ("default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# The newsletter preview shows the email as subscribers get it, remote images included;
# it is a sandboxed srcdoc frame, and still no script runs.
PREVIEW_CSP = CSP.replace("img-src 'self' data:", "img-src * data:")


def init_app(app: Flask) -> None:
    """Mount the console and its login on the app (create_app calls this)."""
    engine = app.extensions["drip"].engine
    secret = auth.session_key(engine.settings, engine.signing_key)
    auth.init_app(app, secret_key=secret, https=engine.settings.base_url.startswith("https://"))
    app.config.setdefault("CONSOLE_STATS_MAX_AGE", 60.0)
    app.extensions["drip_console"] = Snapshots()
    app.register_blueprint(bp)


# -- the page frame and errors -------------------------------------------------------------------


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A console page: `template` rendered in the frame (brand colour, navigation, user)."""
    settings = drip().engine.settings
    return render_template(template, brand_colour=settings.brand_colour, nav=NAV, user=g.get("user"),
                           **context), status


def safe_next(target: str | None) -> str:
    """Only a path inside the console: a login link must not send anyone elsewhere."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/console/") \
                and "\\" not in target:
            return target
    return url_for("console.campaigns")


class NotFound(DripError):
    """What a page's URL names is not there (a 404 page, not a 400)."""


@bp.errorhandler(DripError)
def _drip_error(exc: DripError) -> tuple[str, int]:
    return page("console_error.html", 400, title="That didn't work", message=str(exc))


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound) -> tuple[str, int]:
    return page("console_error.html", 404, title="Not found", message=str(exc))


@bp.app_template_filter("pct")
def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


@bp.app_template_filter("when")
def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- login, CSRF and headers -----------------------------------------------------------------


def _secret() -> str:
    engine = drip().engine
    return auth.session_key(engine.settings, engine.signing_key)


@bp.before_request
def _guard() -> werkzeug.Response | tuple[str, int] | None:
    settings = drip().engine.settings
    g.user = auth.current_user(settings, _secret())
    if g.user is None and request.endpoint not in OPEN_ENDPOINTS:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("console.login", next=target))
    if request.endpoint == "console.subscribers_import":
        request.max_content_length = IMPORT_LIMIT  # before the CSRF check reads the form
    if request.method not in ("GET", "HEAD") and not auth.csrf_ok(request):
        return page("console_error.html", 400, title="This form has expired",
                    message="Reload the page and try again (the form's security token was missing "
                            "or out of date).")
    return None


security.page_policy(bp, CSP)  # the app-wide hook sends it, with nosniff and Referrer-Policy


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # pages hold personal data
    return response


def _client() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login() -> werkzeug.Response | tuple[str, int]:
    settings = drip().engine.settings
    throttle: auth.LoginThrottle = current_app.extensions["drip_login_throttle"]
    configured = bool(settings.admin_password_hash)
    next_url = request.values.get("next", "")
    if request.method == "GET":
        if g.user:
            return redirect(safe_next(next_url))
        warm_up()
        return page("console_login.html", title="Log in", configured=configured, next_url=next_url)
    user = request.form.get("username", "").strip()
    wait = throttle.wait(_client(), user)
    if wait > 0:
        text, _ = page("console_login.html", title="Log in", configured=configured, next_url=next_url,
                       username=user, error=f"Too many wrong passwords: try again in {int(wait) + 1} s.")
        return Response(text, 429, headers={"Retry-After": str(int(wait) + 1)})
    if auth.check_login(settings, user, request.form.get("password", "")):
        throttle.succeeded(_client(), user)
        auth.log_in(settings.admin_user, settings, _secret())
        return redirect(safe_next(next_url))
    locked = throttle.failed(_client(), user)
    error = "Wrong user name or password." + (f" Locked for {int(locked)} s." if locked else "")
    if not configured:
        error = ("The console has no password yet: set DRIP_ADMIN_PASSWORD_HASH "
                 "(see drip admin hash-password).")
    return page("console_login.html", 401, title="Log in", configured=configured, next_url=next_url,
                username=user, error=error)


@bp.post("/logout")
def logout() -> werkzeug.Response:
    auth.log_out()
    return redirect(url_for("console.login"))


# The pages: each module adds its routes to `bp` (after it and the helpers above exist).
from sender.web.console import (  # noqa: E402
    campaigns,
    deliverability,
    imports,
    lessons,
    newsletters,
    schedule,
    segments,
    sending,
    subscribers,
    timing,
)

# Also re-exported: the timing keys and their editor (sender.campaign, sender.campaign_edit), which
# the send-times page uses, and the cache, for whoever looks for them under the console's name.
__all__ = ["SCHEDULE_KEYS", "TIMING_KEYS", "Snapshots", "bp", "campaigns", "deliverability", "imports",
           "init_app", "lessons", "newsletters", "schedule", "segments", "sending", "set_front_matter",
           "set_toml_schedule", "subscribers", "timing"]
