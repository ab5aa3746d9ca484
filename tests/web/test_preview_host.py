"""`drip preview` answers only to its own address. A DNS-rebinding page (evil.example
re-pointed at 127.0.0.1) reaches the port, but its requests carry `Host: evil.example`:
they are refused before any page, token or test send."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sender.engine import Engine
from sender.web import create_app
from tests.conftest import DEADLINE
from tests.test_engine import make_engine
from tests.web.test_security_headers import check_headers

LESSON = "/preview/mini/01-start"


@pytest.fixture
def engine(project: Path, sqlite_url: str) -> Engine:
    return make_engine(project, sqlite_url)[0]


def _token(page: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', page).group(1)


def test_a_foreign_host_is_refused_and_sends_nothing(engine: Engine) -> None:
    client = create_app(engine, preview=True, preview_address=("127.0.0.1", 8000)).test_client()
    own = client.get(LESSON, headers={"Host": "127.0.0.1:8000"})
    assert own.status_code == 200
    token = _token(own.get_data(as_text=True))
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example:8000", "localhost.:8000", ""):
        page = client.get(LESSON, headers={"Host": host})
        assert page.status_code == 421, host
        assert "answers only at its own address (127.0.0.1:8000)" in page.get_data(as_text=True)
        assert "token" not in page.get_data(as_text=True)
        check_headers(page, f"refused {host}")
        # the rebinding page knows the form's token (say it read it earlier): still refused
        sent = client.post(f"{LESSON}/send", data={"token": token, "to": "victim@example.com"},
                           headers={"Host": host})
        assert sent.status_code == 421
        # and the rest of the preview app, which can mail through the provider, is closed too
        assert client.post("/subscribe/mini", data={"email": "victim@example.com"},
                           headers={"Host": host}).status_code == 421
    assert engine.provider.outbox == []


def test_its_own_names_and_port_work(engine: Engine) -> None:
    client = create_app(engine, preview=True, preview_address=("127.0.0.1", 8000)).test_client()
    for host in ("127.0.0.1:8000", "localhost:8000", "LOCALHOST:8000", "[::1]:8000"):
        assert client.get(LESSON, headers={"Host": host}).status_code == 200, host
    for host in ("127.0.0.1:9999", "localhost", "[::1]"):
        assert client.get(LESSON, headers={"Host": host}).status_code == 421, host
    page = client.get(LESSON, headers={"Host": "localhost:8000"})
    sent = client.post(f"{LESSON}/send", data={"token": _token(page.get_data(as_text=True)),
                                               "to": "me@example.com"}, headers={"Host": "localhost:8000"})
    assert sent.status_code == 303
    assert [m.to for m in engine.provider.outbox] == ["Alex Sample <me@example.com>"]


def test_a_named_or_wildcard_listen_address(engine: Engine) -> None:
    named = create_app(engine, preview=True, preview_address=("mybox.lan", 8080)).test_client()
    assert named.get(LESSON, headers={"Host": "mybox.lan:8080"}).status_code == 200
    assert named.get(LESSON, headers={"Host": "127.0.0.1:8080"}).status_code == 200
    assert named.get(LESSON, headers={"Host": "otherbox.lan:8080"}).status_code == 421
    # on every interface, the machine's addresses work; a name never seen before may be a rebinding
    everywhere = create_app(engine, preview=True, preview_address=("0.0.0.0", 8000)).test_client()
    assert everywhere.get(LESSON, headers={"Host": "192.168.1.20:8000"}).status_code == 200
    assert everywhere.get(LESSON, headers={"Host": "[fe80::1]:8000"}).status_code == 200
    assert everywhere.get(LESSON, headers={"Host": "evil.example:8000"}).status_code == 421
    assert everywhere.get(LESSON, headers={"Host": "0.0.0.0.evil.example:8000"}).status_code == 421


def test_drip_serve_answers_its_public_name(engine: Engine) -> None:
    """Only the preview checks: `drip serve` sits behind a proxy under the site's own name."""
    client = create_app(engine).test_client()
    assert client.get("/subscribe/mini", headers={"Host": "mail.example.com"}).status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_drip_preview_command_refuses_a_foreign_host(project: Path) -> None:
    port = _free_port()
    (project / "dripcourse.toml").write_text('provider = "outbox://outbox"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}
    proc = subprocess.Popen([sys.executable, "-m", "sender.cli", "preview", "--port", str(port)], cwd=project,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                own = requests.get(base + LESSON, timeout=DEADLINE)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.2)
        assert own.status_code == 200
        token = _token(own.text)
        refused = requests.post(f"{base}{LESSON}/send", data={"token": token, "to": "victim@example.com"},
                                headers={"Host": f"evil.example:{port}"}, timeout=DEADLINE)
        assert refused.status_code == 421 and "answers only at its own address" in refused.text
        assert not (project / "outbox").exists() or not list((project / "outbox").iterdir())
    finally:
        proc.terminate()
        proc.communicate(timeout=DEADLINE)
