"""A rendered lesson plus one subscriber → an `OutgoingMessage` with the
headers bulk senders must carry (RFC 8058 one-click unsubscribe, stable
Message-ID)."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import formataddr, parseaddr
from functools import cache, lru_cache
from typing import Any, NamedTuple
from urllib.parse import quote

import idna

from sender.campaign import Campaign, Lesson
from sender.providers.base import OutgoingMessage
from sender.render import CompiledLesson, Renderer, subscriber_context
from sender.settings import Settings
from sender.tokens import keyed, sign

_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')  # what makes formataddr quote a display name


def sender_domain(settings: Settings) -> str:
    return _domain(settings.from_address)


@cache  # parsing an address is slow next to a render, and there is one From per project
def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def message_id(settings: Settings, key: str, secret: str, domain: str | None = None) -> str:
    """Stable for the same delivery, so a retry is recognisable downstream. Keyed with the
    installation's secret: delivery ids restart at 1 in every database, so two installs on one
    From domain (or one install after a reset) would otherwise reuse each other's IDs."""
    # The prefix keeps these MACs apart from `tokens.sign`'s ("purpose:payload", same key):
    # a Message-ID is public, so it must never be a prefix of a link token's MAC.
    mac = keyed(secret).copy()
    mac.update(f"message-id\0{key}".encode())
    digest = mac.hexdigest()[:20]
    return f"<{digest}@{domain or sender_domain(settings)}>"


@lru_cache(maxsize=512)  # small: campaigns are re-read every tick, old keys just age out
def _next_lesson_day(campaign: Campaign, lesson: Lesson, now: datetime, timezone: str | None,
                     settings: Settings) -> str:
    """Weekday the next lesson arrives, in the subscriber's zone. The same for everyone of a
    zone in a batch (one `now`), and working it out costs more than rendering the email."""
    zone_holder = _Zone(timezone)
    next_at = campaign.next_lesson_at(lesson, now, zone_holder, settings)
    return next_at.astimezone(campaign.zone_of(zone_holder, settings)).strftime("%A") if next_at else ""


class _Zone(NamedTuple):
    timezone: str | None


class _Fixed(NamedTuple):
    """What every message of a project shares, read from its settings once."""

    base_url: str
    unsubscribe_mailto: str
    reply_to: str | None
    from_address: str
    domain: str


@lru_cache(maxsize=8)  # by identity: Settings are never changed in place (`replace` makes new ones)
def _fixed(settings: Settings) -> _Fixed:
    return _Fixed(settings.base_url.rstrip("/"), settings.unsubscribe_mailto, settings.reply_to,
                  settings.from_address, sender_domain(settings))


def _quote_token(token: str) -> str:
    # Tokens are URL-safe base64 and dots, which need no quoting: skip the slow general path.
    return token if _URL_SAFE.fullmatch(token) else quote(token)


def sendable_address(email: str) -> str:
    """The address as it goes on the wire: an international domain in its ASCII (IDNA 2008,
    "xn--") form, which every provider and mail server takes. The store keeps the Unicode
    form email-validator gives; a non-ASCII local part stays as it is (SMTPUTF8)."""
    local, _, domain = email.rpartition("@")
    if domain.isascii():
        return email
    return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"


def _mailbox(name: str, email: str) -> str:
    """`Name <email>`, as formataddr writes it; plain ASCII names skip its slow general path."""
    if not name:
        return email
    if name.isascii() and email.isascii() and not _SPECIALS.search(name):
        return f"{name} <{email}>"
    return formataddr((name, email))


def compose(
    *,
    settings: Settings,
    renderer: Renderer,
    compiled: CompiledLesson,
    subscriber: Any,  # a subscribers row
    signing_key: str,
    now: datetime,
    delivery_key: str | None,  # None: no Message-ID yet (the engine's claim gives it one)
    delivery_id: int | None = None,
) -> OutgoingMessage:
    campaign, lesson = compiled.campaign, compiled.lesson
    token = sign(f"{subscriber.id}:{campaign.slug}", signing_key, "unsubscribe")
    fixed = _fixed(settings)
    base, domain = fixed.base_url, fixed.domain
    unsubscribe_url = f"{base}/unsubscribe/{token}"
    next_day = _next_lesson_day(campaign, lesson, now, subscriber.timezone, settings)
    email = renderer.render(compiled, {
        "subscriber": subscriber_context(subscriber),
        "unsubscribe_url": unsubscribe_url,
        "manage_url": f"{base}/preferences/{token}",
        "next_lesson_day": next_day,
    })
    headers = {
        "List-Unsubscribe": (
            f"<{unsubscribe_url}>, "
            f"<mailto:{fixed.unsubscribe_mailto}?subject=unsubscribe%20{_quote_token(token)}>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{campaign.title} <{campaign.slug}.{domain}>",
    }
    if fixed.reply_to:
        headers["Reply-To"] = fixed.reply_to
    to = _mailbox(subscriber.name, sendable_address(subscriber.email))
    return OutgoingMessage(
        to=to,
        from_address=fixed.from_address,
        subject=email.subject,
        html=email.html,
        text=email.text,
        message_id="" if delivery_key is None else message_id(settings, delivery_key, signing_key, domain),
        date=now,
        headers=headers,
        delivery_id=delivery_id,
        metadata={"campaign": campaign.slug, "lesson": lesson.key,
                  **({"delivery": str(delivery_id)} if delivery_id else {})},
    )
