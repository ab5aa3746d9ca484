"""`drip split https://…`: pages fetched from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender.content import ContentError
from sender.content.decoding import decode_text
from sender.content.fetch import fetch_article, is_url

PAGE = (
    b"<html><head><title>Breathing</title></head><body><h1>Breathing</h1><p>Out on effort.</p></body></html>"
)
MB = 1024 * 1024


def _counting_body(produced: list[int], chunk: bytes, limit: int) -> Iterator[bytes]:
    """Up to ``limit`` bytes in ``chunk``s, counting what the server handed to the socket."""
    while produced[0] < limit:
        produced[0] += len(chunk)
        yield chunk


def _held(release: threading.Event, first: bytes = b"") -> Iterator[bytes]:
    """Send ``first`` then nothing until the test releases the server (at most 10 s)."""
    if first:
        yield first
    release.wait(10)
    yield b"</html>"


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets a stalled handler finish, so the shared server is free for the next test."""
    event = threading.Event()
    yield event
    event.set()


def test_page_is_fetched_with_its_format_charset_and_address(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/post").respond_with_data(PAGE, content_type="text/html; charset=ISO-8859-2")
    url = httpserver.url_for("/post")
    source = fetch_article(url)
    assert source.data == PAGE
    assert (source.fmt, source.suffix, source.charset) == ("html", ".html", "ISO-8859-2")
    assert (source.name, source.base_url) == (url, url)


def test_user_agent_names_dripcourse(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/post").respond_with_data(PAGE, content_type="text/html")
    fetch_article(httpserver.url_for("/post"))
    request, _ = httpserver.log[-1]
    assert request.headers["User-Agent"].startswith("dripcourse/")


def test_redirect_is_followed_and_the_final_address_is_the_base_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/blog/2024/breathing.html"}
    )
    httpserver.expect_request("/blog/2024/breathing.html").respond_with_data(PAGE, content_type="text/html")
    source = fetch_article(httpserver.url_for("/old"))
    assert source.data == PAGE
    assert source.name == httpserver.url_for("/old")
    assert source.base_url == httpserver.url_for("/blog/2024/breathing.html")


def test_redirect_loop_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    with pytest.raises(ContentError, match="redirects; the address loops"):
        fetch_article(httpserver.url_for("/loop"))


def test_redirect_away_from_the_web_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/away").respond_with_data(
        "", status=302, headers={"Location": "ftp://127.0.0.1/article.txt"}
    )
    with pytest.raises(ContentError, match="not http:// or https://"):
        fetch_article(httpserver.url_for("/away"))


@pytest.mark.parametrize("status", [404, 410, 500, 503])
def test_error_status_is_refused_with_the_status(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/gone").respond_with_data("no such page", status=status)
    url = httpserver.url_for("/gone")
    with pytest.raises(ContentError, match=rf"^{url}: the server answered {status}\b"):
        fetch_article(url)


def test_error_after_a_redirect_names_both_addresses(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/moved").respond_with_data("", status=301, headers={"Location": "/missing"})
    httpserver.expect_request("/missing").respond_with_data("", status=404)
    with pytest.raises(ContentError, match=r"answered 404 .*\(at http://.*/missing\)"):
        fetch_article(httpserver.url_for("/moved"))


def test_streamed_body_over_the_limit_stops_being_read(httpserver: HTTPServer) -> None:
    produced = [0]

    def endless(_: Request) -> Response:
        return Response(_counting_body(produced, b"<p>" + b"x" * (64 * 1024) + b"</p>", 400 * MB))

    httpserver.expect_request("/huge").respond_with_handler(endless)
    with pytest.raises(ContentError, match=r"larger than 1 MB; save it to a file"):
        fetch_article(httpserver.url_for("/huge"), max_bytes=MB)
    # The client hung up after about 1 MB: the server got no further than socket buffers allow.
    assert produced[0] < 40 * MB


def test_announced_length_over_the_limit_is_refused_from_the_headers(
    httpserver: HTTPServer, release: threading.Event
) -> None:
    def announced(_: Request) -> Response:
        # The body stalls after its first bytes (which carry the headers out of werkzeug):
        # reading it would end in the read timeout instead.
        headers = {"Content-Length": str(20 * MB)}
        return Response(_held(release, first=b"<html>"), headers=headers, content_type="text/html")

    httpserver.expect_request("/big").respond_with_handler(announced)
    with pytest.raises(ContentError, match="larger than 1 MB"):
        fetch_article(httpserver.url_for("/big"), max_bytes=MB, read_timeout=5)


def test_limit_counts_decompressed_bytes(httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b" " * (3 * MB))  # a few kilobytes on the wire
    httpserver.expect_request("/bomb").respond_with_data(
        bomb, content_type="text/html", headers={"Content-Encoding": "gzip"}
    )
    with pytest.raises(ContentError, match="larger than 1 MB"):
        fetch_article(httpserver.url_for("/bomb"), max_bytes=MB)


def test_compressed_page_is_decompressed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gz").respond_with_data(
        gzip.compress(PAGE), content_type="text/html", headers={"Content-Encoding": "gzip"}
    )
    assert fetch_article(httpserver.url_for("/gz")).data == PAGE


def test_silent_server_hits_the_read_timeout(httpserver: HTTPServer, release: threading.Event) -> None:
    def silent(_: Request) -> Response:
        release.wait(10)  # no headers until the test is over
        return Response(PAGE, content_type="text/html")

    httpserver.expect_request("/silent").respond_with_handler(silent)
    with pytest.raises(ContentError, match=r"the server sent nothing for 0.2 s"):
        fetch_article(httpserver.url_for("/silent"), read_timeout=0.2)


def test_server_stalling_mid_page_hits_the_read_timeout(
    httpserver: HTTPServer, release: threading.Event
) -> None:
    def stalls(_: Request) -> Response:
        return Response(_held(release, first=b"<html><p>First part"), content_type="text/html")

    httpserver.expect_request("/stall").respond_with_handler(stalls)
    with pytest.raises(ContentError, match=r"the server sent nothing for 0.2 s"):
        fetch_article(httpserver.url_for("/stall"), read_timeout=0.2)


def test_server_dripping_bytes_hits_the_total_timeout(
    httpserver: HTTPServer, release: threading.Event
) -> None:
    def drip() -> Iterator[bytes]:
        for _ in range(3000):  # bounded: 30 s at most, ended early by the test
            if release.is_set():
                return
            yield b"x"
            time.sleep(0.01)

    httpserver.expect_request("/drip").respond_with_handler(
        lambda _: Response(drip(), content_type="text/html")
    )
    # Each byte comes well within the read timeout; only the whole download is too slow.
    with pytest.raises(ContentError, match=r"the download took longer than 0.3 s"):
        fetch_article(httpserver.url_for("/drip"), read_timeout=5, total_timeout=0.3)


def test_connection_refused_is_reported() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ContentError, match=r"cannot connect to 127.0.0.1 \(connection refused"):
        fetch_article(f"http://127.0.0.1:{port}/article")


def test_unknown_host_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)  # no DNS query leaves the machine
    with pytest.raises(
        ContentError, match=r"cannot find the host blog.example.invalid \(DNS lookup failed\)"
    ):
        fetch_article("https://blog.example.invalid/post")


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png", "application/zip"])
def test_non_text_content_is_refused(httpserver: HTTPServer, content_type: str) -> None:
    httpserver.expect_request("/file").respond_with_data(b"%PDF-1.7\n\x00\x01", content_type=content_type)
    with pytest.raises(ContentError, match=rf"the server sent {content_type}, not an article"):
        fetch_article(httpserver.url_for("/file"), "html")  # --format does not make a PDF an article


@pytest.mark.parametrize(
    ("path", "content_type", "fmt"),
    [
        ("/notes/breathing.md", "text/plain; charset=utf-8", "markdown"),  # how raw file hosts serve it
        ("/notes/breathing", "text/markdown", "markdown"),
        ("/notes/breathing.txt", "text/plain", "text"),
        ("/notes/breathing", "text/plain", "text"),
        ("/notes/breathing.md", "text/html", "html"),  # the server rendered it
        ("/notes/breathing.markdown", "application/octet-stream", "markdown"),
    ],
)
def test_format_comes_from_content_type_then_extension(
    httpserver: HTTPServer, path: str, content_type: str, fmt: str
) -> None:
    httpserver.expect_request(path).respond_with_data(
        b"# Breathing\n\nOut on effort.\n", content_type=content_type
    )
    source = fetch_article(httpserver.url_for(path))
    assert (source.fmt, source.suffix) == (fmt, {"markdown": ".md", "text": ".txt", "html": ".html"}[fmt])


def test_page_without_content_type_is_read_as_html(httpserver: HTTPServer) -> None:
    def untyped(_: Request) -> Response:
        response = Response(PAGE)
        del response.headers["Content-Type"]
        return response

    httpserver.expect_request("/untyped").respond_with_handler(untyped)
    assert fetch_article(httpserver.url_for("/untyped")).fmt == "html"


def test_format_option_overrides_the_server(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/post").respond_with_data(PAGE, content_type="text/html")
    assert fetch_article(httpserver.url_for("/post"), "txt").fmt == "text"


def test_server_charset_reaches_the_decoder(httpserver: HTTPServer) -> None:
    text = "<p>Zażółć gęślą jaźń</p>"  # too short to detect: only the header says what it is
    httpserver.expect_request("/pl").respond_with_data(
        text.encode("iso-8859-2"), content_type="text/html; charset=iso-8859-2"
    )
    source = fetch_article(httpserver.url_for("/pl"))
    assert decode_text(source.data, source.name, declared=source.charset).text == text


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/article.txt", "file:///etc/hostname", "http:///no-host"])
def test_only_web_addresses_are_fetched(url: str) -> None:
    with pytest.raises(ContentError, match="only http:// and https:// addresses can be fetched"):
        fetch_article(url)


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("https://example.test/post", True),
        ("HTTP://example.test/post", True),
        ("ftp://example.test/post.txt", True),
        ("articles/post.md", False),
        ("C:\\articles\\post.md", False),
        ("notes: draft.txt", False),
    ],
)
def test_is_url(argument: str, expected: bool) -> None:
    assert is_url(argument) is expected
