"""`drip demo`, the README's first command, as a user runs it: twice."""

import email
import os
import subprocess
import sys
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

from sender.store import Store

REPO = Path(__file__).resolve().parent.parent


def run_demo(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "sender.cli", "demo", "--dir", str(folder)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_demo_delivers_every_lesson_once_at_nine_local_and_twice_sends_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    first = run_demo(folder)
    assert first.returncode == 0, first.stderr
    assert "this run: sent 25, failed 0" in first.stdout

    emls = sorted((folder / "outbox").glob("*.eml"))
    assert len(emls) == 25
    for path in emls:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert msg.defects == [] and msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    store = Store(f"sqlite:///{folder / 'dripcourse.db'}")
    log = list(store.delivery_log())
    store.close()
    assert len(log) == 25 and {r.status for r in log} == {"sent"}
    assert len({(r.email, r.lesson_key) for r in log}) == 25
    for row in log:
        local = row.sent_at.astimezone(ZoneInfo(row.timezone))
        if row.position == 1:  # at once if they enrol inside their window, else at its start
            assert 9 <= local.hour < 11, row
        else:
            assert (local.hour, local.minute) == (9, 0), row

    second = run_demo(folder)
    assert second.returncode == 0, second.stderr
    assert "this run: sent 0, failed 0 (nothing new: every lesson was already delivered)" in second.stdout
    assert len(list((folder / "outbox").glob("*.eml"))) == 25
