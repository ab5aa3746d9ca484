"""Benchmark `drip split` on a large article in each format, per core.

Run on demand (not part of the test suite):

    python bench/split_bench.py                 # a 1 MB article per format
    python bench/split_bench.py --megabytes 5 --repeat 1

The article is the shipped glute article repeated, each copy under its own
numbered part heading (every line numbered too, or the copies would read as
repeated page furniture), until it reaches the size asked for; the same text is
written as plain text, Markdown and HTML. For each format the bench times the
whole `split_article` (decode, read, shape, split, write the lesson files and
lint them) into a fresh folder, and, in the same run, a baseline: one parse of
the same bytes by the library the reader is built on (markdown-it for Markdown
and text, BeautifulSoup for HTML). The ratio says how many such parses the
split costs, which means the same on any machine. Target: a 1 MB article
splits in under 3 s on one core. Each figure is the best of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchlib import REPO

sys.path.insert(0, str(REPO))

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from sender.content import split_article

SEED = REPO / "campaigns" / "glute-activation" / "article.txt"
TARGET_SECONDS = 3.0


def articles(megabytes: float) -> dict[str, str]:
    """The seed article repeated to the size asked for, in each format."""
    seed = SEED.read_text("utf-8")
    title, _, body = seed.partition("\n")
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    target = int(megabytes * 1_000_000)
    text_parts, md_parts, html_parts = [title, ""], [f"# {title}", ""], [f"<h1>{title}</h1>"]
    size, part = 0, 0
    while size < target:
        part += 1
        # Lines repeated word for word would read as page furniture or a contents list.
        copy = [f"{p} (part {part})" for p in paragraphs]
        text_parts += [f"Part {part}: {title}", ""] + [f"{p}\n" for p in copy]
        md_parts += [f"## Part {part}: {title}", ""] + [f"{p}\n" for p in copy]
        html_parts += [f"<h2>Part {part}: {title}</h2>"] + [f"<p>{p}</p>" for p in copy]
        size += sum(len(p) + 2 for p in copy)
    page = (
        "<html><head><meta charset='utf-8'><title>{}</title></head><body><article>{}</article></body></html>"
    )

    return {
        "text": "\n".join(text_parts),
        "markdown": "\n".join(md_parts),
        "html": page.format(title, "\n".join(html_parts)),
    }


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=1.0, help="article size (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, one process, one thread")  # fmt: skip
    suffix = {"text": ".txt", "markdown": ".md", "html": ".html"}
    baselines: dict[str, Callable[[str], object]] = {
        "text": lambda t: MarkdownIt("commonmark").parse(t),
        "markdown": lambda t: MarkdownIt("commonmark").parse(t),
        "html": lambda t: BeautifulSoup(t, "html.parser"),
    }
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="split-bench-") as tmp:
        root = Path(tmp)
        for fmt, text in articles(args.megabytes).items():
            source = root / f"article{suffix[fmt]}"
            source.write_text(text, "utf-8")
            lessons: list[int] = []

            def split(source: Path = source, lessons: list[int] = lessons, fmt: str = fmt) -> None:
                report = split_article(source, root / f"{fmt}-{len(lessons)}")  # a fresh folder each run
                lessons.append(len(report.lessons))

            seconds = best(args.repeat, split)
            baseline = best(args.repeat, lambda text=text, fmt=fmt: baselines[fmt](text))
            worst = max(worst, seconds)
            print(f"{fmt:>8}: {len(text.encode()) / 1e6:.2f} MB -> {lessons[-1]} lessons in {seconds:.2f} s "
                  f"({len(text.encode()) / 1e6 / seconds:.2f} MB/s); one library parse {baseline:.2f} s; "
                  f"split = {seconds / baseline:.1f}x a parse")  # fmt: skip
    verdict = "meets" if worst < TARGET_SECONDS * args.megabytes else "misses"
    print(f"slowest format {worst:.2f} s: {verdict} the target of {TARGET_SECONDS:.0f} s per MB")


if __name__ == "__main__":
    main()
