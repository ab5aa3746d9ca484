"""The web app: public subscribe/confirm/unsubscribe pages, provider webhooks,
the local preview and the staff console, as Flask blueprints over one Engine.

`drip serve` runs it with waitress next to the scheduler; `drip preview` runs
it on 127.0.0.1 for staff. Pages are server-rendered Jinja (autoescaped). Every
response gets the security headers of `sender.web.security`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from sender.engine import Engine


@dataclass
class WebContext:
    engine: Engine
    # Webhook secrets come from the environment; tests hand in their own, and fetch
    # SNS certificates / confirm subscriptions without the network.
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    fetch_certificate: Callable[[str], bytes] | None = None
    http_get: Callable[[str], Any] | None = None


def drip() -> WebContext:
    """The engine and friends of the app serving this request."""
    ctx: WebContext = current_app.extensions["drip"]
    return ctx


def create_app(engine: Engine, *, public: bool = True, preview: bool = False, console: bool = True,
               preview_address: tuple[str, int | None] | None = None, **context: Any) -> Flask:
    """`preview_address`: (host, port) `drip preview` listens on; with `preview`, requests
    for any other Host are refused (port None: any port of those names).
    `context`: WebContext fields to override (tests: env, fetch_certificate, http_get)."""
    from sender.web import security

    app = Flask(__name__)
    app.extensions["drip"] = WebContext(engine, **context)
    app.config["MAX_CONTENT_LENGTH"] = 5 * 1024 * 1024  # webhooks batch events; nothing legit is bigger
    security.init_app(app)
    if preview:
        # The whole app, not only /preview: its subscribe form sends through the real provider too.
        security.only_hosts(app, *(preview_address or ("127.0.0.1", None)))
    if public:
        from sender.web import public as public_pages
        from sender.web import webhooks

        app.register_blueprint(public_pages.bp)
        app.register_blueprint(webhooks.bp)
    if preview:
        from sender.web import preview as preview_pages

        app.register_blueprint(preview_pages.bp)
    if console:
        from sender.web import console as console_pages

        console_pages.init_app(app)  # /console, behind a login
    return app
