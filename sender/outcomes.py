"""Whose fault a failed delivery is, and what each kind of failure does.

Defined once, here, and used by the providers (which say what the provider answered), the
engine (which applies it) and the README's delivery section (which says it to users). Pure:
no database, no threads, so each rule is unit-tested on its own.

- recipient (invalid address, inactive recipient, hard bounce): the delivery fails and the
  address is suppressed;
- message (a header with a line break, a request the provider refuses for this message
  alone): the delivery fails;
- content (unknown placeholder, missing template, a bad timing rule): the delivery stays
  queued and the campaign pauses, with the file and line;
- data (the subscriber lacks a field the lesson uses): the delivery is held, and goes once
  the field is set or the lesson gives it a default;
- account (sender not verified, sandbox, no credits, 401/403, 413): the delivery stays
  queued and the campaign pauses, with the provider's words;
- temporary (429, 5xx, no connection): the delivery is queued again with backoff;
- unknown (the request went but the answer did not come or cannot be read: a timeout or a
  dropped connection after sending, a 200 that is not JSON, results missing): the provider
  may have accepted it, so it is never resent blindly; it stays 'sending', an unknown
  outcome exactly as after a crash, until the provider's evidence (a delivered, bounced or
  opened webhook naming it) or staff settle it.

Nothing queued or held is lost: a paused campaign sends it once `drip resume` runs, a held
delivery goes once it renders, and `drip retry` queues failed ones again.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime, timedelta
from enum import StrEnum

RETRY_BACKOFF = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
# A held delivery is tried again this often, so it goes soon after the field is filled in
# or the lesson gets a default, without anyone having to release it.
HOLD_RECHECK = timedelta(minutes=30)


class Fault(StrEnum):
    RECIPIENT = "recipient"
    MESSAGE = "message"
    CONTENT = "content"
    DATA = "data"
    ACCOUNT = "account"
    TEMPORARY = "temporary"
    UNKNOWN = "unknown"

    @property
    def fails_delivery(self) -> bool:
        """Trying this delivery again cannot help: it is marked failed."""
        return self in (Fault.RECIPIENT, Fault.MESSAGE)

    @property
    def suppresses(self) -> bool:
        """The address itself was refused: never mail it again."""
        return self is Fault.RECIPIENT

    @property
    def pauses_campaign(self) -> bool:
        """Staff must fix something (a lesson, the provider account): stop the campaign,
        keep everything queued, and go on at `drip resume`."""
        return self in (Fault.CONTENT, Fault.ACCOUNT)


def render_fault(missing_field: str | None, known_fields: Container[str]) -> Fault:
    """Whose fault a lesson that does not render for one subscriber is. A field some
    subscribers have is this subscriber's data; anything else (a field nobody has, which
    is a typo, a template or MJML error, a missing template) is the lesson's."""
    if missing_field and missing_field in known_fields:
        return Fault.DATA
    return Fault.CONTENT


def delivery_status(fault: Fault | None) -> str:
    """The delivery's status after an attempt: None is no fault, i.e. sent."""
    if fault is None:
        return "sent"
    if fault.fails_delivery:
        return "failed"
    if fault is Fault.UNKNOWN:
        return "sending"  # left as a crash leaves it: see `sender.store.reports.unknown_outcome`
    return "held" if fault is Fault.DATA else "queued"


def next_try(fault: Fault, attempts: int, now: datetime) -> datetime:
    """When a delivery that is to go again is due (before the send window is applied):
    after a growing pause for a provider's bad minute, after `HOLD_RECHECK` for missing
    data, and at once for what waits in a paused campaign (it goes when resumed)."""
    if fault is Fault.TEMPORARY:
        return now + RETRY_BACKOFF[min(attempts, len(RETRY_BACKOFF) - 1)]
    if fault is Fault.DATA:
        return now + HOLD_RECHECK
    return now


def pause_reason(fault: Fault, slug: str, error: str) -> str:
    """What a paused campaign tells staff: what went wrong, in whose words, and what next."""
    if fault is Fault.CONTENT:
        return f"a lesson cannot be sent: {error}; fix it, then run `drip resume {slug}`"
    return (f"the provider refused the sending account: {error}; fix the account or the "
            f"settings, then run `drip resume {slug}`")


# The `TickReport` count each outcome goes in.
_COUNTED_AS = {None: "sent", Fault.RECIPIENT: "failed", Fault.MESSAGE: "failed", Fault.DATA: "held",
               Fault.UNKNOWN: "unknown", Fault.CONTENT: "kept", Fault.ACCOUNT: "kept",
               Fault.TEMPORARY: "retrying"}


def counted_as(fault: Fault | None) -> str:
    """Which count of a tick's report a delivery with this outcome adds to."""
    return _COUNTED_AS[fault]
