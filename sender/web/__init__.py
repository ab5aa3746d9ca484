"""The web app: public subscribe/confirm/unsubscribe pages, provider webhooks,
the local preview and the staff console, as Flask blueprints over one Engine.

`drip serve` runs it with waitress next to the scheduler; `drip preview` runs
it on 127.0.0.1 for staff. Pages are server-rendered Jinja (autoescaped).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from sender.engine import Engine


@dataclass
class WebContext:
    engine: Engine
    # The scheduler's tick and web requests share one provider connection pool.
    send_lock: threading.Lock = field(default_factory=threading.Lock)


def drip() -> WebContext:
    """The engine and friends of the app serving this request."""
    ctx: WebContext = current_app.extensions["drip"]
    return ctx


def create_app(engine: Engine, *, public: bool = True, preview: bool = False) -> Flask:
    app = Flask(__name__)
    app.extensions["drip"] = WebContext(engine)
    app.config["MAX_CONTENT_LENGTH"] = 5 * 1024 * 1024  # webhooks batch events; nothing legit is bigger
    if public:
        from sender.web import public as public_pages

        app.register_blueprint(public_pages.bp)
    if preview:
        from sender.web import preview as preview_pages

        app.register_blueprint(preview_pages.bp)
    return app
