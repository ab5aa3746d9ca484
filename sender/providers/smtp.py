"""SMTP: `smtp://HOST:PORT` (port 587 by default; STARTTLS whenever the server offers it,
and `?starttls=require` refuses to go on without it) or `smtps://HOST:PORT` (implicit TLS,
port 465 by default). One connection per provider, reused for a whole batch.

Credentials, from the environment only and optional (a local relay may need none):
``SMTP_USERNAME`` and ``SMTP_PASSWORD``; setting one without the other is an error.

URL parameters: ``starttls`` (``auto`` or ``require``), ``cafile`` (a PEM bundle to trust,
for a relay with a private certificate authority), ``timeout`` (seconds, default 30),
``rate`` (messages per second, default 0 = no limit), ``attempts`` (tries per message when
the connection drops or the server answers 4xx, default 3), ``max_wait``.

A 5xx answer to RCPT TO refuses the recipient (the address is suppressed); a 5xx answer to
the sender or the data fails that message; a refused login is the account's fault (the engine
pauses the campaign); a 4xx answer or a dropped connection is retried with the shared
backoff, then reported as a temporary failure (see `sender.outcomes`). SMTP has no metadata field,
so our metadata travels in an ``X-Drip-Metadata`` header (URL-encoded pairs), which bounce
reports quote back; the provider message id is our own Message-ID.

Thread-safe: the scheduler's tick and web requests (confirmations, test sends) share one
provider, and an SMTP session is one conversation, so each `send_messages`, `open` and
`close` holds the provider's lock.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import threading
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from urllib.parse import urlencode, urlsplit

from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, Provider, ProviderError, SendResult
from sender.providers.http import (
    RetryPolicy,
    Throttle,
    TimeSource,
    address_of,
    check_message,
    number,
    query_params,
    redact,
)

METADATA_HEADER = "X-Drip-Metadata"
PARAMS = frozenset({"starttls", "cafile", "timeout", "rate", "attempts", "max_wait"})


class _Retry(Exception):
    """A failure worth another try on a fresh connection."""


class SmtpProvider(Provider):
    scheme = "smtp"
    name = "smtp"

    def __init__(self, url: str, *, environ: Mapping[str, str] | None = None,
                 clock: TimeSource | None = None) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        self.params = query_params(url, PARAMS)
        self.implicit_tls = parts.scheme == "smtps"
        if not parts.hostname:
            raise ProviderError(f"smtp: {redact(url)!r} needs a host, e.g. smtp://mail.example.com:587")
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.starttls = self.params.get("starttls", "auto")
        if self.starttls not in ("auto", "require"):
            raise ProviderError(f"smtp: starttls={self.starttls!r} must be auto or require")
        self.timeout = number(self.params, "timeout", 30.0, minimum=0.001)
        self.environ = os.environ if environ is None else environ
        self.clock = clock or TimeSource()
        self.throttle = Throttle(number(self.params, "rate", 0.0), self.clock)
        self.retry = RetryPolicy(int(number(self.params, "attempts", 3, minimum=1)),
                                 number(self.params, "max_wait", 60.0), self.clock)
        self._conn: smtplib.SMTP | None = None
        # Reentrant: send_messages holds it and opens, reconnects and drops within.
        self._lock = threading.RLock()

    # -- connection -------------------------------------------------------------------------------

    def credentials(self) -> tuple[str, str] | None:
        user, password = self.environ.get("SMTP_USERNAME"), self.environ.get("SMTP_PASSWORD")
        if bool(user) != bool(password):
            missing = "SMTP_PASSWORD" if user else "SMTP_USERNAME"
            raise ProviderError(f"smtp: set the {missing} environment variable too (or neither, "
                                "for a relay without authentication)")
        return (user, password) if user and password else None

    def open(self) -> None:
        with self._lock:
            if self._conn is None:
                credentials = self.credentials()  # before connecting: a config error is not an outage
                self._conn = self._connect(credentials)

    def _connect(self, credentials: tuple[str, str] | None) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.params.get("cafile"))
        conn: smtplib.SMTP
        if self.implicit_tls:
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if conn.has_extn("starttls"):
                conn.starttls(context=context)
                conn.ehlo()
            elif self.starttls == "require":
                conn.close()
                raise ProviderError(f"smtp: {self.host}:{self.port} does not offer STARTTLS "
                                    "(starttls=require)")
        if credentials:
            conn.login(*credentials)
        return conn

    def close(self) -> None:
        with self._lock:  # never QUIT in the middle of another thread's message
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):  # already gone: nothing left to release
                conn.close()

    # -- sending --------------------------------------------------------------------------------

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        # The whole batch under the lock: one thread's commands and replies never interleave
        # with another's on the shared connection.
        with self._lock:
            return [self._send_one(m) for m in messages]

    def _send_one(self, m: OutgoingMessage) -> SendResult:
        try:
            check_message(m)
            email = email_of(m)
        except ValueError as exc:
            return SendResult(m, ok=False, error=f"smtp: {exc}", fault=Fault.MESSAGE)
        failures = 0
        while True:
            self.throttle.acquire(1)
            try:
                return self._deliver(m, email)
            except _Retry as exc:
                failures += 1
                wait = self.retry.wait_before_retry(failures, None)
                if wait is None or self.interrupted.is_set():
                    return SendResult(m, ok=False, error=f"smtp: {exc}")
                self.clock.sleep(wait)

    def _deliver(self, m: OutgoingMessage, email: EmailMessage) -> SendResult:
        """One try; raises _Retry for what another try may fix."""
        try:
            self.open()
        except smtplib.SMTPAuthenticationError as exc:  # the message is fine; the account is not
            return SendResult(m, ok=False, error=f"smtp: login refused: {exc.smtp_code} {exc.smtp_error!r}",
                              fault=Fault.ACCOUNT)
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise _Retry(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        assert self._conn is not None
        try:
            self._conn.send_message(email, from_addr=address_of(m.from_address)[1],
                                    to_addrs=[address_of(m.to)[1]])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            # 5xx to RCPT TO: this mailbox is refused (user unknown, disabled), not the message
            return self._refused(m, code, text, Fault.RECIPIENT)
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, 421 ...
            return self._refused(m, exc.smtp_code, exc.smtp_error, Fault.MESSAGE)
        except smtplib.SMTPNotSupportedError as exc:  # e.g. needs SMTPUTF8 the server lacks
            return SendResult(m, ok=False, error=f"smtp: {exc}", fault=Fault.MESSAGE)
        except (smtplib.SMTPException, OSError) as exc:  # dropped or refused connection, timeout
            self._drop()
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        return SendResult(m, ok=True, provider_message_id=m.message_id)

    def _refused(self, m: OutgoingMessage, code: int, text: bytes | str, fault: Fault) -> SendResult:
        """A refusal: `fault` if it is for good (5xx); a 4xx is tried again."""
        reason = text.decode(errors="replace") if isinstance(text, bytes) else text
        if 400 <= code < 500:
            if code == 421:  # the server is closing this connection
                self._drop()
            raise _Retry(f"{code} {reason}")
        return SendResult(m, ok=False, error=f"smtp: {code} {reason}",
                          fault=fault if code >= 500 else Fault.TEMPORARY)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def email_of(m: OutgoingMessage) -> EmailMessage:
    """`m` as an SMTP relay gets it: with our metadata in a header, SMTP having no field for it
    (the outbox and console backends show the same bytes)."""
    email = m.as_email()
    if m.metadata:
        email[METADATA_HEADER] = urlencode(m.metadata)
    return email
