"""SpamAssassin's verdict on one message, from its local rules only.

`spamassassin -L -t -x`: `-L` runs no network test (no DNS blocklists, no Razor/Pyzor), so
the score is the same offline and nothing leaves the machine; `-t` appends the report that
names each rule hit; `-x` keeps no per-user preferences. Each run gets a fresh empty HOME,
so no Bayes data or auto-learning is carried from one message to the next. Used by the
preview's "Spam score" button and by tests/render/test_spamassassin.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser

# About 3 s for one lesson on this machine; generous, since a cold start loads every rule.
TIMEOUT_S = 120
_STATUS = re.compile(r"score=(-?\d+(?:\.\d+)?) required=(-?\d+(?:\.\d+)?) tests=(\S*)")
# A report line: " 0.0 HTML_MESSAGE           BODY: HTML included in message"
_RULE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$")


class SpamCheckError(Exception):
    """spamassassin ran but gave no verdict (one line, for the page)."""


@dataclass(frozen=True)
class Rule:
    name: str
    points: float
    description: str


@dataclass(frozen=True)
class SpamReport:
    score: float
    required: float
    names: tuple[str, ...]  # the rules that hit, as X-Spam-Status lists them
    rules: tuple[Rule, ...]  # the same with their points and description, from the report

    @property
    def is_spam(self) -> bool:
        return self.score >= self.required


def find_spamassassin() -> str | None:
    """The `spamassassin` command on PATH, or None."""
    return shutil.which("spamassassin")


def check(eml: bytes, spamassassin: str | None = None, timeout: float = TIMEOUT_S) -> SpamReport:
    """Score `eml` (a whole RFC 5322 message). Raises SpamCheckError when spamassassin is
    missing or gives no score."""
    command = spamassassin or find_spamassassin()
    if command is None:
        raise SpamCheckError("SpamAssassin not installed")
    with tempfile.TemporaryDirectory(prefix="drip-spamassassin-") as home:
        try:
            done = subprocess.run([command, "-L", "-t", "-x"], input=eml, capture_output=True,
                                  timeout=timeout, env={**os.environ, "HOME": home})
        except subprocess.TimeoutExpired:
            raise SpamCheckError(f"spamassassin gave no answer within {timeout:g} s") from None
        except OSError as exc:
            raise SpamCheckError(f"cannot run {command}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise SpamCheckError(f"spamassassin exited with {done.returncode}: {said[-1]}")
    return parse_output(done.stdout)


def parse_output(out: bytes) -> SpamReport:
    """The verdict in `spamassassin -t` output: X-Spam-Status, then the report's rule table."""
    status = BytesParser(policy=policy.default).parsebytes(out, headersonly=True)["X-Spam-Status"]
    # A long list of tests folds onto several lines: "tests=A,B,\n\tC".
    found = _STATUS.search(re.sub(r",\s+", ",", " ".join(str(status or "").split())))
    if not found:
        raise SpamCheckError(f"no score in spamassassin's X-Spam-Status: {status!r}")
    names = tuple(n for n in found[3].split(",") if n)
    return SpamReport(float(found[1]), float(found[2]), names, _report_rules(out.decode(errors="replace")))


def _report_rules(text: str) -> tuple[Rule, ...]:
    """The "Content analysis details" table; a description may wrap onto indented lines."""
    _, sep, table = text.rpartition("Content analysis details:")
    if not sep:
        return ()
    rules: list[Rule] = []
    started = False
    for line in table.splitlines():
        if line.startswith("----"):
            started = True
            continue
        if not started:
            continue
        if match := _RULE.match(line):
            rules.append(Rule(match[2], float(match[1]), match[3].strip()))
        elif rules and line.startswith(" ") and line.strip():
            last = rules[-1]
            rules[-1] = Rule(last.name, last.points, f"{last.description} {line.strip()}")
        elif not line.strip() and rules:
            break
    return tuple(rules)
