"""The seam between the engine and whatever delivers mail.

Like Django's mail backends: one small base class, each backend one module,
and the test doubles (memory, outbox, console) are real backends too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import ClassVar, Self

from sender.errors import DripError
from sender.outcomes import Fault

# Long List-Unsubscribe URLs stay on one line (RFC 5322 allows 998) rather than
# being folded right after the colon, which some receivers read badly.
MESSAGE_POLICY = policy.default.clone(max_line_length=998)
# Bodies are encoded with their part's policy when their content is set, and a
# quoted-printable line may be at most 76 characters (RFC 2045 §6.7); the message's
# policy only folds headers when it is serialised.
_BODY_POLICY = MESSAGE_POLICY.clone(max_line_length=76)


class ProviderError(DripError):
    """A provider URL or configuration is wrong."""


def _check_header(name: str, value: str) -> str:
    # A CR or LF in a header value would let data inject headers of its own.
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} contains a line break: {value!r}")
    return value


@dataclass(frozen=True)
class OutgoingMessage:
    """One email to one recipient, rendered and ready to hand over."""

    to: str
    from_address: str
    subject: str
    html: str
    text: str
    message_id: str  # stable per delivery, so a retried send is recognisable
    date: datetime
    headers: dict[str, str] = field(default_factory=dict)  # List-Unsubscribe, Reply-To, ...
    delivery_id: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # matched back from webhooks

    def claimed_as(self, delivery_id: int, message_id: str) -> None:
        """Give a message rendered before its delivery row existed that row's id and Message-ID,
        in place: only while nobody has been handed it yet (the engine's claim). A frozen copy
        costs ten times as much, for every email of a batch."""
        object.__setattr__(self, "delivery_id", delivery_id)
        object.__setattr__(self, "message_id", message_id)
        self.metadata["delivery"] = str(delivery_id)

    def as_email(self) -> EmailMessage:
        """The RFC 5322 form: multipart/alternative, text first, HTML preferred."""
        msg = EmailMessage(policy=MESSAGE_POLICY)
        msg["From"] = _check_header("From", self.from_address)
        msg["To"] = _check_header("To", self.to)
        msg["Subject"] = _check_header("Subject", self.subject)
        msg["Date"] = format_datetime(self.date)
        msg["Message-ID"] = _check_header("Message-ID", self.message_id)
        for name, value in self.headers.items():
            msg[name] = _check_header(name, value)
        msg["MIME-Version"] = "1.0"
        msg.make_alternative()
        for body, subtype in ((self.text, "plain"), (self.html, "html")):
            part = EmailMessage(policy=_BODY_POLICY)
            part.set_content(body, subtype=subtype, cte="quoted-printable")
            del part["MIME-Version"]  # set_content adds it, but it belongs on the message alone
            msg.attach(part)
        return msg


@dataclass(frozen=True)
class SendResult:
    message: OutgoingMessage
    ok: bool
    provider_message_id: str | None = None
    error: str | None = None
    # Whose fault a failure is (`sender.outcomes`): what the engine does with it.
    fault: Fault | None = None

    def __post_init__(self) -> None:
        if not self.ok and self.fault is None:
            object.__setattr__(self, "fault", Fault.TEMPORARY)

    @property
    def permanent(self) -> bool:
        return self.fault is not None and self.fault.fails_delivery

    @property
    def suppress(self) -> bool:
        return self.fault is not None and self.fault.suppresses


class Provider:
    """Base class: subclasses implement `send_messages`; `open`/`close` manage
    connections so a batch reuses one session."""

    scheme: ClassVar[str]
    name: ClassVar[str]

    def __init__(self, url: str) -> None:
        self.url = url
        self.interrupted = threading.Event()  # set by `interrupt`: finish what is under way only

    def interrupt(self) -> None:
        """The process is stopping: let requests under way finish, but wait for and retry
        nothing more (the engine queues what failed for the next run)."""
        self.interrupted.set()

    def open(self) -> None:
        """Acquire connections; a no-op for backends that have none."""

    def close(self) -> None:
        """Release connections."""

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        raise NotImplementedError

    def send_stream(self, messages: Iterable[OutgoingMessage]) -> list[SendResult]:
        """`send_messages` for messages still being rendered: by default once all are there; a
        provider that can post some while the rest render (the HTTP APIs) does so."""
        batch = list(messages)
        return self.send_messages(batch) if batch else []

    def find_sent(self, delivery_ids: Sequence[int]) -> dict[int, str]:
        """The provider's own record of which of these deliveries (our "delivery" metadata)
        it took: delivery id -> its message id. Used to settle outcomes that are unknown; a
        provider with no message log to ask finds nothing."""
        return {}

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
