"""Server-side SVG charts for the console: hand-written, no dependency, no script.

Each chart comes in two shapes, because one drawing can't read well both on a
1280 px screen and a 390 px phone: `wide` (vertical bars, lessons or days along
the bottom) and `narrow` (horizontal bars, one row each, labels above). The page
shows one or the other with a CSS media query. Every label and value is escaped;
hovering a bar shows its exact figure (an SVG <title>), and the same numbers are
always in a table next to the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Okabe–Ito: told apart with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#D55E00", "#F0E442", "#000000")
LOSS_PALETTE = ("#CC79A7", "#D55E00", "#7a1f1f")
FONT = 'font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]  # one per category
    colour: str


def _num(n: float) -> str:
    return f"{n:.1f}".rstrip("0").rstrip(".")


def _axis(value: int) -> tuple[int, int]:
    """(top, step): four whole-number steps of 1, 2 or 5 × 10^n reaching `value`."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m * 4 >= value:
                return step * m * 4, step * m
        step *= 10


def _short(n: float) -> str:
    return f"{n / 1_000_000:g}M" if n >= 1_000_000 else f"{n / 1000:g}k" if n >= 10_000 else f"{n:,.0f}"


def _lines(text: str, width: int) -> list[str]:
    """A label in at most two lines of `width` characters, cut with an ellipsis."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    return [ln if len(ln) <= width else ln[:max(width - 1, 1)] + "…" for ln in lines]


def _wrapped(text: str, width: int) -> list[str]:
    """A label in as many lines of about `width` characters as it takes, whole: a lesson's
    title is how staff tell the bars apart, so it is never cut (a word longer than a line
    is split, not dropped)."""
    lines, line = [], ""
    for word in text.split():
        while len(word) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line or not lines else lines


def _svg(width: int, height: int, label: str, body: list[str], css_class: str) -> Markup:
    return Markup(
        f'<svg class="chart {css_class}" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" {FONT} font-size="12">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>")


def _legend(series: Sequence[Series], x: float, y: float, width: float) -> tuple[list[str], float]:
    """Legend swatches, wrapping within `width`; returns the parts and the height used."""
    parts, cx, cy = [], x, y
    for s in series:
        w = 18 + 7 * len(s.name) + 14
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 18
        parts.append(f'<rect x="{_num(cx)}" y="{_num(cy)}" width="12" height="12" fill="{s.colour}"/>'
                     f'<text x="{_num(cx + 16)}" y="{_num(cy + 10)}" fill="currentColor">'
                     f'{escape(s.name)}</text>')
        cx += w
    return parts, cy - y + 18


def grouped_bars(title: str, categories: Sequence[str], series: Sequence[Series], *, stacked: bool = False,
                 narrow: bool = False, whole_labels: bool = False) -> Markup:
    """Bars per category, side by side (or stacked), one colour per series; `whole_labels`
    wraps every label onto as many lines as it needs, never turned or cut (lesson titles)."""
    if narrow:
        return _horizontal(title, categories, series, stacked)
    return _vertical(title, categories, series, stacked, whole_labels)


def _totals(categories: Sequence[str], series: Sequence[Series], stacked: bool) -> list[int]:
    """Each category's bar height in values: the stack's sum, or the tallest bar beside the others."""
    return [sum(s.values[i] for s in series) if stacked else max((s.values[i] for s in series), default=0)
            for i in range(len(categories))]


def _label_height(categories: Sequence[str], chars: int, rotate: bool, whole_labels: bool) -> int:
    """The room under the bars for the category names."""
    if whole_labels:
        return max(40, 12 + 14 * max((len(_wrapped(c, chars)) for c in categories), default=1))
    return 50 if rotate else 40


def _gridlines(left: int, right_x: int, plot_top: float, plot_h: int, step: int) -> list[str]:
    """Five lines across the plot, 0 to the axis's top, each with its figure on the left."""
    parts = []
    for k in range(5):
        y = plot_top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{right_x}" y1="{_num(y)}" y2="{_num(y)}" '
                     f'stroke="currentColor" stroke-opacity="0.15"/>'
                     f'<text x="{left - 6}" y="{_num(y + 4)}" text-anchor="end" fill="currentColor" '
                     f'fill-opacity="0.7">{_short(step * k)}</text>')
    return parts


def _column(category: str, i: int, series: Sequence[Series], stacked: bool, *, x0: float, inner: float,
            bottom: float, plot_h: int, top_value: int) -> list[str]:
    """The bars of category `i`, standing on `bottom` within `inner` px from `x0`: stacked,
    or side by side; a zero draws nothing."""
    parts, base = [], bottom
    for j, s in enumerate(series):
        value = s.values[i]
        h = plot_h * value / top_value
        if stacked:
            x, w, y = x0, inner, base - h
            base = y
        else:
            w = inner / max(len(series), 1)
            x, y = x0 + j * w, bottom - h
        if value:
            parts.append(f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(w - 1, 1))}" '
                         f'height="{_num(max(h, 1))}" fill="{s.colour}"><title>{escape(category)}: '
                         f'{escape(s.name)} {value:,}</title></rect>')
    return parts


def _vertical(title: str, categories: Sequence[str], series: Sequence[Series], stacked: bool,
              whole_labels: bool = False) -> Markup:
    width, left, right, top = 960, 56, 12, 8
    legend, legend_h = _legend(series, left, top, width - left - right)
    plot_top = top + legend_h + 10
    plot_h = 220
    plot_w = width - left - right
    slot = plot_w / max(len(categories), 1)
    chars = max(int(slot / 7), 3)  # what fits under a bar at this font size
    # Many short labels (days) turn 45°; a few long ones (lessons) wrap onto two lines.
    rotate = any(len(c) > chars for c in categories) and len(categories) > 8 and not whole_labels
    height = int(plot_top + plot_h + _label_height(categories, chars, rotate, whole_labels))
    totals = _totals(categories, series, stacked)
    top_value, step = _axis(max(totals, default=0))
    body = [*legend, *_gridlines(left, width - right, plot_top, plot_h, step)]
    if not any(totals):
        body.append(f'<text x="{_num(left + plot_w / 2)}" y="{_num(plot_top + plot_h / 2)}" '
                    f'text-anchor="middle" fill="currentColor" fill-opacity="0.7">nothing yet</text>')
    gap = slot * 0.2
    for i, category in enumerate(categories):
        body += _column(category, i, series, stacked, x0=left + i * slot + gap / 2, inner=slot - gap,
                        bottom=plot_top + plot_h, plot_h=plot_h, top_value=top_value)
        cx, ly = left + i * slot + slot / 2, plot_top + plot_h + 16
        body.append(_category_label(category, cx, ly, rotate, chars, whole_labels))
    return _svg(width, height, title, body, "chart-wide")


def _category_label(category: str, cx: float, ly: float, rotate: bool, chars: int,
                    whole: bool = False) -> str:
    """A category's name under its bars, centred at cx: turned 45°, or wrapped at `chars`
    (in two lines, or `whole`: in as many as it takes)."""
    if rotate:
        return (f'<text x="{_num(cx)}" y="{_num(ly)}" text-anchor="end" fill="currentColor" '
                f'transform="rotate(-45 {_num(cx)} {_num(ly)})">{escape(category)}</text>')
    spans = "".join(f'<tspan x="{_num(cx)}" dy="{0 if n == 0 else 14}">{escape(line)}</tspan>'
                    for n, line in enumerate(_wrapped(category, chars) if whole else _lines(category, chars)))
    return f'<text y="{_num(ly)}" text-anchor="middle" fill="currentColor">{spans}</text>'


def _horizontal(title: str, categories: Sequence[str], series: Sequence[Series], stacked: bool) -> Markup:
    width, left, right = 360, 8, 48
    legend, legend_h = _legend(series, left, 4, width - left - right)
    bar_h = 12 if stacked else 9
    bars_h = (bar_h if stacked else bar_h * len(series)) + 8
    chars = int((width - left - 4) / 6.6)  # what fits across at this font size
    y = 4 + legend_h + 8
    totals = _totals(categories, series, stacked)
    top_value = max(max(totals, default=0), 1)
    plot_w = width - left - right
    body = [*legend]
    for i, category in enumerate(categories):
        lines = _wrapped(category, chars)
        spans = "".join(f'<tspan x="{left}" dy="{0 if n == 0 else 14}">{escape(line)}</tspan>'
                        for n, line in enumerate(lines))
        body.append(f'<text y="{_num(y + 11)}" fill="currentColor">{spans}</text>')
        by = y + 16 + 14 * (len(lines) - 1)
        x = float(left)
        for s in series:
            value = s.values[i]
            w = plot_w * value / top_value
            if value:
                body.append(f'<rect x="{_num(x)}" y="{_num(by)}" width="{_num(max(w, 1))}" '
                            f'height="{bar_h - 1}" fill="{s.colour}"><title>{escape(category)}: '
                            f'{escape(s.name)} {value:,}</title></rect>')
            if stacked:
                x += w
            else:
                body.append(f'<text x="{_num(left + max(w, 1) + 4)}" y="{_num(by + bar_h - 2)}" '
                            f'font-size="10" fill="currentColor">{value:,}</text>')
                by += bar_h
        if stacked:
            body.append(f'<text x="{_num(x + 4)}" y="{_num(by + bar_h - 2)}" font-size="10" '
                        f'fill="currentColor">{totals[i]:,}</text>')
        y += 16 + 14 * (len(lines) - 1) + bars_h
    return _svg(width, int(y + 4), title, body, "chart-narrow")


def both(title: str, categories: Sequence[str], series: Sequence[Series], *, stacked: bool = False,
         whole_labels: bool = False) -> Markup:
    """The wide and the narrow drawing; CSS shows the one that fits."""
    return Markup(grouped_bars(title, categories, series, stacked=stacked, whole_labels=whole_labels)
                  + grouped_bars(title, categories, series, stacked=stacked, narrow=True))


ENGAGEMENT = ("sent", "delivered", "opened", "clicked")
LOSSES = ("unsubscribed", "bounced", "complained")


def funnel(title: str, lessons: Sequence[str], numbers: Sequence[dict[str, int]]) -> Markup:
    """Per lesson: how many were sent, delivered, opened, clicked; and, on their own
    scale (they are a hundred times smaller), unsubscribed, bounced, complained."""
    engagement = [Series(name, [n.get(name, 0) for n in numbers], PALETTE[i])
                  for i, name in enumerate(ENGAGEMENT)]
    losses = [Series(name, [n.get(name, 0) for n in numbers], LOSS_PALETTE[i])
              for i, name in enumerate(LOSSES)]
    return Markup(both(f"{title}: sent, delivered, opened, clicked per lesson", lessons, engagement,
                       whole_labels=True)
                  + both(f"{title}: unsubscribed, bounced, complained per lesson", lessons, losses,
                         whole_labels=True))


def per_day(title: str, days: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """Stacked bars per day, one colour per campaign or newsletter."""
    shown = [Series(name, values, PALETTE[i % len(PALETTE)]) for i, (name, values) in enumerate(series)]
    return both(title, days, shown, stacked=True)
