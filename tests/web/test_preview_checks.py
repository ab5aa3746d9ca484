"""The preview's checks, through its routes: links (asked only on request, with a timeout),
the spam score, newsletters next to lessons, and the "next lesson arrives" day of a lesson
matching the send timing the page shows."""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sender import spamcheck
from sender.engine import Engine
from sender.newsletters import schedule_newsletter
from sender.providers.memory import MemoryProvider
from sender.schedule import SimulatedClock
from sender.store import Store
from sender.subscribers import add_subscriber
from sender.web import create_app
from sender.web.preview import LINK_TIMEOUT_KEY
from tests.render.helpers import NOW, copy_glute_project, settings_of

LESSON = "/preview/glute-activation/02-dominant-hamstrings"
SLOW_LINK_CUT_OFF = 5  # seconds; the checker's own default (linkcheck.TIMEOUT_S)


def _engine(project: Path, tmp_path: Path, **settings: Any) -> Engine:
    url = f"sqlite:///{tmp_path / 'drip.db'}"
    return Engine(settings_of(project, database_url=url, **settings), Store(url),
                  MemoryProvider(f"memory://{project}"), SimulatedClock(NOW))


def _token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page) or re.search(r'data-token="([^"]+)"', page)
    assert found, "no token in the page"
    return found[1]


# -- links ------------------------------------------------------------------------------------


@pytest.fixture
def links_server() -> Iterator[tuple[HTTPServer, threading.Event]]:
    """A threaded server on 127.0.0.1: a slow link must not hold up the others. Its /slow
    answers only once the test is over (the event), long after the checker gave up."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    release = threading.Event()
    yield server, release
    release.set()
    server.clear()
    server.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def linked(tmp_path: Path,
           links_server: tuple[HTTPServer, threading.Event]) -> tuple[FlaskClient, HTTPServer]:
    """The glute course whose lesson 2 links to the local server: 200, 404, a redirect,
    a HEAD-refusing page, a page that never answers, a closed port and a mailto link."""
    server, release = links_server
    base = server.url_for("/").rstrip("/")
    dead = f"http://127.0.0.1:{_closed_port()}/gone"

    def slow(request: Request) -> Response:
        release.wait(60)
        return Response("too late")

    server.expect_request("/ok").respond_with_data("fine")
    server.expect_request("/missing").respond_with_data("no", status=404)
    server.expect_request("/moved").respond_with_data("", status=301, headers={"Location": f"{base}/ok"})
    server.expect_request("/get-only", method="HEAD").respond_with_data("", status=405)
    server.expect_request("/get-only", method="GET").respond_with_data("here")
    server.expect_request("/slow").respond_with_handler(slow)
    server.expect_request(re.compile(r"^/(unsubscribe|preferences)/")).respond_with_data("page")
    project = copy_glute_project(tmp_path)
    lesson = project / "campaigns" / "glute-activation" / "02-dominant-hamstrings.md"
    head, _, _ = lesson.read_text(encoding="utf-8").partition("\n---\n")
    lesson.write_text(f"{head}\n---\nRead [the guide]({base}/ok), [the old page]({base}/missing), "
                      f"[the moved page]({base}/moved), [the picky page]({base}/get-only), "
                      f"[the slow page]({base}/slow) and [the dead page]({dead}). "
                      "Or [write to us](mailto:coach@example.com).\n", encoding="utf-8")
    app = create_app(_engine(project, tmp_path, base_url=base), preview=True)
    # The slow page is cut off after this (it never answers); the others answer well within it,
    # however busy the machine: this test waits that long, so a few seconds, not DEADLINE.
    app.config[LINK_TIMEOUT_KEY] = SLOW_LINK_CUT_OFF
    return app.test_client(), server


def test_links_are_listed_at_page_load_but_not_asked(linked: tuple[FlaskClient, HTTPServer]) -> None:
    client, server = linked
    page = client.get(LESSON).get_data(as_text=True)
    for path in ("/ok", "/missing", "/moved", "/get-only", "/slow"):
        assert f'data-url="{server.url_for(path)}"' in page, path
    assert "mailto:coach@example.com" in page and "not checked" in page
    assert 'id="check-links"' in page
    assert server.log == []  # a page load reaches no server


def test_check_links_reports_each_status(linked: tuple[FlaskClient, HTTPServer]) -> None:
    client, server = linked
    page = client.get(LESSON).get_data(as_text=True)
    assert client.post(f"{LESSON}/links").status_code == 403  # no token: another site can't ask
    assert server.log == []
    answer = client.post(f"{LESSON}/links", data={"token": _token(page)})
    assert answer.status_code == 200
    found = {link["url"].rpartition("/")[2]: link for link in answer.get_json()["links"]}
    assert found["ok"]["ok"] and found["ok"]["summary"] == "200 OK"
    assert not found["missing"]["ok"] and found["missing"]["summary"] == "404 Not Found"
    assert found["moved"]["ok"]
    assert found["moved"]["summary"] == f"1 redirect → 200 OK at {server.url_for('/ok')}"
    assert found["get-only"]["ok"] and found["get-only"]["summary"] == "200 OK"  # GET after HEAD's 405
    assert not found["slow"]["ok"] and found["slow"]["summary"] == f"no answer within {SLOW_LINK_CUT_OFF} s"
    assert not found["gone"]["ok"] and found["gone"]["summary"] == "cannot connect: connection refused"
    mailto = next(link for link in answer.get_json()["links"] if link["url"].startswith("mailto:"))
    assert not mailto["checked"] and mailto["summary"] == "not checked: not an http(s) link"
    assert found["ok"]["texts"] == ["the guide"]
    assert answer.get_json()["broken"] == 3
    asked = [(r.method, r.path) for r, _ in server.log]
    assert ("HEAD", "/ok") in asked and ("GET", "/ok") not in asked  # HEAD answered: no GET
    assert ("HEAD", "/get-only") in asked and ("GET", "/get-only") in asked
    assert ("GET", "/slow") not in asked  # no second wait for a server that did not answer HEAD
    unsubscribe = [link for link in answer.get_json()["links"] if "/unsubscribe/" in link["url"]]
    assert unsubscribe and unsubscribe[0]["ok"]  # the footer's links are checked too


# -- spam score -------------------------------------------------------------------------------


@pytest.fixture
def glute(tmp_path: Path) -> tuple[FlaskClient, Engine, Path]:
    project = copy_glute_project(tmp_path)
    engine = _engine(project, tmp_path)
    return create_app(engine, preview=True).test_client(), engine, project


def test_spam_score_on_request(glute: tuple[FlaskClient, Engine, Path]) -> None:
    if spamcheck.find_spamassassin() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("spamassassin is required in CI (Debian package spamassassin)")
        pytest.skip("no spamassassin on PATH")
    client = glute[0]
    page = client.get(LESSON).get_data(as_text=True)
    assert 'id="check-spam"' in page and "SpamAssassin not installed" not in page
    assert client.post(f"{LESSON}/spam").status_code == 403
    answer = client.post(f"{LESSON}/spam", data={"token": _token(page)})
    assert answer.status_code == 200, answer.get_json()
    verdict = answer.get_json()
    assert verdict["installed"] and verdict["required"] == 5.0
    assert verdict["score"] < 1.0 and verdict["spam"] is False
    rules = {rule["name"]: rule for rule in verdict["rules"]}
    assert rules["HTML_MESSAGE"]["description"] == "BODY: HTML included in message"


def test_without_spamassassin_the_page_says_so(glute: tuple[FlaskClient, Engine, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # a machine without spamassassin
    client = glute[0]
    page = client.get(LESSON).get_data(as_text=True)
    assert "SpamAssassin not installed" in page and 'id="check-spam"' not in page
    answer = client.post(f"{LESSON}/spam", data={"token": _token(page)})
    assert answer.get_json() == {"installed": False, "error": "SpamAssassin not installed"}


# -- newsletters ------------------------------------------------------------------------------


def test_newsletters_are_listed_and_rendered_with_the_newsletter_template(
        glute: tuple[FlaskClient, Engine, Path], tmp_path: Path) -> None:
    client, engine, project = glute
    folder = project / "newsletters"
    folder.mkdir()
    (folder / "20260610-june-news.md").write_text(
        "---\nsubject: June news\npreheader: What is new this month\n---\nA new studio opens in June.\n",
        encoding="utf-8")
    elsewhere = tmp_path / "drafts" / "summer.md"  # `drip newsletter schedule FILE` takes any path
    elsewhere.parent.mkdir()
    elsewhere.write_text("---\nsubject: Summer classes\npreheader: Book a spot\n---\n"
                         "Hello {{ subscriber.first_name }}, summer classes start soon.\n", encoding="utf-8")
    add_subscriber(engine.store, "ana@example.com", now=NOW, name="Ana")
    done = schedule_newsletter(engine.store, elsewhere, at="2026-06-20 08:30", cron=None, local=False,
                               segment=None, timezone="Europe/Lisbon", now=NOW)
    index = client.get("/preview/").get_data(as_text=True)
    assert "June news" in index and "not scheduled" in index
    assert "Summer classes" in index and f"{done.id} · scheduled" in index
    assert "2026-06-20 08:30 Europe/Lisbon" in index
    assert f'href="/preview/newsletters/{done.id}?' in index
    assert 'href="/preview/newsletters/20260610-june-news.md?' in index

    page = client.get(f"/preview/newsletters/{done.id}?name=Ana+Lee&timezone=Asia/Tokyo")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Newsletter: Summer classes" in text and "Book a spot" in text
    assert "Hello Ana, summer classes start soon." in text
    assert "Hi Ana," not in text  # the body greets: the newsletter template says no second "Hi"
    assert "Lesson 1 of" not in text  # not the lesson template
    assert "For Ana Lee in Asia/Tokyo: Sat 20 Jun 2026 16:30 JST" in text  # 08:30 in Lisbon
    assert "Date: Sat, 20 Jun 2026 08:30:00 +0100" in text  # the message is dated when it goes
    html = client.get(f"/preview/newsletters/{done.id}/email.html").get_data(as_text=True)
    assert "summer classes start soon" in html and "Lesson 1 of" not in html

    draft = client.get("/preview/newsletters/20260610-june-news.md").get_data(as_text=True)
    assert "Newsletter: June news" in draft and "Hi Alex," in draft and "Not scheduled" in draft
    assert client.get("/preview/newsletters/../dripcourse.toml").status_code == 404
    assert client.get("/preview/newsletters/nothing.md").status_code == 404
    assert client.get("/preview/newsletters/nothing.md/email.html").status_code == 404


def test_a_newsletter_file_that_is_gone_is_an_error_in_the_page(
        glute: tuple[FlaskClient, Engine, Path], tmp_path: Path) -> None:
    client, engine, _ = glute
    source = tmp_path / "gone.md"
    source.write_text("---\nsubject: Soon gone\n---\nBody.\n", encoding="utf-8")
    add_subscriber(engine.store, "ana@example.com", now=NOW)
    done = schedule_newsletter(engine.store, source, at="2026-06-20 08:30", cron=None, local=False,
                               segment=None, timezone="UTC", now=NOW)
    source.unlink()
    assert "(file missing)" in client.get("/preview/").get_data(as_text=True)
    page = client.get(f"/preview/newsletters/{done.id}")
    assert page.status_code == 500
    assert f"{source}: No such file or directory" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)


# -- the next lesson's day ----------------------------------------------------------------------


def test_next_lesson_day_is_the_day_the_page_shows_that_lesson_going(
        glute: tuple[FlaskClient, Engine, Path]) -> None:
    client = glute[0]
    for zone in ("America/Vancouver", "Asia/Tokyo"):
        index = client.get(f"/preview/?timezone={zone}").get_data(as_text=True)
        shown = re.findall(r"<td>(\w{3} \d\d \w{3} \d{4} \d\d:\d\d \S+)</td>", index)
        assert len(shown) == 5, shown
        for position in range(1, 5):
            page = client.get(f"/preview/glute-activation/{position}?timezone={zone}").get_data(as_text=True)
            goes = re.search(r"enrolled now: ([^.]+)\.", page)[1]
            assert goes == shown[position - 1]
            arrives = re.search(rf"Lesson {position + 1} arrives (\w+)", page)[1]
            next_at = datetime.strptime(shown[position].rsplit(" ", 1)[0], "%a %d %b %Y %H:%M")
            next_day = next_at.strftime("%A")
            assert arrives == next_day, (zone, position, arrives, shown[position])
