"""The links of an email, and whether each one answers.

`links(html)` lists the `<a href>` targets in order, once each, with their link texts.
`check(urls)` asks each http(s) link with HEAD, following redirects, and falls back to a
GET (headers only: the body is never read) when HEAD is refused or fails, since many
servers answer HEAD with 403, 404 or 405. Each request gives up after `timeout` seconds
without an answer; a few links are asked at once (`workers`). Only the preview calls it,
and only when staff press its button: a page load never reaches another server.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import requests
from bs4 import BeautifulSoup, Tag

TIMEOUT_S = 5.0
WORKERS = 8
MAX_REDIRECTS = 10
USER_AGENT = "Mozilla/5.0 (compatible; dripcourse-linkcheck; +preview)"


@dataclass(frozen=True)
class Link:
    url: str
    texts: tuple[str, ...]  # what the reader clicks, once per distinct text

    @property
    def checkable(self) -> bool:
        return urlsplit(self.url).scheme in ("http", "https")


@dataclass(frozen=True)
class LinkStatus:
    url: str
    ok: bool
    status: int | None = None  # the last answer's HTTP status
    final_url: str = ""  # where redirects ended, when they did
    redirects: int = 0
    method: str = "HEAD"
    error: str = ""

    @property
    def summary(self) -> str:
        """"200 OK", "404 Not Found", "301 → 200 OK at https://…", "no answer within 5 s"."""
        if self.error:
            return self.error
        try:
            said = f"{self.status} {HTTPStatus(self.status or 0).phrase}"
        except ValueError:  # a status of the server's own
            said = str(self.status)
        if self.redirects:
            plural = "s" if self.redirects > 1 else ""
            return f"{self.redirects} redirect{plural} → {said} at {self.final_url}"
        return said


def links(html: str) -> list[Link]:
    """Every `<a href>` of `html`, in order, once per URL."""
    texts: dict[str, list[str]] = {}
    for a in BeautifulSoup(html, "html.parser").find_all("a", href=True):
        assert isinstance(a, Tag)
        url = str(a["href"]).strip()
        if not url or url.startswith("#"):
            continue
        text = " ".join(a.get_text(" ").split()) or str(a.get("aria-label", "") or a.get("title", ""))
        seen = texts.setdefault(url, [])
        if text and text not in seen:
            seen.append(text)
    return [Link(url, tuple(t)) for url, t in texts.items()]


def check(urls: Iterable[str], *, timeout: float = TIMEOUT_S, workers: int = WORKERS) -> list[LinkStatus]:
    """The status of each URL, in the order given (http and https only)."""
    todo: Sequence[str] = list(dict.fromkeys(urls))
    if not todo:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo)))) as pool:
        return list(pool.map(lambda url: check_one(url, timeout=timeout), todo))


def check_one(url: str, *, timeout: float = TIMEOUT_S) -> LinkStatus:
    if urlsplit(url).scheme not in ("http", "https"):
        return LinkStatus(url, ok=False, method="", error="not checked: not an http(s) link")
    with requests.Session() as session:
        session.max_redirects = MAX_REDIRECTS
        session.headers["User-Agent"] = USER_AGENT
        head = _ask(session, "HEAD", url, timeout)
        if head.ok or head.error.startswith("no answer"):
            return head  # a server that does not answer HEAD in time will not answer GET sooner
        return _ask(session, "GET", url, timeout)


def _ask(session: requests.Session, method: str, url: str, timeout: float) -> LinkStatus:
    try:
        # (connect, read): the read timeout is the longest silence, so a slow server is cut off too
        with session.request(method, url, timeout=(timeout, timeout), allow_redirects=True,
                             stream=True) as answer:
            return LinkStatus(url, ok=answer.status_code < 400, status=answer.status_code,
                              final_url=answer.url if answer.history else "",
                              redirects=len(answer.history), method=method)
    except requests.Timeout:
        return LinkStatus(url, ok=False, method=method, error=f"no answer within {timeout:g} s")
    except requests.TooManyRedirects:
        return LinkStatus(url, ok=False, method=method, error=f"more than {MAX_REDIRECTS} redirects")
    except requests.ConnectionError as exc:
        return LinkStatus(url, ok=False, method=method, error=f"cannot connect: {_reason(exc)}")
    except requests.RequestException as exc:
        return LinkStatus(url, ok=False, method=method, error=f"{type(exc).__name__}: {_reason(exc)}")


def _reason(exc: Exception) -> str:
    """The innermost cause, on one line ("[Errno 111] Connection refused")."""
    cause: BaseException = exc
    while cause.__cause__ is not None or (cause.args and isinstance(cause.args[0], BaseException)):
        cause = cause.__cause__ or cause.args[0]
    text = str(cause)
    if "Connection refused" in text:
        return "connection refused"
    if any(s in text for s in ("Name or service not known", "nodename nor servname", "failure in name")):
        return "no such host"
    return " ".join(text.split())[:160]
