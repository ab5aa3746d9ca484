"""`drip render` and `drip lint` as a user runs them: files written, every .eml a
complete RFC 5322 message, oversize HTML an error naming the lesson file."""

from __future__ import annotations

import email
import re
from email import policy
from email.utils import parsedate_to_datetime
from pathlib import Path

from tests.render.helpers import drip

EVIL = "<script>alert(1)</script>"
HEADERS = ("Message-ID", "Date", "From", "To", "Subject", "Reply-To", "List-Unsubscribe",
           "List-Unsubscribe-Post", "List-Id")


def test_every_eml_is_a_complete_message_with_one_click_unsubscribe(glute_project: Path) -> None:
    out = glute_project / "out"
    result = drip("--set", "base_url=https://courses.example.com", "render", "glute-activation",
                  "--format", "eml", "--out", str(out), "--name", f"{EVIL} Evil", cwd=glute_project)
    assert result.returncode == 0, result.stderr
    files = sorted(out.iterdir())
    assert [f.suffix for f in files] == [".eml"] * 5  # --format eml: nothing else
    subjects = []
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert [part.defects for part in msg.walk()] == [[], [], []], path.name
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        for header in HEADERS:
            assert msg[header], f"{path.name}: no {header}"
        assert msg["From"] == "BIM Kinesiology <coach@example.com>"
        assert msg["Reply-To"] == "coach@example.com"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https, mailto = re.fullmatch(r"<([^>]+)>, <([^>]+)>", msg["List-Unsubscribe"]).groups()
        assert https.startswith("https://courses.example.com/unsubscribe/")
        assert re.fullmatch(r"mailto:unsubscribe@example\.com\?subject=unsubscribe%20[\w.-]+", mailto)
        assert re.fullmatch(r"<[0-9a-f]{20}@example\.com>", msg["Message-ID"])
        assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
        html = msg.get_body(("html",)).get_content()
        text = msg.get_body(("plain",)).get_content()
        # Subscriber data: escaped in HTML, as typed in text.
        assert EVIL not in html and "Hi &lt;script&gt;alert(1)&lt;/script&gt;," in html
        assert f"Hi {EVIL}," in text
        # The one-click URL is also the visible unsubscribe link, in both parts.
        assert f'href="{https}"' in html and f"Unsubscribe: {https}" in text
        subjects.append(msg["Subject"])
    assert subjects[1] == "Dominant Hamstrings"
    assert f"{files[0].stem}: {subjects[0]!r}" in result.stdout.replace("\n", " ")


def test_format_choices(glute_project: Path) -> None:
    for fmt, suffixes in (("html", {".html"}), ("txt", {".txt"}), ("all", {".html", ".txt", ".eml"})):
        out = glute_project / f"out-{fmt}"
        result = drip("render", "glute-activation", "--format", fmt, "--out", str(out), cwd=glute_project)
        assert result.returncode == 0, result.stderr
        assert {p.suffix for p in out.iterdir()} == suffixes
        assert len(list(out.iterdir())) == 5 * len(suffixes)
    bad = drip("render", "glute-activation", "--format", "pdf", cwd=glute_project)
    assert bad.returncode == 1
    assert bad.stderr == "error: --format 'pdf': expected one of all, eml, html, txt\n"


def _add_huge_lesson(project: Path) -> Path:
    path = project / "campaigns" / "glute-activation" / "06-everything.md"
    paragraph = ("Squeeze your glutes at the top of every bridge and hold for two seconds, "
                 "then lower slowly while you keep your ribs down. ") * 4
    path.write_text("---\nsubject: Everything at once\npreheader: A lesson far too long for one email\n"
                    "---\n" + "\n\n".join([paragraph] * 200) + "\n", encoding="utf-8")
    return path


def test_html_over_90_kb_fails_render_and_lint_naming_the_lesson(glute_project: Path) -> None:
    huge = _add_huge_lesson(glute_project)
    result = drip("render", "glute-activation", "--format", "html", "--out", "out", cwd=glute_project)
    assert result.returncode == 1
    [error] = result.stderr.splitlines()
    assert error.startswith(f"error: {huge}: the email's HTML is ")
    assert "KB, over the 90 KB limit (Gmail clips messages at about 102 KB" in error
    assert (glute_project / "out" / "06-everything.html").exists()  # written, to look at

    lint = drip("lint", "glute-activation", cwd=glute_project)
    assert lint.returncode == 1
    assert any(line.startswith(f"{huge}: error: the email's HTML is ") for line in lint.stderr.splitlines())

    huge.unlink()
    assert drip("lint", "glute-activation", cwd=glute_project).returncode == 0


def test_render_error_names_the_lesson_file_and_line(glute_project: Path) -> None:
    lesson = glute_project / "campaigns" / "glute-activation" / "02-dominant-hamstrings.md"
    text = lesson.read_text(encoding="utf-8")
    broken = text.replace("But that’s not the end", "But {{ subscriber.nickname }} that’s not the end")
    lesson.write_text(broken, encoding="utf-8")
    line = next(n for n, s in enumerate(lesson.read_text().splitlines(), 1) if "nickname" in s)
    result = drip("render", "glute-activation", "--out", "out", cwd=glute_project)
    assert result.returncode == 1
    assert result.stderr == (f"error: {lesson}: undefined variable: this subscriber has no "
                             f"field 'nickname', at line {line}: {{{{ subscriber.nickname }}}}\n")
    assert not (glute_project / "out").exists()  # nothing half-written
    lint = drip("lint", "glute-activation", cwd=glute_project)
    assert lint.returncode == 1 and "undefined variable" in lint.stderr
