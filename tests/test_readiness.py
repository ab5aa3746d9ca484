"""`sending_problems`: which settings make real mail unusable, and that fixing each clears it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sender.readiness import is_test_backend, sending_problems
from sender.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
POSTMARK = "postmark://?stream=broadcast"
READY = {
    "base_url": "https://learn.bimkinesiology.ca",
    "from_address": "BIM Kinesiology <coach@bimkinesiology.ca>",
    "reply_to": "coach@bimkinesiology.ca",
    "postal_address": "BIM Kinesiology, 2150 Main Street, Vancouver BC V5T 3C8, Canada",
}


@pytest.fixture
def shipped(tmp_path: Path) -> Settings:
    """The repository's own dripcourse.toml, as a new user has it."""
    shutil.copy(REPO / "dripcourse.toml", tmp_path / "dripcourse.toml")
    return load_settings(tmp_path, environ={})


def test_the_shipped_sample_has_a_problem_per_setting(shipped: Settings) -> None:
    problems = sending_problems(shipped, POSTMARK)
    assert [p.split()[0] for p in problems] == ["base_url", "from_address", "reply_to", "postal_address"]
    assert all(" in dripcourse.toml to " in p for p in problems)
    assert problems[0] == (
        "base_url 'http://127.0.0.1:8000' is plain http, not https and a loopback host only this machine "
        "can open, so unsubscribe and confirmation links cannot work; set base_url in dripcourse.toml "
        "to the public https URL of this service")


def test_the_built_in_defaults_are_samples_too(tmp_path: Path) -> None:
    problems = sending_problems(load_settings(tmp_path, environ={}), POSTMARK)
    assert [p.split()[0] for p in problems] == ["base_url", "from_address", "postal_address"]


def test_proper_settings_have_no_problems(shipped: Settings) -> None:
    assert sending_problems(shipped.replace(**READY), POSTMARK) == []
    assert sending_problems(shipped.replace(**{**READY, "reply_to": ""}), POSTMARK) == []  # no Reply-To


@pytest.mark.parametrize("name", list(READY))
def test_fixing_one_setting_clears_only_its_problem(shipped: Settings, name: str) -> None:
    before = sending_problems(shipped, POSTMARK)
    after = sending_problems(shipped.replace(**{name: READY[name]}), POSTMARK)
    assert [p for p in before if not p.startswith(name + " ")] == after


@pytest.mark.parametrize(("base_url", "why"), [
    ("http://learn.bimkinesiology.ca", "plain http"),
    ("https://127.0.0.1:8000", "loopback"),
    ("https://127.1.2.3", "loopback"),
    ("https://[::1]:8000", "loopback"),
    ("https://localhost", "loopback"),
    ("https://courses.localhost", "loopback"),
    ("https://courses.example.com", "reserved"),
    ("https://courses.test", "reserved"),
    ("learn.bimkinesiology.ca", "not an https URL"),
])
def test_base_url_that_subscribers_cannot_open(shipped: Settings, base_url: str, why: str) -> None:
    [problem] = sending_problems(shipped.replace(**{**READY, "base_url": base_url}), POSTMARK)
    assert problem.startswith(f"base_url {base_url!r} is ") and why in problem
    assert problem.endswith("set base_url in dripcourse.toml to the public https URL of this service")


@pytest.mark.parametrize("address", [
    "coach@example.com", "Coach <coach@EXAMPLE.org>", "coach@mail.example.net", "coach@bim.example",
    "coach@bim.test", "coach@bim.invalid", "coach@localhost", "not an address",
])
@pytest.mark.parametrize("name", ["from_address", "reply_to"])
def test_sample_addresses(shipped: Settings, name: str, address: str) -> None:
    [problem] = sending_problems(shipped.replace(**{**READY, name: address}), POSTMARK)
    assert problem.startswith(f"{name} {address!r} is ")
    assert "not an email address" in problem if "@" not in address else "a sample address" in problem
    assert problem.endswith(f"set {name} in dripcourse.toml to an address at your own domain")


@pytest.mark.parametrize("address", ["coach@bimkinesiology.ca", "coach@examples.com", "coach@test.ca"])
def test_real_addresses_pass(shipped: Settings, address: str) -> None:
    assert sending_problems(shipped.replace(**{**READY, "from_address": address}), POSTMARK) == []


def test_only_the_exact_sample_postal_address_is_refused(shipped: Settings) -> None:
    sample = "BIM Kinesiology, 1 Example Street, Vancouver BC, Canada"
    [problem] = sending_problems(shipped.replace(**{**READY, "postal_address": sample}), POSTMARK)
    assert problem.startswith(f"postal_address {sample!r} is the shipped sample")
    assert problem.endswith("set postal_address in dripcourse.toml to yours")
    assert sending_problems(shipped.replace(**{**READY, "postal_address": "1 Example Street, Toronto"}),
                            POSTMARK) == []


def test_the_fix_names_where_the_value_comes_from(tmp_path: Path) -> None:
    s = load_settings(tmp_path, overrides={"from_address": "a@example.com"},
                      environ={"DRIP_BASE_URL": "http://127.0.0.1:9000"})
    by_name = {p.split()[0]: p for p in sending_problems(s, POSTMARK)}
    assert by_name["base_url"].endswith("set DRIP_BASE_URL to the public https URL of this service "
                                        "(it overrides dripcourse.toml)")
    assert by_name["from_address"].endswith("change --set from_address=… to an address at your own "
                                            "domain (it overrides dripcourse.toml)")


@pytest.mark.parametrize("provider", [
    "memory://", "outbox://./outbox", "console://", "smtp://127.0.0.1:1025", "smtp://localhost:1025",
    "smtps://[::1]:465", "smtp://mailpit.localhost:1025",
])
def test_test_backends_are_never_refused(shipped: Settings, provider: str) -> None:
    assert is_test_backend(provider)
    assert sending_problems(shipped, provider) == []


@pytest.mark.parametrize("provider", [
    "postmark://", "sendgrid://", "mailgun://mg.bimkinesiology.ca", "resend://", "ses://eu-west-1",
    "smtp://smtp.postmarkapp.com:587", "smtps://mail.bimkinesiology.ca:465",
    "postmark://?endpoint=http://127.0.0.1:9",  # a local endpoint still means a real provider's API
])
def test_real_providers_are_checked(shipped: Settings, provider: str) -> None:
    assert not is_test_backend(provider)
    assert len(sending_problems(shipped, provider)) == 4
