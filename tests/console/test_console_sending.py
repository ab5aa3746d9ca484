"""The Enrol confirmation, test sends of a lesson and a newsletter (through the memory
provider), and the Sending page's DNS check against a DNS server on 127.0.0.1."""

from __future__ import annotations

import html
import socket
import threading
from collections.abc import Iterator
from typing import Any

import dns.message
import dns.rcode
import dns.rrset
import pytest

from sender.subscribers import add_subscriber
from sender.web.console.sending import check_records, records_for
from tests.conftest import DEADLINE
from tests.console.conftest import COURSE, Console


def _text(answer: Any) -> str:
    return html.unescape(answer.get_data(as_text=True))


def test_enrol_shows_the_count_first_and_refuses_a_changed_one(console: Console) -> None:
    c = console
    for email in ("ana@example.com", "ben@example.com"):
        add_subscriber(c.engine.store, email, now=c.clock(), timezone="UTC")
    first = c.post(f"/console/campaigns/{COURSE}/start", {"audience": "all"})
    assert first.status_code == 200 and "Enrol 2 and send lesson 1" in _text(first)
    assert c.engine.store.campaign_by_slug(COURSE) is None  # nothing enrolled yet
    add_subscriber(c.engine.store, "cy@example.com", now=c.clock(), timezone="UTC")
    stale = c.post(f"/console/campaigns/{COURSE}/start", {"audience": "all", "expected": "2"})
    assert "changed since the last page" in _text(stale) and "Enrol 3" in _text(stale)
    assert c.engine.store.campaign_by_slug(COURSE) is None
    done = c.post(f"/console/campaigns/{COURSE}/start", {"audience": "all", "expected": "3"})
    assert done.status_code == 302
    assert "Enrolled 3 new subscriber(s)" in _text(c.client.get(done.headers["Location"]))
    again = c.post(f"/console/campaigns/{COURSE}/start", {"audience": "all"})
    assert "Nothing to enrol" in _text(c.client.get(again.headers["Location"]))


def test_test_send_of_a_lesson_and_a_newsletter(console: Console) -> None:
    c = console
    answer = c.post(f"/console/campaigns/{COURSE}/test", {"lesson": "2", "to": "staff@bimkinesiology.ca"})
    assert answer.status_code == 302
    [lesson] = c.engine.provider.outbox
    assert lesson.to == "Alex Sample <staff@bimkinesiology.ca>" and lesson.subject.startswith("[Test] ")
    assert lesson.metadata["kind"] == "test"
    page = _text(c.client.get(answer.headers["Location"]))
    assert "Sent a test of lesson 2" in page and 'value="staff@bimkinesiology.ca"' in page  # remembered
    news = c.post("/console/newsletters", {"subject": "Spring news", "action": "test",
                                           "body": "Hello {{ subscriber.first_name }}.",
                                           "to": "staff@bimkinesiology.ca"})
    assert news.status_code == 200 and "Sent a test of the newsletter 'Spring news'" in _text(news)
    assert c.engine.provider.outbox[-1].subject == "[Test] Spring news"
    assert not c.engine.store.newsletters()  # a test schedules nothing
    bad = c.post(f"/console/campaigns/{COURSE}/test", {"lesson": "1", "to": "not-an-address"})
    assert bad.status_code == 400 and len(c.engine.provider.outbox) == 2


ZONE = {
    ("news.example.org.", "TXT"): ['"v=spf1 include:sendgrid.net ~all"'],
    ("s1._domainkey.news.example.org.", "CNAME"): ["s1.domainkey.u1.wl1.sendgrid.net."],
    ("_dmarc.news.example.org.", "TXT"): ['"v=DMARC1; p=quarantine"'],
}


@pytest.fixture
def dns_server() -> Iterator[int]:
    """A UDP DNS server on 127.0.0.1 answering from ZONE (NXDOMAIN otherwise)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            reply = dns.message.make_response(query)
            question = query.question[0]
            texts = ZONE.get((question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
            if texts:
                reply.answer.append(dns.rrset.from_text(question.name, 300, "IN", question.rdtype, *texts))
            else:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(reply.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


def test_dns_check_against_a_local_server(dns_server: int) -> None:
    records, problem = check_records(records_for("news.example.org", "sendgrid"), nameserver="127.0.0.1",
                                     port=dns_server, timeout=DEADLINE)
    assert problem is None
    assert [(r.purpose, r.name, r.status) for r in records] == [
        ("SPF", "news.example.org", "ok"), ("DKIM", "s1._domainkey.news.example.org", "ok"),
        ("DKIM", "s2._domainkey.news.example.org", "missing"), ("DMARC", "_dmarc.news.example.org", "ok")]
    postmark, _ = check_records(records_for("news.example.org", "postmark"), nameserver="127.0.0.1",
                                port=dns_server, timeout=DEADLINE)
    assert postmark[0].status == "wrong"  # an SPF record without spf.mtasv.net


def test_sending_page_shows_guidance_when_dns_does_not_answer(console: Console) -> None:
    c = console
    quiet = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    quiet.bind(("127.0.0.1", 0))  # bound, never answers
    c.app.config.update(CONSOLE_DNS_NAMESERVER="127.0.0.1", CONSOLE_DNS_PORT=quiet.getsockname()[1],
                        CONSOLE_DNS_TIMEOUT=0.5)
    page = _text(c.client.get("/console/sending"))
    assert "memory" in page and c.engine.settings.base_url in page and "_dmarc.example.com" in page
    checked = _text(c.client.get("/console/sending?check=1"))
    assert "Not checked: DNS did not answer" in checked and "v=DMARC1; p=none" in checked
    quiet.close()


@pytest.mark.parametrize("url", ["postmark://?rate=50&concurrency=4", "resend://", "ses://eu-west-1"])
def test_sending_page_states_the_pace_as_drip_settings_does(console: Console, url: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from sender.providers import get_provider
    from tests.providers.conftest import ENV

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    provider = get_provider(url)
    monkeypatch.setattr(console.engine, "provider", provider)
    page = _text(console.client.get("/console/sending"))
    settings = drip_settings_pace(url)
    assert settings and settings in page
    assert ("at most 50 messages/s" in page) == url.startswith("postmark")


def drip_settings_pace(url: str) -> str:
    """The pace `drip settings` prints for `url`, from the CLI itself."""
    import tempfile
    from pathlib import Path

    from tests.test_cli_sending_pace import drip, provider_cell

    with tempfile.TemporaryDirectory() as cwd:
        out = provider_cell(drip("-s", f"provider={url}", "settings", cwd=Path(cwd)).stdout)
    return out[out.index("sends "):].split(";")[0].strip()  # (the claim size is the CLI's alone)
