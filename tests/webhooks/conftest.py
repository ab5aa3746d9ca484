"""Fixtures for the webhook tests: a fresh replay guard, parse_webhook on a fixed clock, and
real keys (generated once per session) for SendGrid and SNS."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from sender.webhooks import ReplayGuard, WebhookResult, parse_webhook

# pytest's default (prepend) import mode puts this folder on sys.path already; other modes
# do not, and the tests import their signers from the module beside them.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from webhook_signing import NOW, Parse, SendGridKeys, SnsSigner, new_sendgrid_keys, self_signed


@pytest.fixture
def guard() -> ReplayGuard:
    return ReplayGuard(max_entries=1000)


@pytest.fixture
def parse(guard: ReplayGuard) -> Parse:
    """parse_webhook with the fixed clock and this test's own replay guard."""

    def _parse(provider: str, headers: Mapping[str, str], body: bytes, *, env: Mapping[str, str],
               now: datetime = NOW, **kwargs: Any) -> WebhookResult:
        return parse_webhook(provider, headers, body, env=env, now=now, replay_guard=guard, **kwargs)

    return _parse


@pytest.fixture(scope="session")
def sendgrid_keys() -> SendGridKeys:
    return new_sendgrid_keys()


@pytest.fixture(scope="session")
def other_sendgrid_keys() -> SendGridKeys:
    return new_sendgrid_keys()


@pytest.fixture(scope="session")
def _sns_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def _sns_pem(_sns_key: rsa.RSAPrivateKey) -> bytes:
    return self_signed(_sns_key)


@pytest.fixture
def sns(_sns_key: rsa.RSAPrivateKey, _sns_pem: bytes) -> SnsSigner:
    return SnsSigner(_sns_key, _sns_pem)


@pytest.fixture(scope="session")
def _other_sns_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def sns_impostor(_other_sns_key: rsa.RSAPrivateKey, _sns_pem: bytes) -> SnsSigner:
    """Signs with a different key but serves the genuine certificate: a forged signature."""
    return SnsSigner(_other_sns_key, _sns_pem)
