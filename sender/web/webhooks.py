"""`POST /webhooks/<provider>`: provider events (bounces, complaints, unsubscribes,
deliveries, opens, clicks) verified the provider's way by `sender.webhooks`, then
stored against their delivery. An unverified request gets 401 and changes nothing;
if storing fails the answer is 500, so the provider sends the events again."""

from __future__ import annotations

import dataclasses
import logging

from flask import Blueprint, Response, jsonify, request

from sender.web import drip
from sender.webhooks import WebhookRejected, parse_webhook

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)


@bp.post("/webhooks/<provider>")
def receive(provider: str) -> tuple[Response, int]:
    ctx = drip()
    try:
        result = parse_webhook(provider, dict(request.headers), request.get_data(cache=False),
                               env=ctx.env, fetch_certificate=ctx.fetch_certificate)
    except WebhookRejected as exc:
        log.warning("webhook %s refused (%s): %s", provider, exc.status, exc.reason)
        return jsonify(error=exc.reason), exc.status
    try:
        if result.subscribe_url:  # SES through SNS: confirm the topic subscription
            from sender.webhooks.ses import confirm_subscription

            confirm_subscription(result, http_get=ctx.http_get)
        stored, suppressed = ctx.engine.store.record_webhook_events(
            [dataclasses.asdict(e) for e in result.events], ctx.engine.clock())
    except Exception:
        result.release()  # let the provider's retry of this very request through
        log.exception("webhook %s: could not store %d events", provider, len(result.events))
        return jsonify(error="could not store the events; send them again"), 500
    return jsonify(received=len(result.events), stored=stored, suppressed=suppressed), 200
