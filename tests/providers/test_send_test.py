"""`drip send-test` through a real SMTP server on 127.0.0.1, as staff would use it."""

from __future__ import annotations

from pathlib import Path

from sender.store import Store
from tests.providers.conftest import SmtpServer, free_port
from tests.test_cli import drip


def test_send_test_delivers_one_lesson_and_records_nothing(project: Path, smtp_server: SmtpServer) -> None:
    provider = f"provider=smtp://127.0.0.1:{smtp_server.port}"
    result = drip("--set", provider, "send-test", "mini/2", "--to", "Staff@Example.com",
                  "--name", "<b>Kim</b>", cwd=project)
    assert result.returncode == 0, result.stderr
    [message] = smtp_server.mailbox.messages()
    assert message["To"] == '"<b>Kim</b>" <staff@example.com>'
    assert message["Subject"] == "[Test] The second thing"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.get_body(("html",)).get_content()
    assert "Hi &lt;b&gt;Kim&lt;/b&gt;," in html and "<b>Kim</b>" not in html
    text = message.get_body(("plain",)).get_content()
    assert "Hi <b>Kim</b>," in text and "Body two." in text
    # a test is not a delivery: nothing in the store says lesson 2 went to anyone
    with Store(f"sqlite:///{project / 'dripcourse.db'}") as store:
        assert list(store.delivery_log()) == [] and store.subscribers() == []


def test_send_test_names_the_problem(project: Path, smtp_server: SmtpServer) -> None:
    provider = f"provider=smtp://127.0.0.1:{smtp_server.port}"
    unknown = drip("--set", provider, "send-test", "mini/9", "--to", "a@example.com", cwd=project)
    assert unknown.returncode == 1 and "no single lesson '9'" in unknown.stderr
    assert "02-next" in unknown.stderr
    shape = drip("--set", provider, "send-test", "mini", "--to", "a@example.com", cwd=project)
    assert shape.returncode == 1 and "expected CAMPAIGN/LESSON" in shape.stderr
    down = drip("--set", f"provider=smtp://127.0.0.1:{free_port()}?attempts=1", "send-test", "mini/1",
                "--to", "a@example.com", cwd=project)
    assert down.returncode == 1 and "did not accept the test" in down.stderr
    assert "cannot connect" in down.stderr and "Traceback" not in down.stderr
