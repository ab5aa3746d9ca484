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
- temporary (429, 5xx, timeouts): the delivery is queued again with backoff.

Nothing queued or held is lost: a paused campaign sends it once `drip resume` runs, a held
delivery goes once it renders, and `drip retry` queues failed ones again.
"""

from __future__ import annotations

from enum import StrEnum


class Fault(StrEnum):
    RECIPIENT = "recipient"
    MESSAGE = "message"
    CONTENT = "content"
    DATA = "data"
    ACCOUNT = "account"
    TEMPORARY = "temporary"

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
