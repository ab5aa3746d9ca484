"""Users see how fast their provider sends: `drip settings` gives the provider's effective
rate and concurrency (its defaults, or the URL's), and `drip tick` says how long a big
send will take before it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from sender.store import Store
from sender.store.schema import enrolments
from tests.providers.conftest import ENV, FAKE_APIS, serve

READY = ('base_url = "https://learn.bimkinesiology.ca"\n'
         'from_address = "BIM Kinesiology <coach@bimkinesiology.ca>"\n'
         'reply_to = "coach@bimkinesiology.ca"\n'
         'postal_address = "BIM Kinesiology, 2150 Main Street, Vancouver BC V5T 3C8, Canada"\n'
         'send_window = "00:00-23:59"\n')


def drip(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}
    env.update(ENV, COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "sender.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def provider_cell(out: str) -> str:
    """The text of the provider row of `drip settings`, its lines joined."""
    lines, inside = [], False
    for line in out.splitlines():
        cells = line.split("│")
        if len(cells) != 5:
            continue
        if cells[1].strip():
            inside = cells[1].strip() == "provider"
        if inside:
            lines.append(cells[2].strip())
    return " ".join(lines)


@pytest.mark.parametrize(("url", "shown"), [
    ("postmark://", "at most 200 messages/s (rate, Postmark's default), 2 requests at once "
                    "(concurrency, Postmark's default)"),
    ("postmark://?rate=50&concurrency=4", "at most 50 messages/s (rate, from the URL), 4 requests at once "
                                          "(concurrency, from the URL)"),
    ("sendgrid://", "at most 100 messages/s (rate, SendGrid's default), 4 requests at once"),
    ("ses://eu-west-1", "at most 14 messages/s (rate, SES's default)"),
    ("resend://", "2 requests/s of up to 100 messages (rps, Resend's default)"),
    ("smtp://relay.bimkinesiology.ca:587?rate=5",
     "at most 5 messages/s (rate, from the URL), over one connection"),
])
def test_settings_show_the_pace_the_provider_sends_at(tmp_path: Path, url: str, shown: str) -> None:
    result = drip("-s", f"provider={url}", "settings", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"sends {shown}" in provider_cell(result.stdout)
    # Postmark: 500 a request, the batch held to 1,000; SendGrid's 1,000 fill one request
    split = "; a batch of 1,000 goes as 2 claims of 500 at once"
    assert (split in provider_cell(result.stdout)) == url.startswith("postmark://")


def test_settings_name_a_bad_provider_url_and_still_list_the_rest(tmp_path: Path) -> None:
    result = drip("-s", "provider=postmark://?rat=5", "settings", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "unknown parameter 'rat'" in provider_cell(result.stdout)
    assert "batch_size" in result.stdout


def test_local_backends_show_no_pace(tmp_path: Path) -> None:
    result = drip("-s", "provider=outbox://./outbox", "settings", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sends" not in provider_cell(result.stdout)


def test_a_big_send_says_how_long_it_will_take_before_it_starts(project: Path,
                                                                httpserver: HTTPServer) -> None:
    (project / "dripcourse.toml").write_text(READY)
    served = serve(httpserver, FAKE_APIS["postmark"])
    for i in range(40):
        assert drip("subscribers", "add", f"reader{i}@bimkinesiology.ca", cwd=project).returncode == 0
    assert drip("enrol", "mini", cwd=project).returncode == 0
    store = Store(f"sqlite:///{project / 'dripcourse.db'}")
    with store.begin() as conn:  # every first lesson due now, whatever the clock says
        conn.execute(enrolments.update().values(next_due_at=datetime.now(UTC) - timedelta(minutes=1)))
    store.close()
    # 40 at 1/s: a single batch goes at once (the throttle then holds the next one back)
    url = f"postmark://?endpoint=http://127.0.0.1:{httpserver.port}&rate=1"
    result = drip("-s", f"provider={url}", "tick", cwd=project)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first == "40 emails at 1/s: about 40 seconds (the provider's pace; see drip settings)"
    assert sum(len(r.get_json()) for r in served.accepted) == 40
    # nothing due: nothing said
    again = drip("-s", f"provider={url}", "tick", cwd=project)
    assert "emails at" not in again.stdout
