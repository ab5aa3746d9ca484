"""Public pages, no login: subscribe (double opt-in), confirm, unsubscribe,
manage preferences, resubscribe.

Every link carries an HMAC-signed token (`sender.tokens`) naming the subscriber
and the course; a tampered or foreign token gets a 400 page and changes
nothing. State only changes on POST: link scanners in mail filters follow GET
links, and must neither confirm nor unsubscribe anyone.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for

from sender.errors import DripError
from sender.messages import message_id
from sender.providers.base import OutgoingMessage
from sender.render import subscriber_context
from sender.subscribers import InvalidSubscriber, add_subscriber, check_timezone, clean_name, normalise_email
from sender.tokens import sign, verify
from sender.web import drip

bp = Blueprint("public", __name__, template_folder="templates")
log = logging.getLogger(__name__)


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
        can_resubscribe=campaign is not None and not course_active
        and subscriber.status in ("active", "unsubscribed") and not store.is_suppressed(subscriber.email),
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
    try:
        return drip().engine.load(slug)[1]
    except DripError:
        abort(404)


@bp.route("/subscribe/<slug>", methods=["GET", "POST"])
def subscribe(slug: str) -> tuple[str, int]:
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
    subscriber_id, _ = add_subscriber(engine.store, email, now=now, name=clean_name(form["name"]),
                                      timezone=timezone, status="pending", consent_source=None)
    subscriber = engine.store.subscriber(subscriber_id)
    assert subscriber is not None, f"subscriber {subscriber_id} vanished right after sign-up"
    # The same answer whether or not we know the address, so the form reveals nothing.
    if subscriber.status in ("bounced", "complained") or engine.store.is_suppressed(email):
        return sent
    if not send_confirmation(subscriber, campaign):
        return _message("We couldn't send the email just now",
                        "Nothing is lost: please try again in a few minutes.", 503)
    return sent


def send_confirmation(subscriber: Any, campaign: Any) -> bool:
    engine = drip().engine
    settings = engine.settings
    token = sign(f"{subscriber.id}:{campaign.slug}", engine.signing_key, "confirm")
    confirm_url = settings.base_url.rstrip("/") + url_for("public.confirm_page", token=token)
    html, text = engine.renderer.render_system("confirm", {
        "subscriber": subscriber_context(subscriber), "campaign_title": campaign.title,
        "confirm_url": confirm_url})
    message = OutgoingMessage(
        to=subscriber.email, from_address=settings.from_address,
        subject=f"Confirm your subscription to {campaign.title}", html=html, text=text,
        message_id=message_id(settings, f"confirm:{subscriber.id}:{secrets.token_hex(8)}",
                              engine.signing_key),
        date=engine.clock(),
        headers={"Reply-To": settings.reply_to} if settings.reply_to else {},
        metadata={"kind": "confirm", "campaign": campaign.slug},
    )
    [result] = engine.provider.send_messages([message])
    if not result.ok:
        log.warning("confirmation email to subscriber %s failed: %s", subscriber.id, result.error)
    return result.ok


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
