"""Double opt-in: the confirmation email, one for the subscribe form and many for pending
subscribers (`drip subscribers invite`, the console's button), built in one place.

Its link is `base_url/confirm/<token>`, the token signed for (subscriber, course); the page
there shows a button whose POST confirms and enrols (sender.web.public). Pending
subscribers get nothing else until they confirm, so an import with `--pending` is followed
by an invitation.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sender.campaign import Campaign, campaign_dirs
from sender.errors import DripError
from sender.messages import message_id
from sender.providers.base import OutgoingMessage
from sender.readiness import refuse_unready
from sender.render import subscriber_context
from sender.store import console as queries
from sender.tokens import sign

if TYPE_CHECKING:
    from sender.engine import Engine

PAGE = 500  # subscribers read and handed to the provider at a time (providers split further)


def confirm_url(engine: Engine, subscriber_id: int, slug: str) -> str:
    token = sign(f"{subscriber_id}:{slug}", engine.signing_key, "confirm")
    return f"{engine.settings.base_url.rstrip('/')}/confirm/{token}"


def confirmation_message(engine: Engine, subscriber: Any, campaign: Campaign) -> OutgoingMessage:
    settings = engine.settings
    html, text = engine.renderer.render_system("confirm", {
        "subscriber": subscriber_context(subscriber), "campaign_title": campaign.title,
        "confirm_url": confirm_url(engine, subscriber.id, campaign.slug)})
    return OutgoingMessage(
        to=subscriber.email, from_address=settings.from_address,
        subject=f"Confirm your subscription to {campaign.title}", html=html, text=text,
        message_id=message_id(settings, f"confirm:{subscriber.id}:{secrets.token_hex(8)}",
                              engine.signing_key),
        date=engine.clock(),
        headers={"Reply-To": settings.reply_to} if settings.reply_to else {},
        metadata={"kind": "confirm", "campaign": campaign.slug},
    )


def send_confirmation(engine: Engine, subscriber: Any, campaign: Campaign) -> tuple[bool, str | None]:
    """(accepted, the provider's error)."""
    [result] = engine.provider.send_messages([confirmation_message(engine, subscriber, campaign)])
    return result.ok, result.error


# -- inviting pending subscribers ------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    """Who an invitation would mail: pending subscribers (with `tag`), suppressed ones left out."""

    campaign: Campaign
    tag: str | None
    count: int

    def describe(self) -> str:
        who = f"pending subscriber(s) tagged {self.tag!r}" if self.tag else "pending subscriber(s)"
        return f"{self.count} {who}, to confirm {self.campaign.title or self.campaign.slug}"


@dataclass
class InviteReport:
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (email, the provider's error)
    not_tried: int = 0  # left after the provider failed a whole batch
    stopped: str | None = None

    def summary(self) -> str:
        text = f"sent {self.sent} confirmation email(s), failed {len(self.failed)}"
        if self.stopped:
            text += f"; stopped ({self.stopped}), {self.not_tried} not tried: run it again later"
        return text


def course_slug(engine: Engine, slug: str | None) -> str:
    """`slug`, or the project's only course: the confirmation link enrols in one."""
    slugs = [p.name for p in campaign_dirs(engine.settings.path("campaigns_dir"))]
    if slug:
        return slug
    if len(slugs) == 1:
        return slugs[0]
    if not slugs:
        raise DripError(f"no course in {engine.settings.path('campaigns_dir')} to invite to: the "
                        "confirmation link enrols in a course (create one with drip split)")
    raise DripError(f"say which course the confirmation enrols in: --campaign {' or '.join(slugs)}")


def invitees(engine: Engine, tag: str | None) -> Iterator[list[Any]]:
    """Pending subscribers (with `tag`), a page at a time, by id; suppressed addresses (a bounce
    or complaint, or deleted) are never mailed again."""
    store, after = engine.store, 0
    while rows := queries.search_subscribers(store, status="pending", tag=tag or "", after=after,
                                             limit=PAGE):
        after = rows[-1].id
        yield [r for r in rows if not store.is_suppressed(r.email)]


def plan_invitation(engine: Engine, slug: str | None, tag: str | None) -> Invitation:
    """Refuses, as every command that sends through a real provider does, settings that would
    put broken links or sample addresses in the email."""
    refuse_unready(engine.settings, engine.settings.provider)
    _, campaign = engine.load(course_slug(engine, slug))  # the store needs its row for the link
    return Invitation(campaign, tag or None, sum(len(page) for page in invitees(engine, tag)))


def invite(engine: Engine, invitation: Invitation,
           progress: Callable[[int], None] | None = None) -> InviteReport:
    """Send the confirmation email to everyone `invitation` counts (as they are now)."""
    refuse_unready(engine.settings, engine.settings.provider)
    report = InviteReport()
    for page in invitees(engine, invitation.tag):
        if report.stopped:
            report.not_tried += len(page)
            continue
        messages = [confirmation_message(engine, s, invitation.campaign) for s in page]
        try:
            results = engine.provider.send_messages(messages) if messages else []
        except Exception as exc:  # the provider failed as a whole: no point in the next batch
            report.stopped = f"{engine.provider.name}: {exc}"
            report.not_tried += len(messages)
            continue
        for result in results:
            if result.ok:
                report.sent += 1
            else:
                report.failed.append((result.message.to, result.error or "refused"))
        if progress:
            progress(len(page))
    return report
