"""A rendered lesson plus one subscriber → an `OutgoingMessage` with the
headers bulk senders must carry (RFC 8058 one-click unsubscribe, stable
Message-ID)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.utils import formataddr, parseaddr
from functools import cache
from typing import Any
from urllib.parse import quote

from sender.providers.base import OutgoingMessage
from sender.render import CompiledLesson, Renderer, subscriber_context
from sender.settings import Settings
from sender.tokens import sign


def sender_domain(settings: Settings) -> str:
    return _domain(settings.from_address)


@cache  # parsing an address is slow next to a render, and there is one From per project
def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def message_id(settings: Settings, key: str) -> str:
    """Stable for the same delivery, so a retry is recognisable downstream."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return f"<{digest}@{sender_domain(settings)}>"


def compose(
    *,
    settings: Settings,
    renderer: Renderer,
    compiled: CompiledLesson,
    subscriber: Any,  # a subscribers row
    signing_key: str,
    now: datetime,
    delivery_key: str,
    delivery_id: int | None = None,
) -> OutgoingMessage:
    campaign, lesson = compiled.campaign, compiled.lesson
    token = sign(f"{subscriber.id}:{campaign.slug}", signing_key, "unsubscribe")
    base = settings.base_url.rstrip("/")
    unsubscribe_url = f"{base}/unsubscribe/{token}"
    next_at = campaign.next_lesson_at(lesson, now, subscriber, settings)
    next_day = next_at.astimezone(campaign.zone_of(subscriber, settings)).strftime("%A") if next_at else ""
    email = renderer.render(compiled, {
        "subscriber": subscriber_context(subscriber),
        "unsubscribe_url": unsubscribe_url,
        "manage_url": f"{base}/preferences/{token}",
        "next_lesson_day": next_day,
    })
    headers = {
        "List-Unsubscribe": (
            f"<{unsubscribe_url}>, "
            f"<mailto:{settings.unsubscribe_mailto}?subject={quote('unsubscribe ' + token)}>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{campaign.title} <{campaign.slug}.{sender_domain(settings)}>",
    }
    if settings.reply_to:
        headers["Reply-To"] = settings.reply_to
    to = formataddr((subscriber.name, subscriber.email)) if subscriber.name else subscriber.email
    return OutgoingMessage(
        to=to,
        from_address=settings.from_address,
        subject=email.subject,
        html=email.html,
        text=email.text,
        message_id=message_id(settings, delivery_key),
        date=now,
        headers=headers,
        delivery_id=delivery_id,
        metadata={"campaign": campaign.slug, "lesson": lesson.key,
                  **({"delivery": str(delivery_id)} if delivery_id else {})},
    )
