"""Benchmark personalised renders (HTML + text) of the glute course, per core.

Run on demand (not part of the test suite):

    python bench/render_bench.py                      # 20,000 subscribers x 5 lessons
    python bench/render_bench.py --subscribers 5000 --baseline-sample 100

One process, one thread, so the figures are per core. It renders every shipped
glute lesson for N synthetic subscribers (names, some empty, custom fields, time
zones round the world) and reports, in the same run:
  - compile-once: MJML compiled once per lesson, then `Renderer.render` per
    subscriber (subject, HTML and text, autoescaped) -- the engine's path;
  - the same renders through `messages.compose`, the whole per-subscriber cost of
    a message (signed unsubscribe link, next lesson's weekday in the subscriber's
    zone, headers);
  - the per-subscriber part as a full Jinja render instead of the generated slot
    function, to show what that saves;
  - the baseline: Jinja and MJML compiled again for every subscriber, on a sample;
and the ratio of compile-once to the baseline. Target: >= 20,000 renders/s.
Each figure is the best of `--repeat` runs; the outputs of all paths are
checked to be identical first.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
from benchlib import REPO, copy_course, machine

sys.path.insert(0, str(REPO))

from sender.campaign import Campaign, load_campaign
from sender.messages import compose
from sender.render import CompiledLesson, Renderer, subscriber_context
from sender.settings import Settings, load_settings

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
ZONES = ["Europe/Lisbon", "Asia/Tokyo", "America/Sao_Paulo", "America/Vancouver", "Australia/Sydney", "UTC"]
TARGET = 20_000


def make_project(root: Path) -> Path:
    copy_course(root)
    shutil.copy(REPO / "dripcourse.toml", root / "dripcourse.toml")
    return root


def subscribers(n: int) -> list[Any]:
    return [SimpleNamespace(id=i, email=f"s{i}@example.com", name="" if i % 7 == 0 else f"Sam{i} Lee",
                            timezone=ZONES[i % len(ZONES)], fields={"city": f"City <{i % 50}>"})
            for i in range(1, n + 1)]


def context(sub: Any) -> dict[str, Any]:
    return {"subscriber": subscriber_context(sub), "unsubscribe_url": f"https://x.example/u/{sub.id}",
            "manage_url": f"https://x.example/p/{sub.id}", "next_lesson_day": "Wednesday"}


def best_rate(work: Callable[[], int], repeat: int) -> float:
    """Renders per second, best of `repeat` runs."""
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = work()
        rates.append(done / (time.perf_counter() - start))
    return max(rates)


def jinja_stage2(compiled: CompiledLesson) -> tuple[jinja2.Template, ...]:
    """The same compiled parts as ordinary Jinja templates (what stage 2 was before)."""
    html_env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    text_env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
    return (text_env.from_string(compiled.subject.source), html_env.from_string(compiled.html.source),
            text_env.from_string(compiled.text.source))


def run(settings: Settings, campaign: Campaign, people: list[Any], sample: int,
        repeat: int) -> dict[str, float]:
    lessons = campaign.lessons
    renderer = Renderer(settings.path("templates_dir"), settings)
    compiled = [renderer.compile(campaign, lesson) for lesson in lessons]
    contexts = [context(sub) for sub in people]
    assert all(c.html.fast and c.text.fast and c.subject.fast for c in compiled), "slow path in use"
    templates = [jinja_stage2(c) for c in compiled]

    # The paths must agree before their speed means anything.
    for sub, ctx in zip(people[:sample], contexts[:sample], strict=True):
        for lesson, c, jinja_parts in zip(lessons, compiled, templates, strict=True):
            fresh = Renderer(settings.path("templates_dir"), settings)
            cached, again = renderer.render(c, ctx), fresh.render(fresh.compile(campaign, lesson), ctx)
            by_jinja = tuple(t.render(ctx) for t in jinja_parts)
            assert cached == again and (cached.subject, cached.html, cached.text) == by_jinja, sub

    def cached_renders() -> int:
        render = renderer.render
        for ctx in contexts:
            for c in compiled:
                render(c, ctx)
        return len(contexts) * len(compiled)

    def composed() -> int:
        for sub in people:
            for c in compiled:
                compose(settings=settings, renderer=renderer, compiled=c, subscriber=sub,
                        signing_key="bench-key", now=NOW, delivery_key=f"d{sub.id}")
        return len(people) * len(compiled)

    def full_jinja() -> int:
        for ctx in contexts:
            for subject, html, text in templates:
                subject.render(ctx), html.render(ctx), text.render(ctx)
        return len(contexts) * len(templates)

    def compile_every_time() -> int:
        for ctx in contexts[:sample]:
            for lesson in lessons:
                fresh = Renderer(settings.path("templates_dir"), settings)
                fresh._lesson_env = renderer._lesson_env  # Jinja's own template cache kept: MJML is the cost
                fresh.render(fresh.compile(campaign, lesson), ctx)
        return sample * len(lessons)

    before = renderer.compilations
    rates = {"cached": best_rate(cached_renders, repeat)}
    assert renderer.compilations == before, "compile-once recompiled"
    rates["compose"] = best_rate(composed, repeat)
    rates["jinja"] = best_rate(full_jinja, repeat)
    rates["baseline"] = best_rate(compile_every_time, repeat)
    sizes = [len(renderer.render(c, contexts[0]).html.encode()) / 1024 for c in compiled]
    rates["kb"] = sum(sizes) / len(sizes)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=20_000,
                        help="synthetic subscribers (default 20,000)")
    parser.add_argument("--baseline-sample", type=int, default=200,
                        help="subscribers rendered with a compile each (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts (default 3)")
    args = parser.parse_args()
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "project")
        settings = load_settings(project, environ={})
        campaign = load_campaign(project / "campaigns" / "glute-activation")
        people = subscribers(args.subscribers)
        sample = min(args.baseline_sample, len(people))
        print(f"{len(campaign.lessons)} glute lessons x {len(people):,} subscribers, one core "
              f"(Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs seen)")
        r = run(settings, campaign, people, sample, args.repeat)
    print(f"average HTML size: {r['kb']:.1f} KB (limit 90 KB)")
    print(f"compile-once, Renderer.render (subject + HTML + text): {r['cached']:>10,.0f} renders/s "
          f"({'meets' if r['cached'] >= TARGET else 'MISSES'} the {TARGET:,}/s target)")
    print(f"compile-once, messages.compose (whole message):       {r['compose']:>10,.0f} renders/s")
    print(f"compile-once, per-subscriber part as a full Jinja render:{r['jinja']:>8,.0f} renders/s")
    print(f"baseline, MJML compiled per subscriber ({sample:,} of them): {r['baseline']:>7,.0f} renders/s")
    print(f"compile-once is {r['cached'] / r['baseline']:,.0f}x the baseline "
          f"({r['compose'] / r['baseline']:,.0f}x counting the whole message); "
          f"the slot function is {r['cached'] / r['jinja']:.1f}x a full Jinja render")


if __name__ == "__main__":
    main()
