"""Reading SpamAssassin's verdict (`spamassassin -L -t -x` output) in sender.spamcheck: the
score and threshold, the rules of a folded X-Spam-Status, and the report's table with
descriptions that wrap. tests/render/test_spamassassin.py runs the real command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sender import spamcheck

OUTPUT = b"""X-Spam-Checker-Version: SpamAssassin 4.0.1 (2024-03-25) on vm
X-Spam-Level: *
X-Spam-Status: No, score=1.4 required=5.0 tests=HTML_IMAGE_ONLY_16,
\tHTML_MESSAGE,MISSING_MID,NO_RECEIVED autolearn=no autolearn_force=no
\tversion=4.0.1
Subject: Hello

Body.

Content analysis details:   (1.4 points, 5.0 required)

 pts rule name              description
---- ---------------------- --------------------------------------------------
 0.1 MISSING_MID            Missing Message-Id: header
-0.0 NO_RECEIVED            Informational: message has no Received headers
 1.3 HTML_IMAGE_ONLY_16     BODY: HTML: images with 1200-1600 bytes of
                            words
 0.0 HTML_MESSAGE           BODY: HTML included in message

"""


def test_the_verdict_is_read_from_the_output() -> None:
    verdict = spamcheck.parse_output(OUTPUT)
    assert (verdict.score, verdict.required, verdict.is_spam) == (1.4, 5.0, False)
    assert verdict.names == ("HTML_IMAGE_ONLY_16", "HTML_MESSAGE", "MISSING_MID", "NO_RECEIVED")
    assert [(r.name, r.points) for r in verdict.rules] == [
        ("MISSING_MID", 0.1), ("NO_RECEIVED", -0.0), ("HTML_IMAGE_ONLY_16", 1.3), ("HTML_MESSAGE", 0.0)]
    assert verdict.rules[2].description == "BODY: HTML: images with 1200-1600 bytes of words"


def test_output_without_a_score_is_a_one_line_error() -> None:
    with pytest.raises(spamcheck.SpamCheckError, match="no score in spamassassin's X-Spam-Status: None"):
        spamcheck.parse_output(b"Subject: x\n\nbody\n")


def test_without_spamassassin_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert spamcheck.find_spamassassin() is None
    with pytest.raises(spamcheck.SpamCheckError) as raised:
        spamcheck.check(b"Subject: x\n\nbody\n")
    assert str(raised.value) == "SpamAssassin not installed"


def test_a_failing_command_is_a_one_line_error(tmp_path: Path) -> None:
    fake = tmp_path / "spamassassin"
    fake.write_text("#!/bin/sh\necho 'config: cannot read rules' >&2\nexit 2\n")
    os.chmod(fake, 0o755)
    with pytest.raises(spamcheck.SpamCheckError) as raised:
        spamcheck.check(b"Subject: x\n\nbody\n", str(fake))
    assert str(raised.value) == "spamassassin exited with 2: config: cannot read rules"
