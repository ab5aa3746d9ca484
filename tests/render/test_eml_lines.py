"""The .eml of every shipped lesson keeps to the line limits: quoted-printable body lines
of at most 76 characters (RFC 2045 §6.7), headers unfolded up to 998 (RFC 5322)."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from sender.campaign import load_campaign
from tests.render.helpers import REPO, glute_eml

POSITIONS = range(1, len(load_campaign(REPO / "campaigns" / "glute-activation").lessons) + 1)


@pytest.mark.parametrize("position", POSITIONS)
def test_body_lines_are_at_most_76_and_list_unsubscribe_is_one_line(tmp_path: Path, position: int) -> None:
    eml = glute_eml(tmp_path, position)
    head, _, body = eml.partition(b"\n\n")
    long_lines = [line for line in body.split(b"\n") if len(line) > 76]
    assert long_lines == [], f"{len(long_lines)} body lines over 76 characters, e.g. {long_lines[0]!r}"

    headers = head.split(b"\n")
    (index,) = [i for i, line in enumerate(headers) if line.startswith(b"List-Unsubscribe:")]
    assert len(headers[index]) > 78  # long enough that a 78-column policy would have folded it
    assert not headers[index + 1][:1].isspace()  # ... and it was not folded

    msg = BytesParser(policy=policy.default).parsebytes(eml)
    assert msg.defects == [] and all(part.defects == [] for part in msg.iter_parts())
    assert [p["Content-Transfer-Encoding"] for p in msg.iter_parts()] == ["quoted-printable"] * 2
    html = msg.get_body(("html",))
    assert html is not None and html.get_content().rstrip().endswith("</html>")
