"""How fast a provider sends and where each figure comes from, said once for `drip settings`,
`drip tick` and the console's Sending page."""
from __future__ import annotations

from typing import Any


def sending_limits(provider: Any) -> dict[str, Any] | None:
    """How fast `provider` sends, with where each figure comes from: `rate` (messages/s,
    0 for no limit), `rps` (requests/s), `concurrency`, `batch` (messages a request) and
    `per_second`, the messages/s that follow (None: no limit). None for local backends."""
    params = getattr(provider, "params", None)
    options = getattr(provider, "options", None)  # the HTTP APIs' HttpOptions
    if params is None:  # outbox://, console://, memory://: nothing is throttled
        return None
    rate = float(options.rate if options else params.get("rate", 0) or 0)
    rps = float(options.rps if options else 0)
    batch = int(getattr(provider, "batch_limit", 1))
    limits = [x for x in (rate, rps * batch) if x > 0]
    return {"provider": provider.name, "rate": rate, "rps": rps,
            "concurrency": options.concurrency if options else 1, "batch": batch,
            "per_second": min(limits) if limits else None,
            "from": {k: "URL" if k in params else "default" for k in ("rate", "rps", "concurrency")}}


PROVIDER_NAMES = {"postmark": "Postmark", "sendgrid": "SendGrid", "mailgun": "Mailgun", "resend": "Resend",
                  "ses": "SES", "smtp": "SMTP"}


def limits_line(limits: dict[str, Any]) -> str:
    """E.g. "sends at most 200 messages/s (rate, Postmark's default), 2 requests at once
    (concurrency, Postmark's default)"."""
    name = PROVIDER_NAMES.get(limits["provider"], limits["provider"])

    def src(param: str) -> str:
        return "from the URL" if limits["from"][param] == "URL" else f"{name}'s default"

    pace = []
    if limits["rate"]:
        pace.append(f"at most {limits['rate']:g} messages/s (rate, {src('rate')})")
    if limits["rps"]:
        pace.append(f"{limits['rps']:g} requests/s of up to {limits['batch']:,} messages (rps, {src('rps')})")
    pace = pace or ["with no rate limit (rate=0)"]
    if limits["provider"] == "smtp":
        return f"sends {', '.join(pace)}, over one connection"
    n = limits["concurrency"]
    at_once = f"{n} request{'s' if n != 1 else ''} at once"
    return f"sends {', '.join(pace)}, {at_once} (concurrency, {src('concurrency')})"


FILLING_MOST = 1_000  # a batch's emails are all rendered and held at once: keep that bounded


def default_batch_size(provider: Any, least: int) -> int:
    """`batch_size` (the deliveries a tick has with the provider at once) when the setting is
    left at its default: enough to keep busy every request the provider allows at once (its
    batch × concurrency: Postmark's 500 × 2); never fewer than `least` (the setting's default),
    never more than FILLING_MOST."""
    limits = sending_limits(provider)
    if not limits:
        return least
    return max(least, min(FILLING_MOST, limits["batch"] * limits["concurrency"]))


def claims_in_flight(provider: Any, batch_size: int) -> int:
    """Into how many claims a tick splits a batch: one per request the provider runs at once,
    as far as the batch fills them (Postmark's 1,000: two claims of 500), so that while one
    claim's outcomes are stored and the next claim is written, the provider is still busy with
    the other's request. The claims with the provider are never more than one batch in all."""
    limits = sending_limits(provider)
    if not limits:
        return 1
    return max(1, min(limits["concurrency"], batch_size // limits["batch"]))


def claim_split(provider: Any, batch_size: int) -> tuple[int, int]:
    """(claims a batch goes as, deliveries each claims at most): see `claims_in_flight`."""
    claims = claims_in_flight(provider, batch_size)
    return claims, -(-batch_size // claims)
