"""Staff login for the console: one admin user, a password hash from the
environment, a signed session cookie, CSRF tokens and a lockout delay.

- The password hash comes from `DRIP_ADMIN_PASSWORD_HASH` only (a secret setting:
  never in dripcourse.toml); `drip admin hash-password` prints one (werkzeug's scrypt).
  While it is unset the console refuses every login.
- The session is Flask's signed cookie: HttpOnly, SameSite=Lax, Secure when the
  request came over https (or `base_url` is https, i.e. behind a TLS proxy). It
  carries a fingerprint of the password hash, so changing the password logs
  every session out, and it expires 12 hours after login whatever happens.
- The cookie also names a session row in the store (`sender.store.web`), checked on
  every request: logging out deletes the row, so a copy of the cookie taken before
  is refused afterwards, by every process of `drip serve`.
- Every POST carries a per-session CSRF token (`csrf_token()` in templates),
  compared in constant time; SameSite=Lax is the second fence.
- Wrong passwords are counted per client address and per user name; past a
  few, logins are refused for a delay that doubles each time (capped), even
  with the right password, so guessing is slow and a lockout says when it ends.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Request, abort, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import check_password_hash, generate_password_hash

from sender.store import web as web_store

SESSION_COOKIE = "drip_console"
SESSION_LIFETIME = timedelta(hours=12)
CSRF_FIELD = "csrf_token"


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the user name is wrong, so a wrong name takes as long
    as a wrong password and the timing tells nothing about which one was wrong. (Made on
    first use: scrypt takes a tenth of a second, too long for every `drip` start.)"""
    return generate_password_hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """What goes in DRIP_ADMIN_PASSWORD_HASH (werkzeug's salted scrypt)."""
    return generate_password_hash(password)


def _fingerprint(secret_key: str, password_hash: str) -> str:
    return hmac.new(secret_key.encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def session_key(settings: Any, signing_key: str) -> str:
    """The session_secret setting, else a key derived from the link-signing key (so a
    console cookie can never pass for a signed link, or the other way round)."""
    if settings.session_secret:
        return str(settings.session_secret)
    return hmac.new(signing_key.encode(), b"drip console session", hashlib.sha256).hexdigest()


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions with `Secure` decided per request: https
    directly, or an https base_url (TLS ends at the proxy in front of us)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or (request.is_secure if request else False)


def init_app(app: Flask, *, secret_key: str, https: bool) -> None:
    app.secret_key = secret_key
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.extensions["drip_login_throttle"] = LoginThrottle()
    app.jinja_env.globals["csrf_token"] = csrf_token


# -- CSRF -----------------------------------------------------------------------------


def csrf_token() -> str:
    """This session's form token (made on first use; a logged-out visitor has one too,
    which guards the login form itself)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(req: Request) -> bool:
    expected = session.get("csrf")
    given = req.form.get(CSRF_FIELD) or req.headers.get("X-CSRF-Token") or ""
    return isinstance(expected, str) and hmac.compare_digest(expected.encode(), given.encode())


# -- login state -----------------------------------------------------------------------


def _store() -> Any:
    from sender.web import drip

    return drip().engine.store


def current_user(settings: Any, secret_key: str) -> str | None:
    """The logged-in user name, or None (and a stale session is cleared)."""
    user, started, fingerprint = session.get("user"), session.get("login_at"), session.get("pw")
    session_id = session.get("sid")
    if not isinstance(user, str) or not isinstance(started, (int, float)):
        return None
    password_hash = settings.admin_password_hash
    fresh = time.time() - started < SESSION_LIFETIME.total_seconds()
    if (password_hash and fresh and user == settings.admin_user
            and hmac.compare_digest(str(fingerprint), _fingerprint(secret_key, password_hash))
            and isinstance(session_id, str)
            and web_store.session_user(_store(), session_id, datetime.now(UTC)) == user):
        return user
    session.clear()  # expired, logged out, or the password changed since: log in again
    return None


def log_in(user: str, settings: Any, secret_key: str) -> None:
    # A fresh session (and CSRF token) at login: nothing from before carries over.
    session.clear()
    session.permanent = True
    session.update(user=user, login_at=int(time.time()),
                   pw=_fingerprint(secret_key, settings.admin_password_hash),
                   sid=web_store.open_session(_store(), user, datetime.now(UTC), SESSION_LIFETIME),
                   csrf=secrets.token_urlsafe(32))


def log_out() -> None:
    """End the session here and on the server: its cookie, even copied, is refused from now on."""
    session_id = session.get("sid")
    if isinstance(session_id, str):
        web_store.close_session(_store(), session_id)
    session.clear()


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """For other blueprints (e.g. the preview when served publicly): 403 unless logged in."""
    from sender.web import drip

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        engine = drip().engine
        if current_user(engine.settings, session_key(engine.settings, engine.signing_key)) is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


# -- passwords and lockout --------------------------------------------------------------


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0
    last: float = 0.0


@dataclass
class LoginThrottle:
    """Wrong-password counts per key (client address, user name), in this process.

    After `free` wrong passwords a key is locked for `base` seconds, doubling with
    each further failure up to `cap`; a success or `forget` quiet seconds reset it.
    Per address stops one client guessing fast; per user name (with a higher
    allowance) stops many addresses guessing together.
    """

    free: int = 5
    free_per_user: int = 20
    base: float = 30.0
    cap: float = 15 * 60.0
    forget: float = 60 * 60.0
    clock: Callable[[], float] = time.monotonic
    _keys: dict[str, _Failures] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keys_for(self, address: str, user: str) -> list[tuple[str, int]]:
        return [(f"addr:{address}", self.free), (f"user:{user.lower()}", self.free_per_user)]

    def wait(self, address: str, user: str) -> float:
        """Seconds until this client may try again (0: now)."""
        now = self.clock()
        with self._lock:
            return max([f.locked_until - now for key, _ in self._keys_for(address, user)
                        if (f := self._keys.get(key))] + [0.0])

    def failed(self, address: str, user: str) -> float:
        """Count a wrong password; returns the lockout that starts now (0: none yet)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            if len(self._keys) > 10_000:  # a flood of addresses must not grow memory forever
                self._keys = {k: f for k, f in self._keys.items() if now - f.last < self.forget}
            for key, free in self._keys_for(address, user):
                f = self._keys.setdefault(key, _Failures())
                if now - f.last > self.forget:
                    f.count = 0
                f.count += 1
                f.last = now
                if f.count >= free:
                    delay = min(self.cap, self.base * 2 ** (f.count - free))
                    f.locked_until = now + delay
                    wait = max(wait, delay)
        return wait

    def succeeded(self, address: str, user: str) -> None:
        with self._lock:
            self._keys.pop(f"addr:{address}", None)


def check_login(settings: Any, user: str, password: str) -> bool:
    password_hash = settings.admin_password_hash
    name_ok = hmac.compare_digest(user.encode(), str(settings.admin_user).encode())
    try:
        # Always one hash check, so a wrong user name costs the same time as a wrong password.
        password_ok = check_password_hash(password_hash if password_hash and name_ok else _dummy_hash(),
                                          password)
    except (ValueError, TypeError):  # a malformed hash in the environment: nobody gets in
        return False
    return bool(password_hash) and name_ok and password_ok
