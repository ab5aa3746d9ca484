"""The console's Sending page: where mail goes (the provider, with its effective rate and
concurrency), the identity it goes out with (From, Reply-To, base_url, postal address), and
the DNS records the From domain needs for that provider: SPF, DKIM and DMARC.

The records are guidance, checked with dnspython only when staff ask (a short timeout, so
an offline machine shows the guidance, not an error). Where the provider picks the DKIM
selector per account (Postmark, Mailgun, SES) the page says where to find it instead of
checking a name that can't be known here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

import dns.exception
import dns.resolver
from flask import current_app, request

from sender.providers.http import HttpProvider, redact
from sender.providers.pace import limits_line, sending_limits
from sender.readiness import is_test_backend, sending_problems
from sender.web import drip
from sender.web.console import bp, page


@dataclass(frozen=True)
class Record:
    purpose: str  # SPF, DKIM or DMARC
    name: str  # the full DNS name
    type: str  # TXT or CNAME
    want: str  # what it should hold
    note: str = ""
    check: str = ""  # how to judge it: "spf:<include>", "dmarc", "exists", or "" (guidance only)
    status: str = "not checked"  # ok | missing | wrong | not checked | guidance
    found: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ProviderDns:
    spf_include: str
    spf_host: str = ""  # a subdomain label the SPF record sits on ("" = the From domain)
    spf_note: str = ""
    dkim: tuple[tuple[str, str, str], ...] = ()  # (selector, type, value) checked at <selector>._domainkey
    dkim_note: str = ""


# From each provider's domain set-up documentation.
PROVIDERS: dict[str, ProviderDns] = {
    "postmark": ProviderDns(
        "spf.mtasv.net", spf_note="Postmark also asks for a Return-Path CNAME (pm-bounces → pm.mtasv.net).",
        dkim_note="Postmark's DKIM selector is per account (a dated name like 20240101123456pm): copy the "
                  "TXT record from Sender Signatures → DNS settings."),
    "sendgrid": ProviderDns(
        "sendgrid.net",
        dkim=(("s1", "CNAME", "s1.domainkey.uNNNN.wlNNN.sendgrid.net"),
              ("s2", "CNAME", "s2.domainkey.uNNNN.wlNNN.sendgrid.net")),
        dkim_note="With automated security SendGrid gives s1 and s2 CNAMEs; the targets are per account "
                  "(Settings → Sender Authentication)."),
    "mailgun": ProviderDns(
        "mailgun.org", spf_note="On the domain you added to Mailgun (often a subdomain such as mg.).",
        dkim_note="Mailgun's DKIM selector is per domain (e.g. smtp, k1 or mx): copy the TXT record from "
                  "Sending → Domains → DNS records."),
    "ses": ProviderDns(
        "amazonses.com", spf_note="Needed on a custom MAIL FROM domain; SES's default MAIL FROM passes SPF "
                                  "on its own.",
        dkim_note="Easy DKIM: three CNAMEs <token>._domainkey → <token>.dkim.amazonses.com, the tokens per "
                  "identity (SES console → Verified identities)."),
    "resend": ProviderDns(
        "amazonses.com", spf_host="send",
        spf_note="Resend sends through Amazon SES from the send. subdomain (with an MX to feedback-smtp).",
        dkim=(("resend", "TXT", "p=<the public key Resend shows>"),),
        dkim_note="The key itself is per domain (Resend → Domains)."),
}
DMARC_WANT = "v=DMARC1; p=none; rua=mailto:dmarc@{domain} (then p=quarantine, then p=reject)"


def from_domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2].lower().rstrip(".")


def records_for(domain: str, scheme: str) -> list[Record]:
    """The SPF, DKIM and DMARC records `domain` needs to send through `scheme`."""
    out: list[Record] = []
    known = PROVIDERS.get(scheme)
    if known:
        host = f"{known.spf_host}.{domain}" if known.spf_host else domain
        out.append(Record("SPF", host, "TXT", f"v=spf1 include:{known.spf_include} ~all", known.spf_note,
                          check=f"spf:{known.spf_include}"))
        for selector, rtype, value in known.dkim:
            out.append(Record("DKIM", f"{selector}._domainkey.{domain}", rtype, value, known.dkim_note,
                              check="exists"))
        if not known.dkim:
            out.append(Record("DKIM", f"<selector>._domainkey.{domain}", "TXT or CNAME", "from the provider",
                              known.dkim_note, status="guidance"))
    else:
        note = ("A local backend: nothing leaves this machine; a real provider documents its include."
                if is_test_backend(f"{scheme}://") else "The include your relay documents.")
        out.append(Record("SPF", domain, "TXT", "v=spf1 include:<your relay> ~all", note, status="guidance"))
        out.append(Record("DKIM", f"<selector>._domainkey.{domain}", "TXT", "from the relay",
                          "The selector and key come from whoever signs the mail.", status="guidance"))
    out.append(Record("DMARC", f"_dmarc.{domain}", "TXT", DMARC_WANT.format(domain=domain),
                      "Gmail and Yahoo require a DMARC record of bulk senders; p=none is enough to start.",
                      check="dmarc"))
    return out


class Unresolvable(Exception):
    """The machine can't ask DNS (offline, no resolver, timed out)."""


def _lookup(resolver: dns.resolver.Resolver, name: str, rtype: str) -> tuple[str, ...]:
    """The record's texts; () when the name or the type is not there."""
    try:
        answer = resolver.resolve(name, rtype, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return ()
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration) as exc:
        raise Unresolvable(str(exc) or type(exc).__name__) from None
    if rtype == "TXT":
        return tuple(b"".join(r.strings).decode("utf-8", "replace") for r in answer)
    return tuple(r.to_text() for r in answer)


def _tags(text: str) -> dict[str, str]:
    """A DMARC record's tags: "v=DMARC1; p=none" → {"v": "DMARC1", "p": "none"}."""
    pairs = (part.split("=", 1) for part in text.split(";") if "=" in part)
    return {k.strip().lower(): v.strip() for k, v in pairs}


def _judge(record: Record, found: tuple[str, ...]) -> str:
    if record.check.startswith("spf:"):
        spf = [t for t in found if t.lower().startswith("v=spf1")]
        if not spf:
            return "missing"
        return "ok" if any(f"include:{record.check[4:]}" in t.lower().split() for t in spf) else "wrong"
    if record.check == "dmarc":
        tags = [_tags(t) for t in found]
        dmarc = [t for t in tags if t.get("v", "").upper() == "DMARC1"]
        if not dmarc:
            return "missing"
        return "ok" if any(t.get("p") in ("none", "quarantine", "reject") for t in dmarc) else "wrong"
    return "ok" if found else "missing"


def check_records(records: list[Record], *, nameserver: str | None = None, port: int = 53,
                  timeout: float = 2.0) -> tuple[list[Record], str | None]:
    """Each checkable record looked up (at `nameserver`:`port`, else the system's resolver),
    or all left as guidance with why, when DNS can't be reached."""
    try:
        resolver = dns.resolver.Resolver(configure=nameserver is None)
    except dns.resolver.NoResolverConfiguration:
        return records, "this machine has no DNS resolver configured"
    if nameserver is not None:
        resolver.nameservers, resolver.port = [nameserver], port
    resolver.lifetime = resolver.timeout = timeout
    out = []
    for record in records:
        if not record.check:
            out.append(record)
            continue
        try:
            found = _lookup(resolver, record.name, record.type)
        except Unresolvable as exc:
            return records, f"DNS did not answer ({exc}); the records below are what to publish"
        out.append(replace(record, found=found, status=_judge(record, found)))
    return out, None


def provider_summary(provider: Any, url: str) -> dict[str, Any]:
    """The provider's scheme and the pace it sends at, worded as `drip settings` words it."""
    url = getattr(provider, "url", url)  # the provider the engine really sends through
    limits = sending_limits(provider)
    return {"scheme": urlsplit(url).scheme, "url": redact(url).split("?")[0], "test": is_test_backend(url),
            "pace": limits_line(limits) if limits else None,
            "endpoint": provider.options.endpoint if isinstance(provider, HttpProvider) else None}


@bp.get("/sending")
def sending() -> tuple[str, int]:
    engine = drip().engine
    settings = engine.settings
    provider = provider_summary(engine.provider, settings.provider)
    domain = from_domain(settings.from_address)
    records = records_for(domain, provider["scheme"]) if domain else []
    problem = None
    checked = bool(request.args.get("check")) and bool(records)
    if checked:
        records, problem = check_records(
            records, nameserver=current_app.config.get("CONSOLE_DNS_NAMESERVER"),
            port=int(current_app.config.get("CONSOLE_DNS_PORT", 53)),
            timeout=float(current_app.config.get("CONSOLE_DNS_TIMEOUT", 2.0)))
    return page("console_sending.html", title="Sending", provider=provider, settings=settings, domain=domain,
                records=records, checked=checked and problem is None, dns_problem=problem,
                problems=sending_problems(settings, settings.provider))
