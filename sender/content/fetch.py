"""`drip split https://…`: download an article page into a Source.

The page is streamed so that a huge or endless body is refused after ``max_bytes``
(counted after gzip/deflate decoding, which is what would sit in memory), without
reading the rest. Redirects are followed; the final address is the page's base URL
for relative images. Only the headers decide whether the body is worth reading: a
PDF or a picture is refused before its first byte is downloaded.
"""

from __future__ import annotations

import re
import time
from email.message import Message
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import DecodeError, HTTPError, NameResolutionError, ProtocolError, ReadTimeoutError

from sender.content.errors import ContentError
from sender.content.readers import SUFFIXES, Source, detect_format, format_name

CONNECT_TIMEOUT = 10.0  # seconds to open the connection
READ_TIMEOUT = 30.0  # seconds the server may stay silent, for the headers or between body chunks
TOTAL_TIMEOUT = 120.0  # for the whole download: a server dripping bytes never trips READ_TIMEOUT
MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 10
_CHUNK = 64 * 1024

# Content types an article can come as; None means "look at the address's extension".
_CONTENT_TYPES: dict[str, str | None] = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": None,  # raw Markdown files are often served as text/plain
    "application/octet-stream": None,  # the server does not know: the extension may
}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")  # RFC 3986 scheme
_ACCEPT = "text/html,application/xhtml+xml,text/markdown;q=0.9,text/plain;q=0.8,*/*;q=0.1"


def _user_agent() -> str:
    try:
        release = version("dripcourse")
    except PackageNotFoundError:  # running from a source tree that is not installed
        release = "dev"
    return f"dripcourse/{release} (drip split; fetches one article)"


def is_url(argument: str) -> bool:
    """True when ``argument`` is a web address (any ``scheme://``), not a file path.

    Any scheme counts, so that ``ftp://…`` gets fetch_article's "only http and https"
    rather than "file not found".
    """
    return _SCHEME.match(argument) is not None


def fetch_article(
    url: str,
    fmt: str | None = None,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
    max_bytes: int = MAX_BYTES,
) -> Source:
    """Download ``url`` (http or https) or raise ContentError naming it.

    ``fmt`` (text, markdown, html) overrides the format the server's Content-Type or
    the address's extension gives. The Source's ``base_url`` is the address after
    redirects and its ``charset`` the one in the Content-Type header, if any.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ContentError(f"{url}: only http:// and https:// addresses can be fetched")
    host = parts.hostname
    with requests.Session() as session:
        session.max_redirects = MAX_REDIRECTS
        session.headers.update({"User-Agent": _user_agent(), "Accept": _ACCEPT})
        try:
            response = session.get(url, stream=True, timeout=(connect_timeout, read_timeout))
        except requests.RequestException as exc:
            raise ContentError(f"{url}: {_failure(exc, host, connect_timeout, read_timeout)}") from exc
        with response:
            final = response.url
            where = "" if final == url else f" (at {final})"
            if response.status_code >= 400:
                raise ContentError(
                    f"{url}: the server answered {response.status_code} {response.reason or ''}".rstrip()
                    + where
                )
            kind, charset = _content_type(response.headers.get("Content-Type", ""))
            page_format = _format(url, final, kind, fmt)
            data = _body(response, url, max_bytes, read_timeout, total_timeout, host)
    return Source(
        name=url, data=data, fmt=page_format, suffix=SUFFIXES[page_format], charset=charset, base_url=final
    )


def _content_type(header: str) -> tuple[str, str | None]:
    """(media type, charset) from a Content-Type header, parsed by the email package."""
    if not header.strip():
        return "", None
    message = Message()
    message["Content-Type"] = header
    charset = message.get_param("charset")
    return message.get_content_type(), (charset.strip() or None) if isinstance(charset, str) else None


def _format(url: str, final: str, kind: str, fmt: str | None) -> str:
    if kind and kind not in _CONTENT_TYPES:
        raise ContentError(f"{url}: the server sent {kind}, not an article (HTML, Markdown or plain text)")
    if fmt:
        return format_name(fmt, url)
    known = _CONTENT_TYPES.get(kind)
    if known:
        return known
    try:
        return detect_format(Path(urlsplit(final).path), None)
    except ContentError:
        return "text" if kind == "text/plain" else "html"  # a web page is HTML unless it says otherwise


def _body(
    response: requests.Response,
    url: str,
    max_bytes: int,
    read_timeout: float,
    total_timeout: float,
    host: str,
) -> bytes:
    limit = f"{max_bytes // (1024 * 1024)} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
    too_big = f"{url}: the page is larger than {limit}; save it to a file and split that"
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise ContentError(too_big)
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + total_timeout
    try:
        # read1 returns what has arrived (decompressed) instead of waiting for a full chunk,
        # so the deadline is checked even when a server drips a byte at a time.
        while chunk := response.raw.read1(_CHUNK, decode_content=True):
            size += len(chunk)
            if size > max_bytes:
                raise ContentError(too_big)
            if time.monotonic() > deadline:
                raise ContentError(f"{url}: the download took longer than {total_timeout:g} s; gave up")
            chunks.append(chunk)
    except (HTTPError, OSError) as exc:
        raise ContentError(f"{url}: {_failure(exc, host, read_timeout, read_timeout)}") from exc
    return b"".join(chunks)


def _failure(exc: Exception, host: str, connect_timeout: float, read_timeout: float) -> str:
    """What went wrong, in words, for an exception of requests or urllib3."""
    causes = _causes(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"could not connect to {host} within {connect_timeout:g} s"
    if any(isinstance(c, requests.exceptions.ReadTimeout | ReadTimeoutError) for c in causes):
        return f"the server sent nothing for {read_timeout:g} s; gave up"
    if any(isinstance(c, NameResolutionError) for c in causes):
        return f"cannot find the host {host} (DNS lookup failed); check the address and the network"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"the secure connection to {host} failed (certificate or TLS error)"
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects; the address loops"
    if isinstance(exc, requests.exceptions.InvalidSchema):
        return "redirected to an address that is not http:// or https://"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "not a valid web address"
    if isinstance(exc, DecodeError | requests.exceptions.ContentDecodingError):
        return "the page could not be decompressed (a broken gzip or deflate body)"
    if isinstance(exc, ProtocolError | requests.exceptions.ChunkedEncodingError):
        return "the download broke off; try again"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot connect to {host} (connection refused or the network is down)"
    return f"cannot fetch the page ({type(exc).__name__})"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc``, its causes and the errors it wraps (requests keeps urllib3's in args)."""
    found: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.append(current)
        todo += [arg for arg in current.args if isinstance(arg, BaseException)]
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                todo.append(linked)
    return found
