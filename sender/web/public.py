"""Public pages, no login: subscribe (double opt-in), confirm, unsubscribe,
manage preferences, resubscribe.

Every link carries an HMAC-signed token (`sender.tokens`) naming the subscriber
and the course; a tampered or foreign token gets a 400 page and changes
nothing. State only changes on POST: link scanners in mail filters follow GET
links, and must neither confirm nor unsubscribe anyone.

Confirmation emails are limited (`CONFIRM_LIMITS`), in the store so that every
process of `drip serve` counts together: a form posted again and again, or by
someone flooding a stranger's inbox, sends one email, and the page says so.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for

from sender import optin
from sender.errors import DripError
from sender.store import web as web_store
from sender.subscribers import InvalidSubscriber, add_subscriber, check_timezone, clean_name, normalise_email
from sender.tokens import verify
from sender.web import drip
from sender.web.security import client_address

bp = Blueprint("public", __name__, template_folder="templates")
log = logging.getLogger(__name__)

# Confirmation emails: (uses, window) per address, and per client (IP address, or IPv6 /64).
# One per address is enough: the link stays valid, and a person who asks again within the
# window is told to look for the email already sent. Per client, a household or an office
# behind one address signs up a few people; a script trying many addresses is stopped.
CONFIRM_LIMITS = {"address": (1, timedelta(minutes=10)), "client": (10, timedelta(hours=1))}


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, brand_colour=drip().engine.settings.brand_colour, **context), status


def _message(title: str, message: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return _page("message.html", status, title=title, message=message, error=status >= 400, **context)


def _bad_link() -> tuple[str, int]:
    return _message("This link is not valid",
                    "It may have been cut short or changed. Use the link from your latest email.", 400)


def _read_token(token: str, purpose: str) -> tuple[Any, Any] | None:
    """(subscriber row, campaign row or None) for a genuine token, else None."""
    engine = drip().engine
    payload = verify(token, engine.signing_key, purpose)
    if payload is None:
        return None
    subscriber_id, _, slug = payload.partition(":")
    subscriber = engine.store.subscriber(int(subscriber_id)) if subscriber_id.isdigit() else None
    if subscriber is None:
        return None
    return subscriber, engine.store.campaign_by_slug(slug)


def _preferences(token: str, subscriber: Any, campaign: Any, done: str = "") -> tuple[str, int]:
    store = drip().engine.store
    course = campaign.title or campaign.slug if campaign else "this course"
    course_active = campaign is not None and store.enrolment_status(subscriber.id, campaign.id) in (
        "active", "paused")
    return _page(
        "unsubscribe.html", title="Manage your subscription", token=token, email=subscriber.email,
        course=course, course_active=course_active, done=done,
        everything_active=subscriber.status in ("active", "pending"),
        can_resubscribe=campaign is not None and not course_active and store.may_resubscribe(subscriber),
    )


@bp.get("/unsubscribe/<token>", endpoint="unsubscribe_page")
@bp.get("/preferences/<token>")
def preferences(token: str) -> tuple[str, int]:
    found = _read_token(token, "unsubscribe")
    if found is None:
        return _bad_link()
    return _preferences(token, *found)


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> tuple[str, int] | Response:
    found = _read_token(token, "unsubscribe")
    if found is None:
        return _bad_link()
    subscriber, campaign = found
    engine = drip().engine
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    # RFC 8058 one-click (a mailbox provider's button) stops everything from us: the
    # person asked their mail app to make it stop, and more mail would be a complaint.
    everything = one_click or request.form.get("scope") != "course" or campaign is None
    engine.store.unsubscribe(subscriber.id, None if everything else campaign.id, engine.clock(),
                             source="one-click" if one_click else "page")
    if one_click:
        return Response("Unsubscribed.\n", mimetype="text/plain")
    subscriber = engine.store.subscriber(subscriber.id)
    done = "You are unsubscribed from everything." if everything else "You will get no more lessons."
    return _preferences(token, subscriber, campaign, done)


@bp.post("/resubscribe/<token>")
def resubscribe(token: str) -> tuple[str, int]:
    found = _read_token(token, "unsubscribe")
    if found is None:
        return _bad_link()
    subscriber, campaign = found
    engine = drip().engine
    if campaign is None or not engine.store.resubscribe(subscriber.id, campaign.id, engine.clock()):
        return _message("We can't resubscribe this address",
                        "It bounced or was reported as spam, so we no longer send to it.", 409)
    return _preferences(token, engine.store.subscriber(subscriber.id), campaign,
                        "Welcome back: the course carries on where it stopped.")


# -- double opt-in ------------------------------------------------------------------


def _course(slug: str) -> Any:
    """The campaign of a sign-up page; only a POST writes its row (a GET must not take
    SQLite's single write lock while a send holds it)."""
    engine = drip().engine
    try:
        return engine.load(slug)[1] if request.method == "POST" else engine.read(slug)
    except DripError:
        abort(404)


@bp.route("/subscribe/<slug>", methods=["GET", "POST"])
def subscribe(slug: str) -> tuple[str, int] | Response:
    campaign = _course(slug)
    form = {"course": campaign.title, "lesson_count": len(campaign.lessons),
            "email": request.form.get("email", ""), "name": request.form.get("name", "")}
    if request.method == "GET":
        return _page("subscribe.html", **form)
    sent = _message("Check your inbox", "We sent you an email with a link to confirm your subscription.")
    if request.form.get("website"):  # the hidden honeypot: a bot filled it in
        return sent
    engine = drip().engine
    try:
        email = normalise_email(form["email"])
    except InvalidSubscriber:
        return _page("subscribe.html", 400, error="That email address doesn't look right.", **form)
    try:
        timezone = check_timezone(request.form.get("timezone") or None)
    except InvalidSubscriber:
        timezone = None  # an odd browser zone: the default zone is better than refusing someone
    now = engine.clock()
    # Counted for every address before anything is looked up, so the answer is the same
    # whether or not we know it (or will mail it at all).
    slots = _confirm_slots(email)
    if (refused := web_store.take(engine.store, slots, now)) is not None:
        return _limited(email, refused[0] is slots[0], refused[1] - now)
    subscriber_id, _ = add_subscriber(engine.store, email, now=now, name=clean_name(form["name"]),
                                      timezone=timezone, status="pending", consent_source=None)
    subscriber = engine.store.subscriber(subscriber_id)
    assert subscriber is not None, f"subscriber {subscriber_id} vanished right after sign-up"
    # The same answer whether or not we know the address, so the form reveals nothing.
    if subscriber.status in ("bounced", "complained") or engine.store.is_suppressed(email):
        return sent
    if not send_confirmation(subscriber, campaign):
        web_store.give_back(engine.store, slots)  # nothing went: trying again soon must work
        return _message("We couldn't send the email just now",
                        "Nothing is lost: please try again in a few minutes.", 503)
    return sent


def _confirm_slots(email: str) -> list[web_store.Slot]:
    key = drip().engine.signing_key.encode()

    def slot(kind: str, who: str) -> web_store.Slot:
        # Keyed by an HMAC: the table holds no address, and IPv4 space is too small to hash plainly.
        digest = hmac.new(key, f"confirm:{kind}:{who}".encode(), hashlib.sha256).hexdigest()
        limit, window = CONFIRM_LIMITS[kind]
        return web_store.Slot(digest, limit, window)

    return [slot("address", email), slot("client", client_address())]


def _limited(email: str, by_address: bool, wait: timedelta) -> Response:
    seconds = max(1, math.ceil(wait.total_seconds()))
    minutes = math.ceil(seconds / 60)
    when = f"{minutes} minute{'s' if minutes != 1 else ''}"
    if by_address:  # not an error for the person: the email they want is on its way
        page, _ = _page("message.html", title="Check your inbox", message=(
            f"We sent a link to {email} a moment ago. Check your inbox (and the spam folder), "
            f"or try again in {when}."))
    else:
        page, _ = _message("Too many sign-ups just now", "We have sent many confirmation emails to "
                           f"people on your connection in the last hour. Please try again in {when}.", 429)
    return Response(page, 429, headers={"Retry-After": str(seconds)})


def send_confirmation(subscriber: Any, campaign: Any) -> bool:
    # The same email `drip subscribers invite` sends (sender.optin builds both).
    ok, error = optin.send_confirmation(drip().engine, subscriber, campaign)
    if not ok:
        log.warning("confirmation email to subscriber %s failed: %s", subscriber.id, error)
    return ok


@bp.get("/confirm/<token>", endpoint="confirm_page")
def confirm_page(token: str) -> tuple[str, int]:
    found = _read_token(token, "confirm")
    if found is None or found[1] is None:
        return _bad_link()
    return _message("Confirm your subscription", f"Start {found[1].title} at {found[0].email}?",
                    form_action=url_for("public.confirm", token=token), form_label="Yes, start the course")


@bp.post("/confirm/<token>")
def confirm(token: str) -> tuple[str, int]:
    found = _read_token(token, "confirm")
    if found is None or found[1] is None:
        return _bad_link()
    subscriber, campaign = found
    engine = drip().engine
    now = engine.clock()
    if subscriber.status == "pending":
        engine.store.confirm(subscriber.id, now, source=f"double opt-in: {campaign.slug}")
    elif subscriber.status == "unsubscribed":
        engine.store.resubscribe(subscriber.id, None, now)
    current = engine.store.subscriber(subscriber.id)
    assert current is not None, f"subscriber {subscriber.id} vanished while confirming"
    if current.status != "active":
        return _message("We can't send to this address", "It bounced or was reported as spam.", 409)
    engine.enrol(campaign.slug, [subscriber.email])
    return _message("You're in", f"Lesson 1 of {campaign.title} is on its way to {subscriber.email}.")
