"""What every response of the web app carries, and who may ask.

- One `after_request` hook, for every blueprint and error page: a Content-Security-Policy
  (the blueprint's own, see `page_policy`, else `DEFAULT_POLICY`), with
  `frame-ancestors` in every one of them; `X-Content-Type-Options: nosniff`;
  `Referrer-Policy: same-origin` (a page's URL may hold a signed token). A response
  that sets its own policy keeps it (the preview's email HTML, the console's newsletter
  preview), and must say `frame-ancestors` itself.
- Inline scripts run only with this request's nonce: `<script nonce="{{ csp_nonce() }}">`.
- `drip preview` answers only to its own address (`only_hosts`): a page on another
  site whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name as
  `Host`, and is refused before it can reach a page or make the preview send mail.
"""

from __future__ import annotations

import ipaddress
import secrets

from flask import Blueprint, Flask, Response, current_app, g, request
from flask.blueprints import BlueprintSetupState

# Pages of our own with no special needs (public pages, webhooks' answers, error pages):
# nothing loads from anywhere; styles are inline <style> blocks of our templates.
DEFAULT_POLICY = ("default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_POLICIES = "drip_csp"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
LOOPBACK_PEERS = ("127.0.0.1", "::1")  # a reverse proxy on this machine
WILDCARDS = ("", "0.0.0.0", "::")


def page_policy(bp: Blueprint, policy: str) -> None:
    """The CSP of `bp`'s pages (a blueprint whose pages need more, or less, than the default)."""

    def record(state: BlueprintSetupState) -> None:
        state.app.extensions.setdefault(_POLICIES, {})[bp.name] = policy

    bp.record_once(record)


def csp_nonce() -> str:
    """This response's script nonce (made on first use; the policy then allows it)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return str(nonce)


def _with_nonce(policy: str, nonce: str) -> str:
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    kept = [d for d in directives if not d.startswith("script-src ")]
    return "; ".join([*kept, f"script-src 'nonce-{nonce}'"])


def _headers(response: Response) -> Response:
    if "Content-Security-Policy" not in response.headers:
        policy = current_app.extensions.get(_POLICIES, {}).get(request.blueprint or "", DEFAULT_POLICY)
        nonce = g.get("csp_nonce")
        response.headers["Content-Security-Policy"] = _with_nonce(policy, nonce) if nonce else policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce


# -- the preview's Host check ----------------------------------------------------------------


def _names(host: str | None) -> set[str]:
    """Host names the server listening on `host` answers to: the loopback names and the
    listen address itself (a wildcard such as 0.0.0.0 adds none: see `host_allowed`)."""
    names = {*LOOPBACK_NAMES}
    if host and host not in WILDCARDS:
        names.add(host.strip("[]").lower())
    return names


def _split_host(value: str) -> tuple[str, str]:
    """("name", "port") of a Host header; the port is "" when absent."""
    if value.startswith("["):  # [::1]:8000
        name, _, rest = value[1:].partition("]")
        return name.lower(), rest.removeprefix(":")
    name, sep, port = value.rpartition(":")
    if not sep or ":" in name:  # no port, or a bare IPv6 address
        return value.lower(), ""
    return name.lower(), port


def host_allowed(value: str, host: str | None, port: int | None) -> bool:
    """May a request with this Host header be answered by the server on host:port? The
    port must match too, unless it is None (an app made before its port was chosen)."""
    name, given_port = _split_host(value)
    if port is not None and given_port != str(port) and not (port == 80 and given_port == ""):
        return False
    if name in _names(host):
        return True
    if host in WILDCARDS:
        # Listening on every interface, the preview is reached by this machine's addresses.
        # An IP literal can't be a re-pointed name, so it is not a rebinding attack.
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True
    return False


def only_hosts(app: Flask, host: str | None, port: int | None) -> None:
    """Refuse (421) every request whose Host is not this server's own address."""

    def check() -> Response | None:
        given = request.headers.get("Host", "")
        if host_allowed(given, host, port):
            return None
        where = f"{host or '127.0.0.1'}:{port}" if port else (host or "127.0.0.1")
        return Response(f"This preview answers only at its own address ({where}), not {given[:100]!r}.\n",
                        421, mimetype="text/plain")

    app.before_request(check)


# -- who is asking ---------------------------------------------------------------------------------


def client_address() -> str:
    """The client a request came from, for per-client limits. Behind a reverse proxy on
    this machine (the peer is loopback: `listen` is 127.0.0.1 by default), the last
    X-Forwarded-For entry, the one the proxy itself added; otherwise the peer. IPv6
    clients count per /64, the block one subscriber's line usually gets."""
    peer = request.remote_addr or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    address = forwarded.rsplit(",", 1)[-1].strip() if peer in LOOPBACK_PEERS and forwarded else peer
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
