"""The hand-written SVG charts: well-formed, escaped, scaled to whole-number axes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sender.web import charts

NS = {"s": "http://www.w3.org/2000/svg"}


def _svgs(markup: str) -> list[ET.Element]:
    return list(ET.fromstring(f"<root>{markup}</root>"))


def test_funnel_is_two_panels_in_two_shapes_with_escaped_labels() -> None:
    numbers = [{"sent": 1200, "delivered": 1100, "opened": 500, "clicked": 90, "unsubscribed": 4,
                "bounced": 9, "complained": 1}, {"sent": 0}]
    svgs = _svgs(charts.funnel("A <b>course</b>", ["1. <script>x</script>", "2. Two & more"], numbers))
    assert [s.get("class") for s in svgs] == ["chart chart-wide", "chart chart-narrow"] * 2
    assert svgs[0].get("aria-label") == "A <b>course</b>: sent, delivered, opened, clicked per lesson"
    texts = [t.text or "" for t in svgs[0].iter("{http://www.w3.org/2000/svg}tspan")]
    assert "<script>x</script>" in " ".join(texts) and "2. Two & more" in " ".join(texts)
    titles = [t.text for t in svgs[0].iter("{http://www.w3.org/2000/svg}title")]
    assert "1. <script>x</script>: sent 1,200" in titles
    axis = [t.text for t in svgs[0].findall("s:text", NS) if t.get("fill-opacity")]
    assert axis == ["0", "500", "1,000", "1,500", "2,000"]
    bars = svgs[2].findall("s:rect", NS)  # losses, wide: three legend swatches and three bars
    assert len(bars) == 6


def test_per_day_stacks_and_says_when_there_is_nothing() -> None:
    days = [f"04-{d:02d}" for d in range(1, 31)]
    svgs = _svgs(charts.per_day("Upcoming", days, [("course", [1] * 30), ("news", [0] * 29 + [20])]))
    wide = svgs[0]
    assert len(wide.findall("s:rect", NS)) == 2 + 31  # swatches, 30 course bars, 1 newsletter bar
    rotated = [t for t in wide.findall("s:text", NS) if t.get("transform")]
    assert len(rotated) == 30  # thirty day labels turn to fit
    empty = _svgs(charts.per_day("Upcoming", days, []))[0]
    assert "nothing yet" in [t.text for t in empty.findall("s:text", NS)]
