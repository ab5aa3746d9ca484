"""Every answer of both web apps (`drip serve`'s and `drip preview`'s) carries a strict
Content-Security-Policy with frame-ancestors, nosniff and Referrer-Policy: each route of
every blueprint, logged in and out, redirects, refusals and error pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sender.engine import Engine
from sender.subscribers import add_subscriber
from sender.tokens import sign
from sender.web import create_app
from tests.console.conftest import PASSWORD_HASH, log_in
from tests.test_engine import make_engine

# The preview's email HTML is framed by the preview's own pages, and by nobody else's.
FRAMED_BY_ITS_OWN_PAGES = {"preview.email_html", "preview.system_html", "preview.email_eml",
                           "preview.newsletter_html", "preview.newsletter_eml"}


@pytest.fixture
def engine(project: Path, sqlite_url: str) -> Engine:
    (project / "dripcourse.toml").write_text("")
    engine, _ = make_engine(project, sqlite_url)
    engine.settings = engine.settings.replace(admin_password_hash=PASSWORD_HASH)
    add_subscriber(engine.store, "ana@example.com", now=engine.clock())
    engine.enrol("mini")
    return engine


def directives(policy: str) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in policy.split(";") if d.strip()}


def check_headers(answer: Any, what: str, frame_ancestors: str = "'none'") -> dict[str, str]:
    assert answer.headers.get("X-Content-Type-Options") == "nosniff", what
    assert answer.headers.get("Referrer-Policy") == "same-origin", what
    policy = answer.headers.get("Content-Security-Policy")
    assert policy, f"{what}: no Content-Security-Policy"
    found = directives(policy)
    assert found.get("frame-ancestors") == frame_ancestors, (what, policy)
    assert found.get("default-src") in ("'none'", "'self'"), (what, policy)
    assert found.get("base-uri") == "'none'", (what, policy)
    script = found.get("script-src", found["default-src"])
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(script.split()), \
        (what, policy)
    return found


def every_route(app: Flask, engine: Engine, client: FlaskClient, csrf: str = "") -> int:
    ana = engine.store.subscriber_by_email("ana@example.com")  # (read first: a POST may delete her)
    values = {"slug": "mini", "key": "01-start", "which": "confirm", "provider": "postmark",
              "subscriber_id": ana.id, "newsletter_id": 1, "filename": "app.css", "ref": "1",
              "job_id": "0123456789abcdef"}
    tokens = {purpose: sign(f"{ana.id}:mini", engine.signing_key, purpose)
              for purpose in ("confirm", "unsubscribe")}
    checked = 0
    for rule in app.url_map.iter_rules():
        token = tokens["confirm" if rule.endpoint.startswith("public.confirm") else "unsubscribe"]
        url = rule.build({name: {**values, "token": token}[name] for name in rule.arguments})[1]  # type: ignore[index]
        for method in sorted(rule.methods - {"OPTIONS"}):
            answer = client.open(url, method=method, data={"csrf_token": csrf, "audience": "all",
                                                          "email": "new@example.com"})
            frame = "'self'" if rule.endpoint in FRAMED_BY_ITS_OWN_PAGES else "'none'"
            check_headers(answer, f"{method} {url} -> {answer.status_code}", frame)
            checked += 1
    return checked


def _csrf(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return str(session["csrf"])


@pytest.mark.parametrize("preview", [False, True], ids=["drip-serve", "drip-preview"])
def test_every_route_of_each_app_logged_out_and_in(engine: Engine, preview: bool) -> None:
    app = create_app(engine, preview=preview)
    client = app.test_client()
    blueprints = {rule.endpoint.partition(".")[0] for rule in app.url_map.iter_rules()}
    assert blueprints == {"static", "public", "webhooks", "console", *(["preview"] if preview else [])}
    assert every_route(app, engine, client) >= 30  # logged out: the console redirects to its login
    assert log_in(client).status_code == 302
    assert every_route(app, engine, client, _csrf(client)) >= 30


def test_error_pages_and_refusals(engine: Engine) -> None:
    app = create_app(engine)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("a bug")

    client = app.test_client()
    for method, url, status in [
            ("GET", "/no-such-page", 404), ("GET", "/subscribe/no-such-course", 404),
            ("GET", "/webhooks/postmark", 405), ("POST", "/webhooks/postmark", 401),
            ("POST", "/webhooks/nonsense", 404), ("GET", "/unsubscribe/forged.token", 400),
            ("GET", "/console/nowhere", 404), ("POST", "/console/login", 400), ("GET", "/boom", 500)]:
        answer = client.open(url, method=method)
        assert answer.status_code == status, (url, answer.status_code)
        check_headers(answer, f"{method} {url}")
    too_big = client.post("/webhooks/postmark", data=b"x" * (6 * 1024 * 1024))
    assert too_big.status_code == 413
    check_headers(too_big, "413")


def test_public_pages_load_nothing_and_run_only_their_own_script(engine: Engine) -> None:
    client = create_app(engine).test_client()
    found = [check_headers(client.get("/subscribe/mini"), "subscribe") for _ in range(2)]
    page = client.get("/subscribe/mini")
    nonce = re.search(r'<script nonce="([^"]+)">', page.get_data(as_text=True)).group(1)
    assert directives(page.headers["Content-Security-Policy"])["script-src"] == f"'nonce-{nonce}'"
    assert found[0]["script-src"] != found[1]["script-src"]  # a new nonce per page
    assert found[0]["form-action"] == "'self'" and "connect-src" not in found[0]
    # a page without a script allows none
    ana = engine.store.subscriber_by_email("ana@example.com")
    preferences = client.get(f"/preferences/{sign(f'{ana.id}:mini', engine.signing_key, 'unsubscribe')}")
    assert check_headers(preferences, "preferences")["script-src"] == "'none'"


def test_the_email_shown_in_the_preview_runs_nothing_and_only_the_preview_frames_it(engine: Engine) -> None:
    client = create_app(engine, preview=True).test_client()
    page = client.get("/preview/mini/01-start")
    around = check_headers(page, "lesson page")
    assert around["frame-src"] == "'self'" and around["connect-src"] == "'self'"  # frames, live reload
    nonce = re.search(r'<script nonce="([^"]+)">', page.get_data(as_text=True)).group(1)
    assert around["script-src"] == f"'nonce-{nonce}'"
    email = check_headers(client.get("/preview/mini/01-start/email.html"), "email", "'self'")
    assert email["default-src"] == "'none'" and "script-src" not in email and email["form-action"] == "'none'"
