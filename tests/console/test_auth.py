"""Console login: every page behind it, cookie flags, CSRF on every form, the
lockout delay, sessions that end, and no open redirect."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from werkzeug.routing import Rule

from sender.subscribers import add_subscriber
from sender.web.auth import LoginThrottle, hash_password
from tests.console.conftest import PASSWORD, Console, log_in, make_console


def _url(rule: Rule) -> str:
    values = {name: 1 if type(rule._converters[name]).__name__ == "IntegerConverter" else "glute-activation"
              for name in rule.arguments}
    return rule.build(values)[1]  # type: ignore[index]


def test_every_console_url_redirects_to_login_when_logged_out(glute_project: Path, sqlite_url: str) -> None:
    c = make_console(glute_project, sqlite_url)
    add_subscriber(c.engine.store, "ana@example.com", now=c.clock())
    rules = [r for r in c.app.url_map.iter_rules() if r.endpoint.startswith("console.")]
    assert len(rules) >= 15  # the enumeration sees the whole blueprint
    checked = 0
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answer = c.client.open(_url(rule), method=method, data={"audience": "all"})
            if rule.endpoint == "console.login":
                # the login form itself: shown, or a POST refused without its CSRF token
                assert answer.status_code in (200, 400), (rule, method)
                continue
            assert answer.status_code == 302, (rule.rule, method, answer.status_code)
            assert answer.headers["Location"].startswith("/console/login"), rule.rule
            checked += 1
    assert checked >= 20
    assert c.engine.store.campaign_by_slug("glute-activation") is None  # no POST did anything
    assert c.engine.store.subscriber_by_email("ana@example.com").status == "active"


def test_the_login_page_says_where_to_go_back_to(glute_project: Path, sqlite_url: str) -> None:
    c = make_console(glute_project, sqlite_url)
    answer = c.client.get("/console/subscribers?q=ana")
    assert answer.headers["Location"] == "/console/login?next=/console/subscribers?q%3Dana"
    page = c.client.get(answer.headers["Location"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    done = c.client.post("/console/login", data={"csrf_token": token, "username": "admin",
                                                  "password": PASSWORD, "next": "/console/subscribers?q=ana"})
    assert done.headers["Location"] == "/console/subscribers?q=ana"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console/", "/\\evil.example",
                                    "javascript:alert(1)", "/other"])
def test_login_never_redirects_off_the_console(glute_project: Path, sqlite_url: str, target: str) -> None:
    c = make_console(glute_project, sqlite_url)
    c.client.get("/console/login")
    done = c.client.post("/console/login", data={"csrf_token": c.csrf(), "username": "admin",
                                                  "password": PASSWORD, "next": target})
    assert done.status_code == 302 and done.headers["Location"] == "/console/"


def test_log_in_and_out_with_a_cookie_that_scripts_and_other_sites_cannot_use(
        glute_project: Path, sqlite_url: str) -> None:
    c = make_console(glute_project, sqlite_url)
    answer = log_in(c.client)
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("drip_console=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1: a Secure cookie would never come back
    page = c.client.get("/console/")
    assert page.status_code == 200 and "Log out admin" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src 'none'" in page.headers["Content-Security-Policy"]
    assert c.post("/console/logout").headers["Location"] == "/console/login"
    assert c.client.get("/console/").status_code == 302


def test_cookie_is_secure_over_https_and_behind_an_https_proxy(glute_project: Path, sqlite_url: str) -> None:
    c = make_console(glute_project, sqlite_url)
    answer = c.client.get("/console/login", base_url="https://console.example")
    assert "Secure" in answer.headers["Set-Cookie"]
    proxied = make_console(glute_project, sqlite_url, base_url="https://mail.example.com")
    answer = proxied.client.get("/console/login")  # TLS ends at the proxy; the app sees http
    assert "Secure" in answer.headers["Set-Cookie"]


def test_wrong_password_is_refused_and_repeated_ones_lock_the_login(glute_project: Path,
                                                                     sqlite_url: str) -> None:
    c = make_console(glute_project, sqlite_url)
    now = [1000.0]
    throttle: LoginThrottle = c.app.extensions["drip_login_throttle"]
    throttle.clock = lambda: now[0]
    for user in ["admin", "root", "admin", "admin"]:
        answer = log_in(c.client, user, "not the password")
        assert answer.status_code == 401
        assert "Wrong user name or password." in answer.get_data(as_text=True)  # never says which
    answer = log_in(c.client, "admin", "still wrong")
    assert answer.status_code == 401 and "Locked for 30 s" in answer.get_data(as_text=True)
    locked = log_in(c.client)  # even the right password waits out the delay
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "31"
    assert c.client.get("/console/").status_code == 302
    now[0] += 31
    assert log_in(c.client, "admin", "wrong again").status_code == 401  # the next delay doubles
    assert throttle.wait("127.0.0.1", "admin") == 60
    now[0] += 61
    assert log_in(c.client).status_code == 302
    assert c.client.get("/console/").status_code == 200


def test_throttle_counts_per_user_name_across_addresses() -> None:
    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for i in range(19):
        throttle.failed(f"10.0.0.{i}", "admin")
    assert throttle.wait("10.0.1.1", "admin") == 0
    throttle.failed("10.0.0.99", "admin")
    assert throttle.wait("10.0.1.1", "admin") == 30  # many addresses guessing one account
    assert throttle.wait("10.0.1.1", "someone-else") == 0


def test_missing_or_wrong_csrf_token_is_refused(glute_project: Path, sqlite_url: str) -> None:
    c = make_console(glute_project, sqlite_url)
    c.client.get("/console/login")
    bare = c.client.post("/console/login", data={"username": "admin", "password": PASSWORD})
    assert bare.status_code == 400 and "form has expired" in bare.get_data(as_text=True)
    assert c.client.get("/console/").status_code == 302  # not logged in
    assert log_in(c.client).status_code == 302
    add_subscriber(c.engine.store, "ana@example.com", now=c.clock())
    for data in ({"audience": "all"}, {"audience": "all", "csrf_token": "forged"}):
        answer = c.client.post("/console/campaigns/glute-activation/start", data=data)
        assert answer.status_code == 400
    assert c.engine.store.campaign_by_slug("glute-activation") is None
    assert c.post("/console/campaigns/glute-activation/start",
                  {"audience": "all", "expected": "1"}).status_code == 302
    assert c.engine.store.campaign_by_slug("glute-activation") is not None


def test_without_a_password_hash_nobody_gets_in(glute_project: Path, sqlite_url: str) -> None:
    c = make_console(glute_project, sqlite_url, environ={"DRIP_ADMIN_PASSWORD_HASH": ""})
    page = c.client.get("/console/login").get_data(as_text=True)
    assert "DRIP_ADMIN_PASSWORD_HASH" in page
    answer = log_in(c.client, "admin", "")
    assert answer.status_code == 401 and c.client.get("/console/").status_code == 302


def test_a_new_password_or_twelve_hours_end_every_session(console: Console) -> None:
    assert console.client.get("/console/").status_code == 200
    console.engine.settings = console.engine.settings.replace(
        admin_password_hash=hash_password("a brand new password"))
    assert console.client.get("/console/").status_code == 302
    console.engine.settings = console.engine.settings.replace(
        admin_password_hash=hash_password(PASSWORD))
    assert log_in(console.client).status_code == 302
    with console.client.session_transaction() as session:
        session["login_at"] = int(time.time()) - 12 * 3600 - 1
    assert console.client.get("/console/").status_code == 302


def test_hash_password_command_prints_a_hash_that_logs_in(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sender.cli import app
    from sender.web.auth import check_login

    result = CliRunner().invoke(app, ["admin", "hash-password", "--stdin"], input="a-long-password-1\n")
    assert result.exit_code == 0, result.output
    line = result.stdout.splitlines()[0]
    assert line.startswith("scrypt:")

    class S:
        admin_user, admin_password_hash = "admin", line
    assert check_login(S, "admin", "a-long-password-1") and not check_login(S, "admin", "nope")
    short = CliRunner().invoke(app, ["admin", "hash-password", "--stdin"], input="short\n")
    assert short.exit_code == 1


def test_a_cookie_copied_before_logout_is_refused_after_it(glute_project: Path, db_url: str) -> None:
    c = make_console(glute_project, db_url)
    assert log_in(c.client).status_code == 302
    copied = c.client.get_cookie("drip_console")
    assert copied is not None
    thief = c.app.test_client()
    thief.set_cookie("drip_console", copied.value)
    assert thief.get("/console/").status_code == 200
    phone = c.app.test_client()  # the same admin, logged in elsewhere: a session of its own
    assert log_in(phone).status_code == 302

    assert c.post("/console/logout").status_code == 302
    refused = thief.get("/console/subscribers")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/console/login")
    assert thief.post("/console/campaigns/glute-activation/start",
                      data={"audience": "all", "csrf_token": "anything"}).status_code == 302
    assert c.engine.store.campaign_by_slug("glute-activation") is None
    assert phone.get("/console/").status_code == 200

    # Another process of `drip serve` (its own app and connection pool on the same database)
    # honours the phone's cookie, and forgets it as soon as the phone logs out here.
    other = make_console(glute_project, db_url)
    phone_cookie = phone.get_cookie("drip_console")
    assert phone_cookie is not None
    elsewhere = other.app.test_client()
    elsewhere.set_cookie("drip_console", phone_cookie.value)
    assert elsewhere.get("/console/").status_code == 200
    with phone.session_transaction() as session:
        csrf = session["csrf"]
    assert phone.post("/console/logout", data={"csrf_token": csrf}).status_code == 302
    assert elsewhere.get("/console/").status_code == 302
