"""`drip send-test`, `drip tick` and `drip serve` through a real provider (Postmark's API,
faked on 127.0.0.1) refuse the shipped sample settings, naming each setting to change and
sending nothing; with the project's own settings they send. `drip lint` warns of the same."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import REPO
from tests.providers.conftest import FAKE_APIS, endpoint_url, serve
from tests.test_cli import drip

POSTMARK = FAKE_APIS["postmark"]
READY = (
    'base_url = "https://learn.bimkinesiology.ca"\n'
    'from_address = "BIM Kinesiology <coach@bimkinesiology.ca>"\n'
    'reply_to = "coach@bimkinesiology.ca"\n'
    'postal_address = "BIM Kinesiology, 2150 Main Street, Vancouver BC V5T 3C8, Canada"\n'
)


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "pm-token")  # drip() passes the environment on


def configure(project: Path, server: HTTPServer, settings: str) -> None:
    """The shipped dripcourse.toml with a Postmark provider and an always-open window, then
    `settings`; TOML forbids a repeated key, so shipped lines they replace are dropped."""
    settings += ('send_window = "00:00-24:00"\nsend_weekdays = "all"\n'
                 f'provider = "{endpoint_url(POSTMARK, server)}"\n')
    replaced = {line.partition("=")[0].strip() for line in settings.splitlines()}
    shipped = [line for line in (REPO / "dripcourse.toml").read_text().splitlines()
               if line.partition("=")[0].strip() not in replaced]
    (project / "dripcourse.toml").write_text("\n".join(shipped) + "\n" + settings)


def assert_refused(result: subprocess.CompletedProcess[str], server: HTTPServer) -> None:
    assert result.returncode == 1
    err = result.stderr
    assert err.startswith("error: not sending through postmark: fix these settings first:\n"), err
    assert "Traceback" not in err
    for fix in ("set base_url in dripcourse.toml to the public https URL of this service",
                "set from_address in dripcourse.toml to an address at your own domain",
                "set reply_to in dripcourse.toml to an address at your own domain",
                "set postal_address in dripcourse.toml to yours"):
        assert fix in err
    assert server.log == []  # not a single request reached the provider


def test_send_test_refuses_the_sample_settings(project: Path, httpserver: HTTPServer) -> None:
    configure(project, httpserver, "")
    served = serve(httpserver, POSTMARK)
    result = drip("send-test", "mini/1", "--to", "staff@bimkinesiology.ca", cwd=project)
    assert_refused(result, httpserver)
    assert served.requests == []


def test_send_test_sends_with_the_projects_own_settings(project: Path, httpserver: HTTPServer) -> None:
    configure(project, httpserver, READY)
    served = serve(httpserver, POSTMARK)
    result = drip("send-test", "mini/1", "--to", "staff@bimkinesiology.ca", cwd=project)
    assert result.returncode == 0, result.stderr
    [message] = served.requests[0].get_json()
    assert message["From"] == "BIM Kinesiology <coach@bimkinesiology.ca>"
    assert "https://learn.bimkinesiology.ca/unsubscribe/" in message["HtmlBody"]


def test_tick_refuses_the_samples_then_sends_once_fixed(project: Path, httpserver: HTTPServer) -> None:
    configure(project, httpserver, "")
    served = serve(httpserver, POSTMARK)
    assert drip("subscribers", "add", "reader@bimkinesiology.ca", cwd=project).returncode == 0
    assert drip("enrol", "mini", cwd=project).returncode == 0
    assert_refused(drip("tick", cwd=project), httpserver)
    assert served.requests == []

    configure(project, httpserver, READY)
    result = drip("tick", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "sent 1, failed 0" in result.stdout
    assert [m["To"] for m in served.requests[0].get_json()] == ["reader@bimkinesiology.ca"]


def test_serve_refuses_the_sample_settings(project: Path, httpserver: HTTPServer) -> None:
    configure(project, httpserver, "")
    for args in (["serve"], ["serve", "--worker"]):
        assert_refused(drip(*args, cwd=project), httpserver)


def test_a_single_problem_is_named_alone(project: Path, httpserver: HTTPServer) -> None:
    configure(project, httpserver, READY)
    result = drip("--set", "base_url=http://learn.bimkinesiology.ca", "send-test", "mini/1",
                  "--to", "staff@bimkinesiology.ca", cwd=project)
    assert result.returncode == 1
    assert result.stderr == (
        "error: not sending through postmark: fix this setting first:\n"
        "  - base_url 'http://learn.bimkinesiology.ca' is plain http, not https, so unsubscribe and "
        "confirmation links cannot work; change --set base_url=… to the public https URL of this "
        "service (it overrides dripcourse.toml)\n")
    assert httpserver.log == []


def test_lint_warns_of_the_same_but_passes(project: Path, httpserver: HTTPServer) -> None:
    configure(project, httpserver, "")
    result = drip("lint", "mini", cwd=project)
    assert result.returncode == 0, result.stderr
    config = project / "dripcourse.toml"
    warned = [line for line in result.stderr.splitlines() if line.startswith(f"{config}: warning: ")]
    assert [w.removeprefix(f"{config}: warning: ").split()[0] for w in warned] == [
        "base_url", "from_address", "reply_to", "postal_address"]

    configure(project, httpserver, READY)
    assert str(config) not in drip("lint", "mini", cwd=project).stderr


def test_lint_says_nothing_of_settings_with_a_test_backend(project: Path) -> None:
    (project / "dripcourse.toml").write_text((REPO / "dripcourse.toml").read_text())  # outbox
    result = drip("lint", "mini", cwd=project)
    assert result.returncode == 0 and "dripcourse.toml" not in result.stderr


def test_the_send_test_behind_the_preview_button_refuses_the_samples_too(project: Path,
                                                                         httpserver: HTTPServer) -> None:
    from sender.engine import project_engine
    from sender.errors import DripError
    from sender.sample import send_test
    from sender.schedule import system_clock
    from sender.settings import load_settings

    configure(project, httpserver, "")
    served = serve(httpserver, POSTMARK)
    engine = project_engine(load_settings(project), system_clock)
    with pytest.raises(DripError, match=r"base_url in dripcourse\.toml"):
        send_test(engine, "mini", "01-start", "maria@bimkinesiology.ca")
    assert served.requests == []
