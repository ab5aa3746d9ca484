"""Shared plumbing for the HTTP email APIs: one pooled session, timeouts,
throttling, retries, and turning a provider's answer into one `SendResult` per
message.

A provider module only says how a batch becomes a request and how an answer
becomes results; everything about *when* and *how often* to ask lives here.

Common URL query parameters (each provider sets its own defaults):

- ``rate``: messages per second, averaged (0 = no limit);
- ``rps``: requests per second, for APIs that count calls rather than messages (0 = no limit);
- ``concurrency``: requests under way at once;
- ``attempts``: tries per request before its messages are reported failed;
- ``timeout``: seconds to wait for an answer;
- ``max_wait``: the longest ``Retry-After`` worth waiting for inside one send; a longer one
  fails the batch for now, and the engine queues it again;
- ``endpoint``: another base URL, e.g. ``http://127.0.0.1:8025`` for a local fake server.

Retries: 408, 429, 5xx and failures to connect are retried with exponential backoff and
jitter, honouring ``Retry-After`` (seconds or an HTTP date). A request that went out but got
no answer (a read timeout, a connection dropped after sending) or an answer that cannot be
read is ambiguous: the provider may have accepted it, so it is not asked again (that could
send it twice) but reported as `Fault.UNKNOWN`; only an API with an idempotency key
(Resend) is asked again, with the same key. When the attempts run out the messages
come back failed with `Fault.TEMPORARY`: a provider outage never raises, the engine
decides what to do. A refusal is classified by `HttpProvider.fault_of` (see
`sender.outcomes`): the account's fault (401, 403, 413 and what each provider says is about
the sender or the account) pauses the campaign; the recipient's fault suppresses the address.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter

from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, Provider, ProviderError, SendResult, _check_header

CONNECT_TIMEOUT = 5.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
COMMON_PARAMS = frozenset({"rate", "rps", "concurrency", "attempts", "timeout", "max_wait", "endpoint"})


# -- time ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeSource:
    """Everything that waits or reads a clock, injectable so tests never sleep."""

    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    time: Callable[[], float] = time.time  # wall clock, for HTTP dates and request signing
    random: Callable[[], float] = random.random


class Throttle:
    """Spaces out work so that at most `rate` units go per second on average.

    A request of n units goes as soon as the previous one's share of time has passed
    and then holds the next one back by n/rate, so a batch larger than one second's
    worth still goes (rather than waiting for a bucket that can never fill)."""

    def __init__(self, rate: float, clock: TimeSource) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self._next_free = float("-inf")
        self._holds = 0  # how many 429 holds so far
        self._lock = threading.Lock()

    def acquire(self, units: int = 1) -> None:
        while True:
            with self._lock:
                now = self.clock.monotonic()
                start = max(now, self._next_free)
                self._next_free = start + units * self.interval
                holds = self._holds
            if start > now:  # sleep outside the lock, so other workers can book their turn
                self.clock.sleep(start - now)
            with self._lock:
                if self._holds == holds:
                    return
            # A 429 came while we slept: our turn was booked before it, so book again behind it.

    def hold(self, seconds: float) -> None:
        """Let nothing go for `seconds`, whoever asks: a 429 is about the account, not one request."""
        with self._lock:
            self._next_free = max(self._next_free, self.clock.monotonic() + seconds)
            self._holds += 1


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """`Retry-After` as seconds from `now` (epoch seconds); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    max_wait: float
    clock: TimeSource
    base: float = BACKOFF_BASE
    cap: float = BACKOFF_CAP

    def backoff(self, failures: int) -> float:
        """Exponential, with "equal jitter": at least half the step, so workers that failed
        together do not come back together."""
        step = min(self.cap, self.base * 2 ** (failures - 1))
        return step / 2 + self.clock.random() * step / 2

    def wait_before_retry(self, failures: int, asked: float | None) -> float | None:
        """Seconds to wait before the next try (`asked` by the provider, or backoff), or None
        when not worth waiting in this send."""
        if failures >= self.attempts:
            return None
        wait = asked if asked is not None else self.backoff(failures)
        return wait if wait <= self.max_wait else None


# -- URL options --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpOptions:
    endpoint: str
    rate: float
    rps: float
    concurrency: int
    attempts: int
    timeout: float
    max_wait: float


def query_params(url: str, allowed: Iterable[str]) -> dict[str, str]:
    """The URL's query as single values; an unknown name is an error, so a typo is not ignored."""
    allowed = set(allowed)
    params = {}
    for name, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items():
        if name not in allowed:
            raise ProviderError(f"provider {redact(url)!r}: unknown parameter {name!r} "
                                f"(known: {', '.join(sorted(allowed))})")
        params[name] = values[-1]
    return params


def number(params: Mapping[str, str], name: str, default: float, *, minimum: float = 0) -> float:
    if name not in params:
        return default
    try:
        value = float(params[name])
    except ValueError:
        raise ProviderError(f"provider parameter {name}={params[name]!r} is not a number") from None
    if value < minimum:
        raise ProviderError(f"provider parameter {name}={params[name]!r} must be at least {minimum:g}")
    return value


def redact(url: str) -> str:
    """The URL without any user:password part, for error messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


# -- requests and replies -----------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    path: str
    json: Any = None
    form: list[tuple[str, str]] | None = None  # sent as multipart/form-data; repeated names allowed
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # JSON the provider encoded itself (see `encode_json`)


def encode_json(value: Any) -> bytes:
    """JSON as UTF-8 bytes, with orjson: encoding two ~20 kB bodies per message was a third
    of the send path's CPU with the standard library. A lone surrogate, which orjson refuses,
    goes through the escaping standard encoder instead."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


@dataclass(frozen=True)
class Reply:
    status: int | None  # None: no HTTP answer at all (timeout, refused connection)
    text: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None  # what went wrong when there was no answer
    # The request went out but no answer came (a read timeout, a connection dropped after
    # sending): the provider may have accepted it.
    maybe_accepted: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        return orjson.loads(self.text)  # a 500-message batch answers with 500 entries


def address_of(mailbox: str) -> tuple[str, str]:
    """(display name, address) of "Name <addr>" or "addr"."""
    name, addr = parseaddr(mailbox)
    return name, addr or mailbox


def check_message(m: OutgoingMessage) -> None:
    """Raise ValueError for a message no provider should take (a header with a line break)."""
    for name, value in (("To", m.to), ("From", m.from_address), ("Subject", m.subject),
                        ("Message-ID", m.message_id), *m.headers.items()):
        _check_header(name, value)


def custom_headers(m: OutgoingMessage, *, without: Iterable[str] = ("Reply-To",)) -> dict[str, str]:
    """Our headers for a provider's custom-header field: Message-ID included (so a retried
    delivery is recognisable), minus those the API takes as fields of their own."""
    skip = {name.lower() for name in without}
    return {k: v for k, v in {"Message-ID": m.message_id, **m.headers}.items() if k.lower() not in skip}


def reply_to(m: OutgoingMessage) -> str | None:
    return next((v for k, v in m.headers.items() if k.lower() == "reply-to"), None)


def failed(messages: Sequence[OutgoingMessage], error: str, fault: Fault) -> list[SendResult]:
    return [SendResult(m, ok=False, error=error, fault=fault) for m in messages]


def group_identical(messages: Sequence[OutgoingMessage], limit: int,
                    key: Callable[[OutgoingMessage], Any]) -> list[list[int]]:
    """Indexes of messages grouped by `key` (their shared content), at most `limit` per group
    and each recipient address at most once per group, first-seen order kept."""
    open_groups: dict[Any, tuple[list[int], set[str]]] = {}
    groups: list[list[int]] = []
    for i, m in enumerate(messages):
        k = key(m)
        addr = address_of(m.to)[1].lower()
        group, seen = open_groups.get(k) or ([], set())
        if not group or len(group) >= limit or addr in seen:
            group, seen = open_groups[k] = ([], set())
            groups.append(group)
        group.append(i)
        seen.add(addr)
    return groups


def _before_sending(exc: requests.RequestException) -> bool:
    """Whether a failed request certainly never reached the provider: no connection could
    be made (refused, unresolvable, TLS failed). Anything else may have been received."""
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

    seen: BaseException | None = exc
    for _ in range(10):  # down the chain of causes (requests wraps urllib3 wraps the socket's)
        if seen is None:
            break
        if isinstance(seen, (NewConnectionError, NameResolutionError, ConnectTimeoutError,
                             requests.exceptions.SSLError)):
            return True
        reason = getattr(seen, "reason", None)
        seen = reason if isinstance(reason, BaseException) else (
            seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else seen.__cause__)
    return False


# -- the base class -----------------------------------------------------------------------------


class HttpProvider(Provider):
    """A provider reached over an HTTP API. Subclasses set the class attributes and implement
    `build_request` and `read_results`; they may override `group` and `fault_of`."""

    default_endpoint: ClassVar[str]
    batch_limit: ClassVar[int] = 1
    default_rate: ClassVar[float] = 0.0
    default_rps: ClassVar[float] = 0.0
    default_concurrency: ClassVar[int] = 2
    default_attempts: ClassVar[int] = 5
    default_timeout: ClassVar[float] = 30.0
    default_max_wait: ClassVar[float] = 60.0
    required_env: ClassVar[tuple[str, ...]] = ()
    optional_env: ClassVar[tuple[str, ...]] = ()
    extra_params: ClassVar[frozenset[str]] = frozenset()
    # When a request of several messages is refused as a whole (a 4xx for one bad address
    # sinks SendGrid's and Mailgun's whole call), send them one by one to find the culprit:
    # nothing of a refused request was sent, so that is safe.
    split_refused_batches: ClassVar[bool] = False
    # The API recognises a request sent again (an idempotency key): a request whose answer
    # was lost may then be asked again without sending twice.
    idempotent: ClassVar[bool] = False

    def __init__(self, url: str, *, environ: Mapping[str, str] | None = None,
                 clock: TimeSource | None = None, session: requests.Session | None = None) -> None:
        super().__init__(url)
        self.params = query_params(url, COMMON_PARAMS | self.extra_params)
        self.options = self._options(self.params)
        self.environ = os.environ if environ is None else environ
        self.clock = clock or TimeSource()
        self.retry = RetryPolicy(self.options.attempts, self.options.max_wait, self.clock)
        self.message_throttle = Throttle(self.options.rate, self.clock)
        self.request_throttle = Throttle(self.options.rps, self.clock)
        self.secrets: dict[str, str] = {}
        self._session = session
        self._own_session = session is None
        self._pool: ThreadPoolExecutor | None = None

    def _options(self, params: Mapping[str, str]) -> HttpOptions:
        return HttpOptions(
            endpoint=(params.get("endpoint") or self.base_endpoint()).rstrip("/"),
            rate=number(params, "rate", self.default_rate),
            rps=number(params, "rps", self.default_rps),
            concurrency=int(number(params, "concurrency", self.default_concurrency, minimum=1)),
            attempts=int(number(params, "attempts", self.default_attempts, minimum=1)),
            timeout=number(params, "timeout", self.default_timeout, minimum=0.001),
            max_wait=number(params, "max_wait", self.default_max_wait),
        )

    def base_endpoint(self) -> str:
        """The API's base URL when no `endpoint` parameter is given."""
        return self.default_endpoint

    # -- connections ----------------------------------------------------------------------------

    def open(self) -> None:
        """Read credentials (failing fast, naming the missing variable) and set up the pool."""
        self.secrets = self._read_secrets()
        if self._session is None:
            self._session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self.options.concurrency, max_retries=0)
            self._session.mount("https://", adapter)
            self._session.mount("http://", adapter)
        if self._pool is None and self.options.concurrency > 1:
            self._pool = ThreadPoolExecutor(self.options.concurrency, thread_name_prefix=self.name)

    def _read_secrets(self) -> dict[str, str]:
        missing = [v for v in self.required_env if not self.environ.get(v)]
        if missing:
            raise ProviderError(f"{self.name}: set the {' and '.join(missing)} environment variable"
                                f"{'s' if len(missing) > 1 else ''} (credentials come only from the "
                                "environment)")
        wanted = self.required_env + self.optional_env
        return {v: self.environ[v] for v in wanted if self.environ.get(v)}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._session is not None and self._own_session:
            self._session.close()
            self._session = None

    # -- what subclasses provide ----------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {}

    def group(self, messages: Sequence[OutgoingMessage]) -> list[list[int]]:
        """Which messages go in one request (indexes); by default in order, `batch_limit` each."""
        n = self.batch_limit
        return [list(range(i, min(i + n, len(messages)))) for i in range(0, len(messages), n)]

    def build_request(self, batch: Sequence[OutgoingMessage]) -> HttpRequest:
        raise NotImplementedError

    def read_results(self, batch: Sequence[OutgoingMessage], reply: Reply) -> list[SendResult]:
        """One result per message of a request that got a 2xx answer."""
        raise NotImplementedError

    def sign(self, prepared: requests.PreparedRequest) -> None:
        """Last touch before sending (SES signs the exact bytes here)."""

    def is_retryable(self, reply: Reply) -> bool:
        if reply.maybe_accepted:  # asking again could send it twice, unless the API dedupes
            return self.idempotent
        return reply.status is None or reply.status in (408, 429) or reply.status >= 500

    def fault_of(self, reply: Reply) -> Fault:
        """Whose fault a refused request is. 401/403 (a key or an account setting) and 413 are
        the account's: the messages are fine, so the engine pauses rather than drops them. Any
        other 4xx is about the request's messages; a provider that can tell a refused recipient
        from a refused message (and from a refused sender) says so in its override."""
        status = reply.status
        if reply.maybe_accepted:
            return Fault.UNKNOWN
        if status is None or status in (408, 409, 429) or status >= 500:
            return Fault.TEMPORARY
        if status in (401, 403, 413):
            return Fault.ACCOUNT
        return Fault.MESSAGE

    def asked_wait(self, reply: Reply) -> float | None:
        """Seconds the provider asked us to wait before trying again, if it said."""
        return retry_after_seconds(reply.headers.get("Retry-After"), self.clock.time())

    def error_detail(self, reply: Reply) -> str:
        """The provider's own words for a failed request."""
        try:
            body = reply.json()
        except ValueError:
            return reply.text.strip()[:300]
        if isinstance(body, dict):
            for key in ("message", "Message", "error"):
                if isinstance(body.get(key), str):
                    return body[key]
            if isinstance(body.get("errors"), list):
                return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e)
                                 for e in body["errors"])
        return reply.text.strip()[:300]

    # -- sending --------------------------------------------------------------------------------

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        return self.send_stream(messages)

    def send_stream(self, messages: Iterable[OutgoingMessage]) -> list[SendResult]:
        """`send_messages` for messages still being produced (the engine renders them as this
        consumes them): with the default in-order grouping, each full request goes to the pool
        as soon as the next message shows up, so the API's answer time overlaps the rendering of
        the rest. A single request is sent on the calling thread, as before; a provider that
        groups by content (`group` overridden) needs every message before its first request."""
        received: list[OutgoingMessage] = []
        slots: list[SendResult | None] = []
        futures: list[Future[None]] = []

        def sendable() -> Iterator[int]:
            for m in messages:
                i = len(received)
                received.append(m)
                slots.append(None)
                try:
                    check_message(m)
                except ValueError as exc:  # one malformed message must not sink its batch
                    slots[i] = SendResult(m, ok=False, error=f"{self.name}: {exc}", fault=Fault.MESSAGE)
                else:
                    yield i

        def run(indexes: list[int]) -> None:
            for i, result in zip(indexes, self._send_batch([received[i] for i in indexes]), strict=True):
                slots[i] = result

        try:
            for group, last in self._groups(sendable(), received):
                if self._session is None:
                    self.open()
                if self._pool is None or (last and not futures):
                    run(group)
                else:
                    futures.append(self._pool.submit(run, group))
        finally:
            wait(futures)  # never return, or raise, with a request still under way
        for future in futures:
            future.result()  # a request that raised raises here, as it would have inline
        return [r or SendResult(received[i], ok=False, error=f"{self.name}: no result for this message")
                for i, r in enumerate(slots)]

    def _groups(self, indexes: Iterator[int], messages: Sequence[OutgoingMessage]
                ) -> Iterator[tuple[list[int], bool]]:
        """(indexes into `messages` of one request, whether it is the last request), each
        group given as soon as it is known."""
        if type(self).group is not HttpProvider.group:
            ready = list(indexes)
            groups = self.group([messages[i] for i in ready]) if ready else []
            for n, g in enumerate(groups):
                yield [ready[j] for j in g], n == len(groups) - 1
            return
        group: list[int] = []
        for i in indexes:
            if len(group) == self.batch_limit:  # full, and more follow: it can go now
                yield group, False
                group = []
            group.append(i)
        if group:
            yield group, True

    def _send_batch(self, batch: list[OutgoingMessage]) -> list[SendResult]:
        reply = self._exchange(self.build_request(batch), len(batch))
        if reply.ok:
            return self._read(batch, reply)
        fault = self.fault_of(reply)
        if fault.fails_delivery and len(batch) > 1:
            if self.split_refused_batches:
                return [r for m in batch for r in self._send_batch([m])]
            fault = Fault.MESSAGE  # which recipient was refused is unknown: suppress nobody
        return failed(batch, self.describe(reply), fault)

    def _read(self, batch: list[OutgoingMessage], reply: Reply) -> list[SendResult]:
        try:
            results = self.read_results(batch, reply)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            # Accepted, but we cannot tell what happened to each message: sending again could
            # send it twice, so its outcome is unknown.
            return failed(batch, f"{self.name}: unreadable answer ({exc}): {reply.text[:200]}",
                          Fault.UNKNOWN)
        missing = failed(batch[len(results):], f"{self.name}: the answer had no result for this message",
                         Fault.UNKNOWN)
        return results[:len(batch)] + missing

    def describe(self, reply: Reply) -> str:
        if reply.status is None:
            return f"{self.name}: {reply.problem}"
        return f"{self.name}: HTTP {reply.status}: {self.error_detail(reply)}"

    def _exchange(self, request: HttpRequest, size: int) -> Reply:
        """Send with throttling and retries; the last reply, good or bad."""
        failures = 0
        while True:
            self.message_throttle.acquire(size)
            self.request_throttle.acquire(1)
            reply = self._attempt(request)
            if reply.ok or not self.is_retryable(reply):
                return reply
            failures += 1
            wait = self.retry.wait_before_retry(failures, self.asked_wait(reply))
            if wait is None or self.interrupted.is_set():
                return reply
            if reply.status == 429:  # every request of this provider waits, not just this one
                self.message_throttle.hold(wait)
                self.request_throttle.hold(wait)
            else:
                self.clock.sleep(wait)

    def _attempt(self, request: HttpRequest) -> Reply:
        assert self._session is not None
        files = [(name, (None, value)) for name, value in request.form] if request.form else None
        headers = {**self.auth_headers(), **request.headers}
        body = request.body if request.json is None else encode_json(request.json)
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        prepared = self._session.prepare_request(requests.Request(
            "POST", self.options.endpoint + request.path, files=files, data=body, headers=headers,
        ))
        self.sign(prepared)
        try:
            response = self._session.send(prepared, timeout=(CONNECT_TIMEOUT, self.options.timeout))
        except requests.ConnectTimeout:
            return Reply(None, problem=f"no connection within {CONNECT_TIMEOUT:g} s")
        except requests.Timeout:
            return Reply(None, problem=f"no answer within {self.options.timeout:g} s", maybe_accepted=True)
        except requests.RequestException as exc:
            return Reply(None, problem=f"connection failed: {type(exc).__name__}: {exc}",
                         maybe_accepted=not _before_sending(exc))
        return Reply(response.status_code, response.text, response.headers)
