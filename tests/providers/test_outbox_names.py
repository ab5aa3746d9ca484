"""outbox:// file names a person can read: send time, recipient, campaign, lesson; unique,
and safe on any file system whatever the address or slug holds."""

from __future__ import annotations

import email
import re
import threading
from datetime import datetime
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

from sender.providers.outbox import OutboxProvider
from tests.providers.conftest import make_message

LISBON = ZoneInfo("Europe/Lisbon")


def sent_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_name_says_when_who_which_course_and_lesson(tmp_path: Path) -> None:
    message = make_message(
        1, to="Maria Silva <maria@example.com>", date=datetime(2026, 12, 4, 9, 0, 41, tzinfo=LISBON),
        metadata={"campaign": "glute-activation", "lesson": "02-dominant-hamstrings", "delivery": "7"})
    [result] = OutboxProvider(f"outbox://{tmp_path}").send_messages([message])
    assert result.ok
    assert sent_names(tmp_path) == ["2026-12-04T0900Z_maria@example.com_glute-activation_02.eml"]
    assert result.provider_message_id == str(tmp_path / sent_names(tmp_path)[0])


def test_the_time_is_utc_and_a_newsletter_or_test_send_says_so(tmp_path: Path) -> None:
    summer = datetime(2026, 7, 1, 9, 30, tzinfo=LISBON)  # 08:30 UTC
    OutboxProvider(f"outbox://{tmp_path}").send_messages([
        make_message(1, to="ken@example.com", date=summer,
                     metadata={"campaign": "newsletter", "lesson": "issue-3-2026-07-01 09:30"}),
        make_message(2, to="Ana <ana@example.com>", date=summer,
                     metadata={"campaign": "glutes", "lesson": "01-start", "kind": "test"}),
        make_message(3, to="Sam <sam@example.com>", date=summer, metadata={"kind": "confirm",
                                                                           "campaign": "glutes"}),
    ])
    assert sent_names(tmp_path) == [
        "2026-07-01T0830Z_ana@example.com_glutes_01_test.eml",
        "2026-07-01T0830Z_ken@example.com_newsletter_issue-3-2026-07-01-09-30.eml",
        "2026-07-01T0830Z_sam@example.com_glutes_confirm.eml",
    ]


def test_two_messages_with_the_same_name_are_both_kept(tmp_path: Path) -> None:
    first, second = (make_message(1, message_id=f"<{n}@example.com>", date=datetime(2026, 12, 4, 9, 0, s,
                                                                                      tzinfo=LISBON))
                     for n, s in (("first", 5), ("second", 50)))
    outbox = OutboxProvider(f"outbox://{tmp_path}")
    outbox.send_messages([first])
    outbox.send_messages([second])
    names = sent_names(tmp_path)
    assert names == ["2026-12-04T0900Z_reader1@example.org_glutes_01.eml",
                     "2026-12-04T0900Z_reader1@example.org_glutes_01_2.eml"]
    ids = [email.message_from_bytes((tmp_path / n).read_bytes(), policy=policy.default)["Message-ID"]
           for n in names]
    assert ids == ["<first@example.com>", "<second@example.com>"]


def test_writers_at_once_never_replace_each_other(tmp_path: Path) -> None:
    """Several senders (threads here, processes in `drip serve --worker`) on one outbox."""
    outbox = OutboxProvider(f"outbox://{tmp_path}")
    outbox.open()
    start = threading.Barrier(6)

    def send(writer: int) -> None:
        start.wait()
        for n in range(10):
            outbox.send_messages([make_message(1, message_id=f"<{writer}-{n}@example.com>")])

    threads = [threading.Thread(target=send, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    names = sent_names(tmp_path)
    assert len(names) == 60 and all(n.endswith(".eml") for n in names)  # no temporary file left
    ids = {email.message_from_bytes((tmp_path / n).read_bytes(), policy=policy.default)["Message-ID"]
           for n in names}
    assert len(ids) == 60


def test_addresses_and_slugs_cannot_escape_or_break_the_name(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    OutboxProvider(f"outbox://{outbox}").send_messages([
        make_message(1, to="José <josé.núñez+news@example.com>"),
        make_message(2, to="x@example.com", metadata={"campaign": "../../escape", "lesson": "a/b\\c:d*?"}),
        make_message(3, to='"a b" <"odd name"@example.com>'),
    ])
    names = sent_names(outbox)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outbox"]  # nothing written outside it
    assert all(re.fullmatch(r"[A-Za-z0-9._@+-]+\.eml", n) and ".." not in n for n in names), names
    assert "2024-05-06T0900Z_jose.nunez+news@example.com_glutes_01.eml" in names
    assert "2024-05-06T0900Z_x@example.com_escape_a-b-c-d.eml" in names
