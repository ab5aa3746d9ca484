"""The staff console at /console: campaigns and how each lesson does, the schedule
(and each lesson's send-time rules), newsletters, subscribers, deliverability.

Every page needs a login (`sender.web.auth`) and every form a CSRF token. It does
what the CLI does and validates the same way (`drip enrol`, `pause`/`resume`,
`newsletter schedule`/`cancel`, `subscribers add`/`import`/`export`, `status`,
`schedule`), through the same functions. Pages are server-rendered Jinja
(autoescaped) with no script; charts are inline SVG (`sender.web.charts`).

Counts over the big tables (deliveries and events per lesson) take one scan each;
they are kept for a minute (`Snapshots`) and refreshed in the background while
the stale figures are shown, which is what keeps every page quick at a million
deliveries. Everything else is read fresh per request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import frontmatter
import werkzeug
import yaml
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from sender import optin
from sender.campaign import (
    SCHEDULE_KEYS,
    SETTINGS_FILE,
    TIMING_KEYS,
    WHOLE_NUMBER_KEYS,
    Campaign,
    CampaignError,
    Lesson,
    campaign_dirs,
    load_campaign,
)
from sender.errors import DripError
from sender.lesson_fields import before_enrolling
from sender.naming import slugify
from sender.schedule import due_after, parse_weekdays, parse_window, zone
from sender.store import console as queries
from sender.store.reports import STALE_AFTER
from sender.subscribers import (
    KNOWN_COLUMNS,
    STATUSES,
    InvalidSubscriber,
    add_subscriber,
    export_csv,
    import_csv,
)
from sender.web import auth, charts, drip, security

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
log = logging.getLogger(__name__)

SCHEDULE_DAYS = 30
IMPORT_LIMIT = 200 * 1024 * 1024  # a CSV of a few hundred thousand people; the app's default is 5 MB
# Gmail/Yahoo bulk-sender rules: spam complaints must stay under 0.3% (Gmail asks
# for under 0.1%). Bounces have no published mailbox-provider limit; 2% is the
# common guidance above which providers start to look hard at a sender.
COMPLAINT_LIMIT, COMPLAINT_AIM = 0.003, 0.001
BOUNCE_LIMIT = 0.02
NAV = (("console.campaigns", "Campaigns"), ("console.schedule", "Schedule"),
       ("console.newsletters", "Newsletters"), ("console.subscribers", "Subscribers"),
       ("console.deliverability", "Deliverability"))
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


# -- cached aggregates ---------------------------------------------------------------------


class Snapshots:
    """Results of the expensive aggregate queries, each recomputed at most every
    CONSOLE_STATS_MAX_AGE seconds. A stale value is served while one background
    thread refreshes it; a request that finds no value waits for the computation
    already under way rather than starting a second one. max_age 0 (tests): always
    fresh, computed in the request, no thread."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[float, Any]] = {}
        self._running: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, name: str, compute: Callable[[], Any], max_age: float) -> tuple[Any, float]:
        """(value, unix time it was computed)."""
        if max_age <= 0:
            return compute(), time.time()
        with self._lock:
            cached = self._values.get(name)
            if cached and time.time() - cached[0] < max_age:
                return cached[1], cached[0]
            running = self._running.get(name)
            if running is None:
                running = self._start(name, compute)
        if cached:
            return cached[1], cached[0]  # stale but instant; the thread brings the next one
        running.wait()
        with self._lock:
            if name in self._values:
                return self._values[name][1], self._values[name][0]
        return compute(), time.time()  # the background computation failed: try here, and say why

    def warm(self, name: str, compute: Callable[[], Any]) -> None:
        """Start computing a value nobody has asked for yet, in the background."""
        with self._lock:
            if name not in self._values and name not in self._running:
                self._start(name, compute)

    def _start(self, name: str, compute: Callable[[], Any]) -> threading.Event:
        done = self._running[name] = threading.Event()  # (under self._lock)
        threading.Thread(target=self._refresh, args=(name, compute, done), daemon=True,
                         name=f"console-{name}").start()
        return done

    def _refresh(self, name: str, compute: Callable[[], Any], done: threading.Event) -> None:
        try:
            started = time.time()
            value = compute()
            with self._lock:
                self._values[name] = (started, value)
        except Exception:  # a failed refresh keeps the old figures; the next request tries again
            log.exception("console: refreshing %s failed", name)
        finally:
            with self._lock:
                self._running.pop(name, None)
            done.set()

    def expire(self, *names: str) -> None:
        """Mark values out of date: the next request gets them refreshed (and, meanwhile,
        the old figures rather than a wait)."""
        with self._lock:
            for name in names:
                if name in self._values:
                    self._values[name] = (0.0, self._values[name][1])

    def forget(self, *names: str) -> None:
        """Drop values outright: the next request computes them (for cheap ones that an
        action of this very user just changed, like the schedule after enrolling)."""
        with self._lock:
            for name in names:
                self._values.pop(name, None)


def _computations() -> dict[str, Callable[[], Any]]:
    """The cached figures and how to compute each, outside any request (the background
    thread has no app context: the closures hold what they need)."""
    engine = drip().engine
    store = engine.store

    def upcoming() -> list[queries.DueGroup]:
        today = engine.clock().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return queries.upcoming_lessons(store, today + timedelta(days=SCHEDULE_DAYS))

    return {"deliveries": lambda: queries.delivery_counts(store),
            "events": lambda: queries.event_counts(store),
            "upcoming": upcoming}


def _snapshot(name: str) -> tuple[Any, float]:
    snapshots: Snapshots = current_app.extensions["drip_console"]
    max_age = float(current_app.config["CONSOLE_STATS_MAX_AGE"])
    if name.startswith("audience:"):
        store, segment = drip().engine.store, name.partition(":")[2] or None
        return snapshots.get(name, lambda: queries.audience_size(store, segment), max_age)
    return snapshots.get(name, _computations()[name], max_age)


def _forget(*names: str) -> None:
    current_app.extensions["drip_console"].forget(*names)


def _warm_up() -> None:
    """Start the big counts while someone types their password, so the first page
    after login doesn't wait for them (seconds, at a million deliveries)."""
    if float(current_app.config["CONSOLE_STATS_MAX_AGE"]) > 0:
        snapshots: Snapshots = current_app.extensions["drip_console"]
        for name, compute in _computations().items():
            if name != "upcoming":  # cheap enough to compute when asked
                snapshots.warm(name, compute)


def _counts() -> tuple[dict[Any, dict[str, int]], dict[Any, dict[str, int]], float]:
    """(delivery counts, event counts, when the older of the two was computed)."""
    delivered, t1 = _snapshot("deliveries")
    happened, t2 = _snapshot("events")
    return delivered, happened, min(t1, t2)


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
        return _page("console_error.html", 400, title="This form has expired",
                     message="Reload the page and try again (the form's security token was missing "
                             "or out of date).")
    return None


security.page_policy(bp, CSP)  # the app-wide hook sends it, with nosniff and Referrer-Policy


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # pages hold personal data
    return response


@bp.errorhandler(DripError)
def _drip_error(exc: DripError) -> tuple[str, int]:
    return _page("console_error.html", 400, title="That didn't work", message=str(exc))


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    settings = drip().engine.settings
    return render_template(template, brand_colour=settings.brand_colour, nav=NAV, user=g.get("user"),
                           **context), status


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: a login link must not send anyone elsewhere."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/console/") \
                and "\\" not in target:
            return target
    return url_for("console.campaigns")


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
            return redirect(_safe_next(next_url))
        _warm_up()
        return _page("console_login.html", title="Log in", configured=configured, next_url=next_url)
    user = request.form.get("username", "").strip()
    wait = throttle.wait(_client(), user)
    if wait > 0:
        page, _ = _page("console_login.html", title="Log in", configured=configured, next_url=next_url,
                        username=user, error=f"Too many wrong passwords: try again in {int(wait) + 1} s.")
        return Response(page, 429, headers={"Retry-After": str(int(wait) + 1)})
    if auth.check_login(settings, user, request.form.get("password", "")):
        throttle.succeeded(_client(), user)
        auth.log_in(settings.admin_user, settings, _secret())
        return redirect(_safe_next(next_url))
    locked = throttle.failed(_client(), user)
    error = "Wrong user name or password." + (f" Locked for {int(locked)} s." if locked else "")
    if not configured:
        error = ("The console has no password yet: set DRIP_ADMIN_PASSWORD_HASH "
                 "(see drip admin hash-password).")
    return _page("console_login.html", 401, title="Log in", configured=configured, next_url=next_url,
                 username=user, error=error)


@bp.post("/logout")
def logout() -> werkzeug.Response:
    auth.log_out()
    return redirect(url_for("console.login"))


# -- campaigns -------------------------------------------------------------------------------


def _folders() -> dict[str, Path]:
    return {p.name: p for p in campaign_dirs(drip().engine.settings.path("campaigns_dir"))}


def _campaign(slug: str) -> Campaign:
    """A campaign folder by slug, read now (the files are the source of truth); only
    folder names that exist, so a slug can't climb out of campaigns_dir."""
    folder = _folders().get(slug)
    if folder is None:
        raise CampaignError(f"no campaign folder {slug!r} in {drip().engine.settings.campaigns_dir}/")
    campaign = load_campaign(folder)
    for lesson in campaign.lessons:
        drip().engine.timing(campaign, lesson)  # a bad rule fails here, naming its file, as the CLI does
    return campaign


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _summary(enrolled: dict[str, int]) -> dict[str, Any]:
    total = sum(enrolled.values())
    return {"enrolled": total, "active": enrolled.get("active", 0), "paused": enrolled.get("paused", 0),
            "completed": enrolled.get("completed", 0), "stopped": enrolled.get("stopped", 0),
            "completion": _rate(enrolled.get("completed", 0), total)}


@bp.get("/")
def campaigns() -> tuple[str, int]:
    store = drip().engine.store
    rows = {r.slug: r for r in store.campaigns()}
    counts = queries.enrolment_counts(store)
    listed = []
    for slug, folder in _folders().items():
        error = title = None
        try:
            title = load_campaign(folder).title
        except DripError as exc:  # one broken folder must not hide the others
            error = str(exc)
        row = rows.get(slug)
        listed.append({"slug": slug, "title": title or slug, "error": error, "row": row, "folder": True,
                       **_summary(counts.get(row.id, {}) if row else {})})
    orphans = [{"slug": r.slug, "title": r.title or r.slug, "error": "campaign folder is missing", "row": r,
                "folder": False,
                **_summary(counts.get(r.id, {}))}
               for r in rows.values() if r.kind == "course" and r.slug not in _folders()]
    return _page("console_campaigns.html", title="Campaigns", campaigns=listed + orphans)


def _lesson_numbers(campaign_id: int | None, lessons: list[Lesson]) -> tuple[list[dict[str, Any]], float]:
    """Per lesson (and per lesson key no longer in the folder): the funnel figures."""
    delivered, happened, as_of = _counts()
    keys = [lesson.key for lesson in lessons]
    if campaign_id is not None:
        keys += sorted({k for c, k in delivered if c == campaign_id} - set(keys))
    rows = []
    for key in keys:
        by_status = delivered.get((campaign_id, key), {})
        by_event = happened.get((campaign_id, key), {})
        sent = by_status.get("sent", 0)
        row: dict[str, Any] = {
            "key": key, "label": key, "removed": key not in {lesson.key for lesson in lessons},
            "sent": sent, "failed": by_status.get("failed", 0), "sending": by_status.get("sending", 0),
            "queued": by_status.get("queued", 0), "held": by_status.get("held", 0),
            **{kind: by_event.get(kind, 0) for kind in queries.FUNNEL_EVENTS}}
        row["rates"] = {kind: _rate(row[kind], sent) for kind in queries.FUNNEL_EVENTS}
        rows.append(row)
    subjects = {lesson.key: lesson.subject for lesson in lessons}
    for i, row in enumerate(rows, start=1):
        row["label"] = f"{i}. {subjects[row['key']]}" if not row["removed"] else f"(removed) {row['key']}"
        row["short"] = row["label"] if len(row["label"]) <= 26 else row["label"][:25] + "…"
    return rows, as_of


@bp.get("/campaigns/<slug>")
def campaign(slug: str) -> tuple[str, int]:
    engine = drip().engine
    loaded = _campaign(slug)
    row = engine.store.campaign_by_slug(slug)
    summary = _summary(queries.enrolment_counts(engine.store, row.id).get(row.id, {}) if row else {})
    lessons, as_of = _lesson_numbers(row.id if row else None, list(loaded.lessons))
    chart = charts.funnel(loaded.title, [r["short"] for r in lessons], lessons)
    preview = "preview" in current_app.blueprints
    return _page("console_campaign.html", title=loaded.title, campaign=loaded, row=row, summary=summary,
                 lessons=lessons, chart=chart, as_of=datetime.fromtimestamp(as_of, UTC), preview=preview,
                 max_age=current_app.config["CONSOLE_STATS_MAX_AGE"])


@bp.post("/campaigns/<slug>/start")
def start(slug: str) -> werkzeug.Response:
    """Enrol all active subscribers, or those with a tag (`drip enrol`)."""
    engine = drip().engine
    _campaign(slug)
    warnings = before_enrolling(engine.store, engine.settings.path("campaigns_dir") / slug)
    tag = request.form.get("tag", "").strip() if request.form.get("audience") == "tag" else ""
    if request.form.get("audience") == "tag" and not tag:
        raise DripError("say which tag to enrol, or choose all active subscribers")
    if tag:
        campaign_id, loaded = engine.load(slug)
        first, now = loaded.lessons[0], engine.clock()
        timing = engine.timing(loaded, first)
        # The engine's enrolment row (see Engine._enrolment_row), for a segment at once.
        new = engine.store.enrol([
            {"subscriber_id": s.id, "campaign_id": campaign_id, "enrolled_at": now,
             "next_due_at": due_after(now, timing, engine.zone_of(s, loaded), first=True)}
            for s in queries.active_subscribers_with_tag(engine.store, tag)])
    else:
        new = engine.enrol(slug)
    _forget("upcoming")
    row = engine.store.campaign_by_slug(slug)
    paused = " The campaign is paused: resume it to send." if row and row.status == "paused" else ""
    flash(f"Enrolled {new:,} new subscriber(s){f' tagged {tag}' if tag else ''} in {slug}.{paused}")
    for warning in warnings:
        flash(f"Note: {warning}")
    return redirect(url_for("console.campaign", slug=slug))


def _set_campaign(slug: str, paused: bool) -> werkzeug.Response:
    """`drip pause` / `drip resume` of a whole campaign."""
    store = drip().engine.store
    if not store.set_campaign_status(slug, "paused" if paused else "active",
                                     f"paused by {g.user} in the console" if paused else None):
        raise DripError(f"no campaign {slug!r} in the store (start it first)")
    _forget("upcoming")
    flash(f"{'Paused' if paused else 'Resumed'} {slug}."
          + ("" if paused else " Late lessons go out in each subscriber's next send window."))
    back = request.form.get("back")
    return redirect(_safe_next(back) if back else url_for("console.campaign", slug=slug))


@bp.post("/campaigns/<slug>/retry")
def retry(slug: str) -> werkzeug.Response:
    """`drip retry CAMPAIGN[/LESSON]`: queue failed deliveries again."""
    engine = drip().engine
    _campaign(slug)
    lesson = request.form.get("lesson", "").strip() or None
    n = queries.retry_failed(engine.store, slug, engine.clock(), by=g.user, lesson=lesson)
    _forget("upcoming")
    flash(f"Queued {n:,} failed deliver{'y' if n == 1 else 'ies'} of {slug}{f'/{lesson}' if lesson else ''} "
          "again; suppressed and unsubscribed addresses are left alone.")
    return redirect(url_for("console.campaign", slug=slug))


@bp.post("/campaigns/<slug>/pause")
def pause(slug: str) -> werkzeug.Response:
    return _set_campaign(slug, paused=True)


@bp.post("/campaigns/<slug>/resume")
def resume(slug: str) -> werkzeug.Response:
    return _set_campaign(slug, paused=False)


# -- schedule -----------------------------------------------------------------------------------


def _day(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d")


@bp.get("/schedule")
def schedule() -> tuple[str, int]:
    """Upcoming sends per UTC day for the next 30 days: each enrolment's next lesson
    as the store has it, later lessons projected with the campaign's timing rules,
    and scheduled newsletters with the audience they would reach today."""
    from sender.newsletters import WALL_FORMAT, NewsletterError, next_wall_time

    engine = drip().engine
    now = engine.clock()
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [_day(today + timedelta(days=i)) for i in range(SCHEDULE_DAYS)]
    end = today + timedelta(days=SCHEDULE_DAYS)
    slugs = {r.id: r.slug for r in engine.store.campaigns()}
    series: dict[str, dict[str, int]] = {}
    problems: list[str] = []
    loaded: dict[int, Campaign | None] = {}
    groups, as_of = _snapshot("upcoming")
    for group in groups:
        if group.day >= _day(end):
            continue  # cached before midnight: one more day than this window shows
        slug = slugs.get(group.campaign_id, "?")
        if group.campaign_id not in loaded:
            try:
                loaded[group.campaign_id] = _campaign(slug)
            except DripError as exc:
                loaded[group.campaign_id] = None
                problems.append(str(exc))
        first = max(group.first_due, now)
        series.setdefault(f"{slug}: next lesson", {}).setdefault(max(group.day, days[0]), 0)
        series[f"{slug}: next lesson"][max(group.day, days[0])] += group.count
        course = loaded[group.campaign_id]
        if course is None:
            continue
        tz = zone(course.schedule.get("timezone") or engine.settings.default_timezone)
        instant = first
        for lesson in course.lessons[group.position:]:  # the lessons after the next one
            instant = due_after(instant, engine.timing(course, lesson), tz, first=False)
            if instant >= end:
                break
            bucket = series.setdefault(f"{slug}: later lessons (projected)", {})
            bucket[_day(instant)] = bucket.get(_day(instant), 0) + group.count
    audiences: dict[str | None, int] = {}
    newsletters = []
    for n in queries.scheduled_newsletters(engine.store):
        if n.segment not in audiences:
            audiences[n.segment] = _snapshot(f"audience:{n.segment or ''}")[0]
        walls: list[datetime] = []
        wall = datetime.strptime(n.wall_time, WALL_FORMAT)
        while wall < end.replace(tzinfo=None) and len(walls) < SCHEDULE_DAYS:
            walls.append(wall)
            if not n.cron:
                break
            try:
                wall = next_wall_time(n.cron, n.timezone, wall)
            except NewsletterError:
                break
        name = f"newsletter {n.id}: {n.title or n.slug}"
        for wall in walls:
            day = max(wall.strftime("%Y-%m-%d"), days[0])
            series.setdefault(name, {})[day] = series.get(name, {}).get(day, 0) + audiences[n.segment]
        newsletters.append({"row": n, "audience": audiences[n.segment], "walls": walls,
                            "paused": n.campaign_status != "active"})
    names = sorted(series)
    table = [{"day": d, "values": [series[s].get(d, 0) for s in names],
              "total": sum(series[s].get(d, 0) for s in names)} for d in days]
    chart = charts.per_day("Upcoming sends per day (UTC)", [d[5:] for d in days],
                           [(s, [series[s].get(d, 0) for d in days]) for s in names])
    paused = queries.paused_campaigns(engine.store)
    return _page("console_schedule.html", title="Schedule", chart=chart, names=names, table=table,
                 newsletters=newsletters, paused=paused, problems=problems, folders=sorted(_folders()),
                 now=now, as_of=datetime.fromtimestamp(as_of, UTC))


# -- send-time rules: the lesson files and campaign.toml, edited in place ----------------------
# The keys edited are the ones `load_campaign` accepts (TIMING_KEYS, SCHEDULE_KEYS), imported from it.

def _files_version(campaign: Campaign) -> str:
    """A hash of every file the form edits, to notice someone else's save in between."""
    digest = hashlib.sha256()
    for path in [campaign.path / SETTINGS_FILE, *(lesson.path for lesson in campaign.lessons)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _parse_rules(prefix: str, fields: tuple[str, ...], where: str) -> dict[str, Any]:
    """The form's rules for one file: blank means "inherit" (the key is removed)."""
    rules: dict[str, Any] = {}
    for name in fields:
        raw = request.form.get(f"{prefix}{name}", "").strip()
        if not raw:
            continue
        if name in WHOLE_NUMBER_KEYS:
            if not raw.isdigit():
                unit = "days" if name == "delay" else "hours"
                raise CampaignError(f"{where}: '{name}' must be a whole number of {unit} >= 0, got {raw!r}")
            rules[name] = int(raw)
        elif name == "window":
            parse_window(raw)  # ValueError names the problem; the caller adds the file
            rules[name] = raw
        elif name == "weekdays":
            parse_weekdays(raw)
            rules[name] = raw
        elif name == "timezone":
            zone(raw)
            rules[name] = raw
    return rules


def _yaml_scalar(value: Any) -> str:
    return str(value) if isinstance(value, int) else json.dumps(value)  # JSON strings are YAML strings


def set_front_matter(text: str, rules: dict[str, Any], keys: tuple[str, ...]) -> str:
    """`text` with the front matter keys in `keys` set to `rules` (missing: removed),
    editing only those lines: comments, key order, quoting and the body stay as they are."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        head = "".join(f"{k}: {_yaml_scalar(rules[k])}{newline}" for k in keys if k in rules)
        return f"---{newline}{head}---{newline}{text}" if head else text
    end = next((i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---"), None)
    if end is None:
        raise CampaignError("front matter has no closing '---' line")
    block = lines[1:end]
    for key in keys:
        pattern = re.compile(rf"^{re.escape(key)}\s*:")
        start = next((i for i, line in enumerate(block) if pattern.match(line)), None)
        new = [f"{key}: {_yaml_scalar(rules[key])}{newline}"] if key in rules else []
        if start is None:
            block += new
            continue
        stop = start + 1  # a value may run on over indented or "- item" lines
        while stop < len(block) and (block[stop][:1] in (" ", "\t") or block[stop].startswith("-")):
            stop += 1
        block[start:stop] = new
    return "".join([lines[0], *block, *lines[end:]])


def set_toml_schedule(text: str, rules: dict[str, Any]) -> str:
    """`text` (campaign.toml) with its [schedule] table holding exactly `rules`' timing
    keys, other lines untouched; the table is added at the end if there is none."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    header = next((i for i, line in enumerate(lines) if re.match(r"^\s*\[\s*schedule\s*\]\s*(#.*)?$", line)),
                  None)
    if header is None:
        if re.search(r"^\s*schedule\s*[.=]", text, re.M) or re.search(r"^\s*\[\s*schedule\.", text, re.M):
            raise CampaignError("[schedule] is written in a form this editor doesn't change "
                                "(inline table or dotted keys): edit campaign.toml by hand")
        if not rules:
            return text
        body = "".join(f"{k} = {json.dumps(v)}{newline}" for k, v in rules.items())
        sep = "" if not text or text.endswith(("\n", "\r\n")) else newline
        return f"{text}{sep}{newline}[schedule]{newline}{body}"
    stop = next((i for i in range(header + 1, len(lines)) if re.match(r"^\s*\[", lines[i])), len(lines))
    section = lines[header + 1:stop]
    for key in SCHEDULE_KEYS:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        at = next((i for i, line in enumerate(section) if pattern.match(line)), None)
        new = [f"{key} = {json.dumps(rules[key])}{newline}"] if key in rules else []
        if at is None:
            # after the table's last key line, before trailing blank lines and comments
            last = max((i for i, line in enumerate(section) if re.match(r"^\s*[A-Za-z_]", line)), default=-1)
            section[last + 1:last + 1] = new
        else:
            section[at:at + 1] = new
    return "".join([*lines[:header + 1], *section, *lines[stop:]])


def _write(path: Path, text: str) -> None:
    """Replace a file at once: an editor or a tick never reads half of it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _timing_rows(campaign: Campaign) -> list[dict[str, Any]]:
    from sender.web.preview import describe_timing

    engine = drip().engine
    return [{"lesson": lesson, "values": {k: _shown(lesson.timing.get(k)) for k in TIMING_KEYS},
             "rule": describe_timing(engine.timing(campaign, lesson), lesson.position)}
            for lesson in campaign.lessons]


@bp.route("/campaigns/<slug>/timing", methods=["GET", "POST"])
def timing(slug: str) -> werkzeug.Response | tuple[str, int]:
    """Each lesson's send-time rules (front matter) and the campaign's ([schedule] in
    campaign.toml), validated as `drip` validates them, written back in place."""
    campaign = _campaign(slug)
    context: dict[str, Any] = {
        "title": f"Send times: {campaign.title}", "campaign": campaign,
        "version": _files_version(campaign),
        "defaults": {k: _shown(campaign.schedule.get(k)) for k in SCHEDULE_KEYS}}
    if request.method == "GET":
        return _page("console_timing.html", rows=_timing_rows(campaign), **context)
    try:
        if request.form.get("version") != context["version"]:
            raise CampaignError("the campaign's files changed since this form was opened; "
                                "reload to see the latest and make your change again")
        saved = _save_timing(campaign)
    except (CampaignError, ValueError) as exc:
        rows = _timing_rows(campaign)
        for row in rows:  # keep what was typed, to fix and resend
            row["values"] = {k: request.form.get(f"{row['lesson'].key}:{k}", "") for k in TIMING_KEYS}
        context["defaults"] = {k: request.form.get(f"campaign:{k}", "") for k in SCHEDULE_KEYS}
        return _page("console_timing.html", 400, rows=rows, error=str(exc), **context)
    flash(f"Saved the send times of {slug}: {saved}. Lessons already due keep their time; "
          "the rules apply from each subscriber's next lesson on.")
    return redirect(url_for("console.timing", slug=slug))


def _save_timing(campaign: Campaign) -> str:
    engine = drip().engine
    toml_path = campaign.path / SETTINGS_FILE
    try:
        schedule = _parse_rules("campaign:", SCHEDULE_KEYS, str(toml_path))
    except ValueError as exc:
        raise CampaignError(f"{toml_path}: [schedule]: {exc}") from None
    lessons = []
    for lesson in campaign.lessons:
        try:
            rules = _parse_rules(f"{lesson.key}:", TIMING_KEYS, str(lesson.path))
        except ValueError as exc:
            raise CampaignError(f"{lesson.path}: timing: {exc}") from None
        lessons.append(dataclasses.replace(lesson, timing=rules, delay=rules.get("delay")))
    # Check the whole campaign as it will be, the way the engine reads it, before any file changes.
    other = {k: v for k, v in campaign.schedule.items() if k not in SCHEDULE_KEYS}
    settings = {**campaign.settings, "schedule": {**other, **schedule}}
    future = dataclasses.replace(campaign, lessons=tuple(lessons), settings=settings)
    for lesson in future.lessons:
        engine.timing(future, lesson)
    writes: dict[Path, str] = {}
    old_toml = toml_path.read_text(encoding="utf-8")
    new_toml = set_toml_schedule(old_toml, schedule)
    if tomllib.loads(new_toml).get("schedule", {}) != ({**other, **schedule} if (schedule or other) else {}):
        raise CampaignError(f"{toml_path}: could not update [schedule] safely; edit the file by hand")
    if new_toml != old_toml:
        writes[toml_path] = new_toml
    for old, new in zip(campaign.lessons, future.lessons, strict=True):
        text = old.path.read_text(encoding="utf-8")
        updated = set_front_matter(text, new.timing, TIMING_KEYS)
        if updated == text:
            continue
        before, after = frontmatter.loads(text), frontmatter.loads(updated)
        expected = {k: v for k, v in before.metadata.items() if k not in TIMING_KEYS} | new.timing
        if after.content != before.content or after.metadata != expected:
            raise CampaignError(f"{old.path}: could not update the front matter safely; edit it by hand")
        writes[old.path] = updated
    originals = {path: path.read_text(encoding="utf-8") for path in writes}
    for path, text in writes.items():
        _write(path, text)
    try:
        _campaign(campaign.slug)  # read back exactly as a tick will
    except (CampaignError, yaml.YAMLError) as exc:
        for path, text in originals.items():
            _write(path, text)
        raise CampaignError(f"{exc} (nothing was changed)") from None
    return ", ".join(sorted(p.name for p in writes)) or "nothing changed"


# -- newsletters --------------------------------------------------------------------------------


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


def _preview_newsletter(source: str) -> dict[str, str]:
    """The newsletter rendered for a sample subscriber, as `drip tick` would render it."""
    from sender.messages import compose
    from sender.newsletters import issue_lesson
    from sender.sample import sample_subscriber

    engine = drip().engine
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "preview.md"
        path.write_text(source, encoding="utf-8")
        lesson = issue_lesson(path, "issue-preview")  # as the tick builds it: one greeting
        campaign = Campaign(slug="newsletter-preview", path=Path(tmp), title=lesson.subject,
                            lessons=(lesson,))
        subscriber = sample_subscriber("alex@example.com", "Alex Sample", engine.settings.default_timezone)
        message = compose(settings=engine.settings, renderer=engine.renderer,
                          compiled=engine.renderer.compile(campaign, campaign.lessons[0], "newsletter"),
                          subscriber=subscriber, signing_key=engine.signing_key, now=engine.clock(),
                          delivery_key=f"preview:newsletter:{secrets.token_hex(4)}")
    return {"subject": message.subject, "html": message.html, "text": message.text}


def _newsletters_page(status: int = 200, **context: Any) -> tuple[str, int]:
    from sender.newsletters import issue_key, legacy_issue_key

    engine = drip().engine
    delivered, _ = _snapshot("deliveries")

    def sent(n: Any) -> int:  # under its own key, or (sent before keys had the row id) the old one
        return (delivered.get((n.campaign_id, issue_key(n)), {}).get("sent", 0)
                or delivered.get((n.campaign_id, legacy_issue_key(n.wall_time)), {}).get("sent", 0))

    rows = [{"row": n, "sent": sent(n)} for n in queries.newsletters_page(engine.store)]
    form = {"timezone": engine.settings.default_timezone, **context.pop("form", {})}
    return _page("console_newsletters.html", status, title="Newsletters", newsletters=rows, form=form,
                 **context)


@bp.get("/newsletters")
def newsletters() -> tuple[str, int]:
    return _newsletters_page()


@bp.post("/newsletters")
def newsletter_compose() -> werkzeug.Response | tuple[str, int]:
    """Preview, or save the Markdown under newsletters_dir and schedule it
    (`drip newsletter schedule FILE --at … [--now] [--local] [--segment] [--cron] [--timezone]`)."""
    from sender.newsletters import schedule_newsletter

    engine = drip().engine
    form = {k: request.form.get(k, "") for k in ("subject", "preheader", "body", "at", "timezone", "segment",
                                                   "cron", "local", "now")}
    try:
        source = _newsletter_source()
        if request.form.get("action") == "preview":
            page, status = _newsletters_page(form=form, preview=_preview_newsletter(source))
            return Response(page, status, headers={"Content-Security-Policy": PREVIEW_CSP})
        folder = engine.settings.path("newsletters_dir")
        folder.mkdir(parents=True, exist_ok=True)
        subject = frontmatter.loads(source).metadata.get("subject") or "newsletter"
        stem = f"{engine.clock():%Y%m%d}-{slugify(str(subject), fallback='newsletter')}"
        path = folder / f"{stem}.md"
        n = 2
        while path.exists():  # each newsletter file (and campaign row) is its own
            path, n = folder / f"{stem}-{n}.md", n + 1
        path.write_text(source, encoding="utf-8")
        try:
            done = schedule_newsletter(
                engine.store, path, at=form["at"] or None, cron=form["cron"].strip() or None,
                local=bool(form["local"]), segment=form["segment"].strip() or None,
                timezone=form["timezone"].strip() or engine.settings.default_timezone, now=engine.clock(),
                send_now=bool(form["now"]), default_zone=engine.settings.default_timezone,
                past_hint="tick “Send now” to send it at the next tick anyway")
        except (DripError, ValueError):
            path.unlink(missing_ok=True)
            raise
    except (DripError, ValueError, yaml.YAMLError) as exc:
        return _newsletters_page(400, form=form, error=str(exc))
    row = queries.newsletter_by_id(engine.store, done.id)
    assert row is not None, f"newsletter {done.id} vanished right after scheduling"
    where = "each subscriber's local time" if row.local else row.timezone
    flash(f"Scheduled newsletter {done.id} ({row.title!r}) for {row.wall_time} {where}"
          + (f", then {row.cron}" if row.cron else "") + f", to {done.reach}; saved as {path.name}.")
    return redirect(url_for("console.newsletters"))


@bp.post("/newsletters/<int:newsletter_id>/cancel")
def newsletter_cancel(newsletter_id: int) -> werkzeug.Response:
    if not queries.cancel_newsletter(drip().engine.store, newsletter_id):
        raise DripError(f"newsletter {newsletter_id} is not scheduled (already sent or cancelled)")
    flash(f"Cancelled newsletter {newsletter_id}; anything already sent stays sent.")
    return redirect(url_for("console.newsletters"))


# -- subscribers ---------------------------------------------------------------------------------


@bp.get("/subscribers")
def subscribers() -> tuple[str, int]:
    store = drip().engine.store
    q, tag, status = (request.args.get(k, "").strip() for k in ("q", "tag", "status"))
    after = request.args.get("after", "0")
    after_id = int(after) if after.isdigit() else 0
    rows = queries.search_subscribers(store, query=q, tag=tag, status=status if status in STATUSES else "",
                                      after=after_id, limit=queries.PAGE_SIZE + 1)
    more = len(rows) > queries.PAGE_SIZE
    rows = rows[:queries.PAGE_SIZE]
    courses = [p.name for p in campaign_dirs(drip().engine.settings.path("campaigns_dir"))]
    return _page("console_subscribers.html", title="Subscribers", rows=rows, q=q, tag=tag, wanted=status,
                 statuses=STATUSES, counts=queries.subscriber_status_counts(store), after=after_id,
                 next_after=rows[-1].id if more else None, columns=sorted(KNOWN_COLUMNS), courses=courses)


@bp.post("/subscribers")
def subscriber_add() -> werkzeug.Response:
    """`drip subscribers add`."""
    engine = drip().engine
    try:
        subscriber_id, created = add_subscriber(
            engine.store, request.form.get("email", ""), now=engine.clock(),
            name=request.form.get("name", ""),
            timezone=request.form.get("timezone", "").strip() or None,
            tags=[t for t in re.split(r"[;,]", request.form.get("tags", "")) if t.strip()],
            consent_source=request.form.get("consent_source", "").strip() or "console")
    except InvalidSubscriber as exc:
        flash(f"Not added: {exc}", "error")
        return redirect(url_for("console.subscribers"))
    added = engine.store.subscriber(subscriber_id)
    assert added is not None, f"subscriber {subscriber_id} vanished right after being added"
    flash(("Added " if created else "Updated ") + str(added.email))
    return redirect(url_for("console.subscriber", subscriber_id=subscriber_id))


@bp.post("/subscribers/import")
def subscribers_import() -> tuple[str, int]:
    """`drip subscribers import`, with the same report: new, updated, duplicate, rejected,
    what became of each column, and each duplicate or rejected row by line."""
    engine = drip().engine
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise DripError("choose a CSV file to import")
    name = Path(upload.filename).name
    mapping = {f: request.form.get(f"map_{f}", "").strip() for f in sorted(KNOWN_COLUMNS)}
    pending = bool(request.form.get("pending"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "import.csv"
        upload.save(path)
        try:
            report = import_csv(engine.store, path, now=engine.clock(),
                                mapping={k: v for k, v in mapping.items() if v},
                                encoding=request.form.get("encoding", "").strip() or None,
                                tags=[t for t in re.split(r"[;,]", request.form.get("tag", "")) if t.strip()],
                                status="pending" if pending else "active",
                                consent_source=None if pending else
                                (request.form.get("consent_source", "").strip() or "import"))
        except InvalidSubscriber as exc:  # named by the upload's name, not the temporary file's
            raise DripError(str(exc).replace(str(path), name)) from None
    return _page("console_import.html", title=f"Imported {name}", name=name, report=report)


@bp.post("/subscribers/invite")
def subscribers_invite() -> werkzeug.Response | tuple[str, int]:
    """`drip subscribers invite`: the first POST shows how many it will mail; the second,
    carrying that number, sends, unless the number has changed meanwhile."""
    engine = drip().engine
    slug = request.form.get("campaign", "").strip() or None
    tag = request.form.get("tag", "").strip() or None
    plan = optin.plan_invitation(engine, slug, tag)  # refuses settings unfit for a real provider
    if not plan.count:
        flash(f"Nothing to send: {plan.describe()}.")
        return redirect(url_for("console.subscribers"))
    expected = request.form.get("expected", "")
    if expected != str(plan.count):
        return _page("console_invite.html", title="Send the confirmation email", plan=plan,
                     slug=plan.campaign.slug, tag=tag or "", changed=expected.isdigit())
    report = optin.invite(engine, plan)
    flash(f"{report.summary()} ({plan.describe()}).",
          "error" if report.failed or report.stopped else "message")
    for email, error in report.failed[:20]:
        flash(f"failed: {email}: {error}", "error")
    return redirect(url_for("console.subscribers"))


@bp.get("/subscribers/export.csv")
def subscribers_export() -> Response:
    """`drip subscribers export`: every subscriber, custom fields as extra columns."""
    store = drip().engine.store
    handle = tempfile.NamedTemporaryFile(prefix="drip-export-", suffix=".csv", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    export_csv(store, path)
    data = path.read_bytes()
    path.unlink(missing_ok=True)
    return send_file(io.BytesIO(data), mimetype="text/csv", as_attachment=True,
                     download_name=f"subscribers-{drip().engine.clock():%Y%m%d}.csv")


def _subscriber_or_404(subscriber_id: int) -> Any:
    row = drip().engine.store.subscriber(subscriber_id)
    if row is None:
        raise _NotFound(f"no subscriber {subscriber_id} (deleted?)")
    return row


class _NotFound(DripError):
    pass


@bp.errorhandler(_NotFound)
def _not_found(exc: _NotFound) -> tuple[str, int]:
    return _page("console_error.html", 404, title="Not found", message=str(exc))


def _timeline(row: Any, found: queries.Timeline) -> list[dict[str, Any]]:
    """One subscriber's story, oldest first: joined, enrolled, each lesson
    sent/opened/clicked…, completed, unsubscribed."""
    items: list[dict[str, Any]] = [
        {"at": row.created_at, "what": "added", "detail": row.consent_source or ""}]
    if row.consent_at and row.consent_at != row.created_at:
        items.append({"at": row.consent_at, "what": "confirmed", "detail": row.consent_source or ""})
    lessons = {d.id: d for d in found.deliveries}
    for e in found.enrolments:
        items.append({"at": e.enrolled_at, "what": "enrolled", "detail": e.title or e.slug})
        if e.completed_at:
            items.append({"at": e.completed_at, "what": "completed", "detail": e.title or e.slug})
    # Oldest first, so things at the same instant keep the order they happened in (sorted is stable).
    for d in reversed(found.deliveries):
        items.append({"at": d.sent_at or d.claimed_at or d.scheduled_at, "what": d.status,
                      "detail": f"{d.slug} / {d.lesson_key}", "error": d.error})
    for ev in reversed(found.events):
        delivery = lessons.get(ev.delivery_id)
        data = ev.data or {}
        detail = f"{delivery.slug} / {delivery.lesson_key}" if delivery else (
            "everything" if data.get("scope") == "all" else data.get("source") or "")
        if ev.type == "clicked" and data.get("url"):
            detail += f" — {data['url']}"
        items.append({"at": ev.at, "what": ev.type, "detail": detail})
    return sorted((i for i in items if i["at"] is not None), key=lambda i: i["at"])


@bp.get("/subscribers/<int:subscriber_id>")
def subscriber(subscriber_id: int) -> tuple[str, int]:
    engine = drip().engine
    row = _subscriber_or_404(subscriber_id)
    found = queries.subscriber_timeline(engine.store, subscriber_id)
    try:
        plan, plan_error = engine.plan(row.email), None  # `drip schedule --subscriber`
    except DripError as exc:
        plan, plan_error = [], str(exc)
    return _page("console_subscriber.html", title=row.email, s=row, timeline=_timeline(row, found),
                 enrolments=found.enrolments, plan=plan, plan_error=plan_error,
                 suppressed=engine.store.is_suppressed(row.email))


@bp.post("/subscribers/<int:subscriber_id>/unsubscribe")
def subscriber_unsubscribe(subscriber_id: int) -> werkzeug.Response:
    engine = drip().engine
    row = _subscriber_or_404(subscriber_id)
    engine.store.unsubscribe(subscriber_id, None, engine.clock(), source=f"console ({g.user})")
    flash(f"Unsubscribed {row.email} from everything.")
    return redirect(url_for("console.subscriber", subscriber_id=subscriber_id))


@bp.post("/subscribers/<int:subscriber_id>/delete")
def subscriber_delete(subscriber_id: int) -> werkzeug.Response:
    engine = drip().engine
    _subscriber_or_404(subscriber_id)
    if request.form.get("confirm") != "yes":
        raise DripError("tick the box to confirm: deleting can't be undone")
    email = queries.delete_subscriber(engine.store, subscriber_id, engine.clock())
    current_app.extensions["drip_console"].expire("deliveries", "events")
    flash(f"Deleted {email} and their history; the address stays blocked (kept only as a hash).")
    return redirect(url_for("console.subscribers"))


# -- deliverability ------------------------------------------------------------------------------


def _level(rate: float | None, limit: float, aim: float | None = None) -> str:
    if rate is None:
        return "none"
    if rate >= limit:
        return "bad"
    return "warn" if aim is not None and rate >= aim else "ok"


@bp.get("/deliverability")
def deliverability() -> tuple[str, int]:
    engine = drip().engine
    delivered, happened, as_of = _counts()
    per: dict[int, dict[str, int]] = {}
    for (cid, _), by_status in delivered.items():
        totals = per.setdefault(cid, {})
        for k, n in by_status.items():
            totals[k] = totals.get(k, 0) + n
    for (cid, _), by_event in happened.items():
        totals = per.setdefault(cid, {})
        for k, n in by_event.items():
            totals[f"ev_{k}"] = totals.get(f"ev_{k}", 0) + n
    rows = []
    for c in engine.store.campaigns():
        t = per.get(c.id, {})
        sent = t.get("sent", 0)
        bounce, complaint = _rate(t.get("ev_bounced", 0), sent), _rate(t.get("ev_complained", 0), sent)
        rows.append({"c": c, "sent": sent, "failed": t.get("failed", 0), "bounced": t.get("ev_bounced", 0),
                     "complained": t.get("ev_complained", 0), "bounce": bounce, "complaint": complaint,
                     "bounce_level": _level(bounce, BOUNCE_LIMIT),
                     "complaint_level": _level(complaint, COMPLAINT_LIMIT, COMPLAINT_AIM)})
    recent, stale, unknown = queries.in_flight(engine.store, engine.clock())
    return _page("console_deliverability.html", title="Deliverability", rows=rows,
                 suppressed=queries.suppression_counts(engine.store),
                 paused=queries.paused_campaigns(engine.store), recent=recent, stale=stale, unknown=unknown,
                 stale_minutes=int(STALE_AFTER.total_seconds() // 60),
                 as_of=datetime.fromtimestamp(as_of, UTC),
                 complaint_limit=COMPLAINT_LIMIT, complaint_aim=COMPLAINT_AIM, bounce_limit=BOUNCE_LIMIT)


@bp.post("/deliverability/resolve")
def resolve() -> werkzeug.Response:
    """Settle deliveries whose outcome is unknown, as the provider's log shows them."""
    engine = drip().engine
    outcome = request.form.get("outcome", "")
    if outcome not in queries.RESOLUTIONS:
        raise DripError("choose what happened: sent, failed, or send again")
    if request.form.get("all") == "yes":
        ids = [r.id for r in queries.in_flight(engine.store, engine.clock())[2]]
    else:
        ids = [int(i) for i in request.form.getlist("id") if i.isdigit()]
    if not ids:
        raise DripError("tick the deliveries to resolve, or 'every one listed'")
    done = queries.resolve_deliveries(engine.store, ids, outcome, engine.clock(), by=g.user)
    current_app.extensions["drip_console"].expire("deliveries")
    said = {"sent": "marked sent", "failed": "marked failed", "retry": "queued to send again"}[outcome]
    flash(f"{done} deliver{'y' if done == 1 else 'ies'} {said}.")
    return redirect(url_for("console.deliverability"))


@bp.app_template_filter("pct")
def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


@bp.app_template_filter("when")
def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
