"""Turning a Document into an ordered list of lessons.

The outline level is read from the whole document: the highest heading
level that occurs more than once (the title is not in the blocks). Each
section at that level is a lesson, sized for an inbox by default:

- the text before the first section (the introduction) is lesson 1 unless
  it is only a sentence or two, which then leads into the first section;
- a section over ``SECTION_WORDS_MAX`` is split at its sub-headings into as
  few parts as keep each under it (at paragraphs only when it has none and is
  longer still);
- an introduction under ``INTRO_WORDS_MIN`` opens the first section's lesson,
  and a section under ``SECTION_WORDS_MIN`` leads into the section after it
  (or joins its smaller neighbour, see ``_joined``), when they are also under
  half the median lesson (short sections throughout are the author's choice);
- wrap-up sections ("Closing Thoughts", "Conclusion") and the call to action
  in them close the last lesson instead of becoming a thin lesson of their own;
- never more than ``MAX_LESSONS`` lessons.

With an explicit lesson count, or when the article has no headings, the
cut points are chosen by dynamic programming over the block boundaries:
cutting before a section is free, before a sub-heading cheap (the deeper,
the dearer), between paragraphs dearer, and never inside a block (lists,
call-outs and exercise blocks are single blocks) nor right after a heading,
before a figure, or after a paragraph that ends with a colon. The cost of a
split is its imbalance in reading time plus the cost of its cuts.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, replace
from itertools import pairwise

from sender.content.document import (
    FOOTNOTE_MARKER,
    Block,
    Callout,
    Document,
    Exercise,
    Figure,
    Heading,
    ListBlock,
    Paragraph,
    word_count,
)
from sender.content.errors import ContentError
from sender.content.headlines import SUBJECT_MAX, preheader, sentences, shorten, subject_from, teaser
from sender.content.inline import plain_text
from sender.content.structure import REFERENCE_HEADING, is_closing_heading

WORDS_PER_MINUTE = 200
WORDS_PER_LESSON_WITHOUT_HEADINGS = 350  # under a two-minute read: short emails get read
SECTION_WORDS_MAX = 1200  # about six minutes: longer sections are split at sub-headings
INTRO_WORDS_MIN = 150  # under a minute: an introduction this short is no email of its own
SECTION_WORDS_MIN = 90  # a section this short is a note, not a lesson, among longer ones
MAX_LESSONS = 100
_MIN_INTRO_WORDS = 40
_FIGURE_WORDS = 40  # about 12 seconds of reading, what reading-time estimates give a picture
_SHORT_FRACTION = 0.5  # of the median lesson: shorter than that is out of step with the article
# Without sub-headings a long section is cut between paragraphs only past this.
_PARAGRAPH_SPLIT_WORDS = 1500

# Sections that only point elsewhere.
_POINTERS = re.compile(
    r"(?:see also|external links|(?:related|useful|more) (?:links|reading|articles|posts))", re.I
)

_CUT_SECTION = 0.0
_CUT_PER_LEVEL = 1.0  # a cut one level below the sections costs 1, two levels 2 ...
_CUT_PARAGRAPH = 3.0
_CUT_BEFORE_LIST = 5.0
_IMBALANCE_WEIGHT = 10.0
_POINTS_PER_LESSON = 20  # cut candidates kept per lesson on long articles (see _thinned)
_MAX_SEGMENT = 4.0  # times the mean lesson: a segment this long is never the best choice


@dataclass
class Lesson:
    position: int
    total: int
    subject: str
    preheader: str
    teaser: str
    blocks: list[Block]  # footnote markers renumbered per lesson: "[1]", "[2]"
    references: list[str]
    words: int

    @property
    def reading_minutes(self) -> int:
        return max(1, round(self.words / WORDS_PER_MINUTE))


@dataclass
class SplitPlan:
    lessons: list[Lesson]
    notes: list[str]
    section_level: int | None = None  # heading level of the sections, None without headings


def section_level(blocks: list[Block]) -> int | None:
    """The highest heading level that occurs more than once (or the only one there is)."""
    counts = Counter(b.level for b in blocks if isinstance(b, Heading))
    if not counts:
        return None
    repeated = [level for level, count in counts.items() if count > 1]
    return min(repeated) if repeated else min(counts)


def split_document(doc: Document, lessons: int | None = None) -> SplitPlan:
    if lessons is not None and not 1 <= lessons <= MAX_LESSONS:
        raise ContentError(f"--lessons must be between 1 and {MAX_LESSONS}, not {lessons}")
    blocks = doc.blocks
    if not any(isinstance(b, Heading | Paragraph | ListBlock | Callout | Exercise) for b in blocks):
        raise ContentError("the article has no text left after removing site chrome")
    notes: list[str] = []
    level = section_level(blocks)
    costs = _cut_costs(blocks, level)
    if level is None:
        total = word_count(blocks)
        count = lessons or max(1, min(MAX_LESSONS, round(total / WORDS_PER_LESSON_WITHOUT_HEADINGS)))
        cuts = _best_cuts(blocks, costs, count)
        notes.append(
            f"no headings found; split by length into {len(cuts) + 1} "
            f"lesson{'s' if cuts else ''} of about {total // (len(cuts) + 1)} words"
        )
    else:
        section_cuts = [i for i, cost in enumerate(costs) if cost == _CUT_SECTION]
        intro_words = word_count(blocks[: section_cuts[0]]) if section_cuts else 0
        if section_cuts and intro_words < _MIN_INTRO_WORDS:
            # a one-line intro leads into the first section instead of being a lesson
            costs[section_cuts[0]] = math.inf
            section_cuts = section_cuts[1:]
        if lessons is None:
            cuts = _sized(blocks, costs, section_cuts, level)
            if len(cuts) + 1 > MAX_LESSONS:
                notes.append(
                    f"the article has {len(cuts) + 1} lesson-sized parts; made {MAX_LESSONS} "
                    "lessons balanced by reading time (pass --lessons to choose)"
                )
                chosen = set(cuts)
                cuts = _best_cuts(blocks, [c if i in chosen else math.inf for i, c in enumerate(costs)],
                                  MAX_LESSONS)  # fmt: skip
        elif lessons == len(section_cuts) + 1:
            cuts = section_cuts
        else:
            cuts = _best_cuts(blocks, costs, lessons)
            notes.append(
                f"asked for {lessons} lessons; the article has {len(section_cuts) + 1} sections, "
                "so lessons were balanced by reading time"
            )
    if lessons is not None and len(cuts) + 1 < lessons:
        raise ContentError(
            f"cannot make {lessons} lessons: the article has only {len(cuts) + 1} places "
            "where it can be cut without splitting a list, call-out or exercise"
        )
    return SplitPlan(_lessons(doc, blocks, cuts, level), notes, level)


def _reading_words(block: Block) -> int:
    """Size for balancing lessons: a picture takes as long to look at as a few sentences."""
    return _FIGURE_WORDS if isinstance(block, Figure) and block.src else word_count([block])


def _is_section(block: Block, level: int | None) -> bool:
    return isinstance(block, Heading) and level is not None and block.level <= level


def _cut_costs(blocks: list[Block], level: int | None) -> list[float]:
    """costs[i] = cost of starting a lesson at block i (inf = never)."""
    costs = [math.inf] * len(blocks)
    closing = False
    for i, block in enumerate(blocks):
        if _is_section(block, level):
            closing = is_closing_heading(block.text)  # type: ignore[union-attr]
        if i == 0 or closing:
            continue  # the wrap-up stays with the lesson before it
        previous = blocks[i - 1]
        if isinstance(previous, Heading) or isinstance(block, Figure):
            continue
        introduces = isinstance(previous, Paragraph) and plain_text(previous.text).endswith(":")
        if introduces and not _is_section(block, level):
            continue  # "... include:" belongs with what it introduces
        if isinstance(block, Heading):
            depth = block.level - level if level is not None else 1
            costs[i] = _CUT_SECTION if depth <= 0 else min(_CUT_PER_LEVEL * depth, _CUT_PARAGRAPH - 0.5)
        elif isinstance(block, ListBlock):
            costs[i] = _CUT_BEFORE_LIST
        else:
            costs[i] = _CUT_PARAGRAPH
    return costs


def _sized(blocks: list[Block], costs: list[float], section_cuts: list[int], level: int | None) -> list[int]:
    """Default cuts: one lesson per section, long ones split, short ones joined."""
    words = [_reading_words(block) for block in blocks]
    bounds = [0, *section_cuts, len(blocks)]
    cuts: list[int] = []
    for start, end in pairwise(bounds):
        if start:
            cuts.append(start)
        size = sum(words[start:end])
        if size <= SECTION_WORDS_MAX:
            continue
        inner = costs[start:end]
        inner[0] = math.inf  # the section's own start is already a cut
        if not any(cost < _CUT_PARAGRAPH for cost in inner):
            if size <= _PARAGRAPH_SPLIT_WORDS:
                continue
        else:
            inner = [cost if cost < _CUT_PARAGRAPH else math.inf for cost in inner]
        cuts.extend(start + cut for cut in _split_long(blocks[start:end], words[start:end], inner))
    # A section whose heading is followed at once by a sub-heading opens a group
    # of its own: what comes before it cannot be a lead-in to it.
    groups = {i for i in section_cuts if _opens_group(blocks, i)}
    return _joined(words, cuts, costs, groups, intro=not _is_section(blocks[0], level))


def _split_long(blocks: list[Block], words: list[int], costs: list[float]) -> list[int]:
    """Cuts for a long section: as few parts as keep each under SECTION_WORDS_MAX
    where the places it may be cut allow (sub-headings are rarely evenly spaced,
    so the fewest parts by length alone can leave one still too long)."""
    parts = math.ceil(sum(words) / SECTION_WORDS_MAX)
    while True:
        cuts = _best_cuts(blocks, costs, parts)
        bounds = [0, *cuts, len(blocks)]
        # Another part helps only where a part too long could still be cut.
        if parts >= MAX_LESSONS or not any(
            sum(words[a:b]) > SECTION_WORDS_MAX and any(cost < math.inf for cost in costs[a + 1 : b])
            for a, b in pairwise(bounds)
        ):
            return cuts
        parts += 1


def _opens_group(blocks: list[Block], i: int) -> bool:
    head, following = blocks[i], blocks[i + 1] if i + 1 < len(blocks) else None
    return isinstance(head, Heading) and isinstance(following, Heading) and following.level > head.level


def _joined(
    words: list[int], cuts: list[int], costs: list[float], groups: set[int], *, intro: bool
) -> list[int]:
    """Join each short lesson to a neighbour, smallest first.

    Short means out of step with the article, under half its median lesson,
    and under INTRO_WORDS_MIN for the introduction (the text before the first
    section, when ``intro``; it then opens the first section's lesson) or
    SECTION_WORDS_MIN for a section. So an article written in short sections
    keeps its outline, while a stray one-paragraph section among long ones
    joins a neighbour. The cut that goes is one inside a section if there is
    one. Else a short section leads into the one after it (a heading with a
    paragraph or two under it introduces what follows, as in a flat outline
    whose sub-topics are headings of the same kind), unless that one opens a
    group of sub-headings of its own (``groups``) or the two would make a
    section over ``SECTION_WORDS_MAX``; then it joins the smaller neighbour.
    """
    cuts = sorted(cuts)
    bounds = [0, *cuts, len(words)]
    sizes = [sum(words[a:b]) for a, b in pairwise(bounds)]
    out_of_step = _SHORT_FRACTION * statistics.median(sizes)
    intro_limit, section_limit = min(INTRO_WORDS_MIN, out_of_step), min(SECTION_WORDS_MIN, out_of_step)

    def short(i: int) -> bool:
        return sizes[i] < (intro_limit if i == 0 and intro else section_limit)

    while cuts:
        candidates = [i for i in range(len(sizes)) if short(i)]
        if not candidates:
            break
        # The introduction first: it can only open the lesson after it, and what
        # it joins then is no longer a short section that leads on elsewhere.
        smallest = 0 if intro and short(0) else min(candidates, key=sizes.__getitem__)
        before = sizes[smallest - 1] if smallest > 0 else math.inf
        after = sizes[smallest + 1] if smallest + 1 < len(sizes) else math.inf
        # cuts[i - 1] starts lesson i: dropping it joins lesson i to the one before
        options = [i for i in (smallest - 1, smallest) if 0 <= i < len(cuts)]
        inner = [i for i in options if costs[cuts[i]] > _CUT_SECTION]
        leads_on = (
            smallest < len(cuts)
            and cuts[smallest] not in groups
            and sizes[smallest] + after <= SECTION_WORDS_MAX
        )
        if len(inner) == 1:
            keep = inner[0]
        elif leads_on and smallest > 0:
            keep = smallest
        else:
            keep = smallest - 1 if before <= after else smallest
        sizes[keep] += sizes.pop(keep + 1)
        del cuts[keep]
    return cuts


def _thinned(allowed: list[int], costs: list[float], prefix: list[int], step: float) -> list[int]:
    """The cheapest cut in each stretch of ``step`` words: on a long article the
    search stays linear, and no cut lands more than a stretch from where it would."""
    best: dict[int, int] = {}
    for i in allowed:
        bucket = int(prefix[i] // step)
        if bucket not in best or costs[i] < costs[best[bucket]]:
            best[bucket] = i
    return sorted(best.values())


def _best_cuts(blocks: list[Block], costs: list[float], count: int) -> list[int]:
    """Choose count-1 cut positions minimising imbalance plus cut costs."""
    allowed = [i for i, cost in enumerate(costs) if cost < math.inf]
    count = min(count, len(allowed) + 1)
    prefix = [0]
    for block in blocks:
        prefix.append(prefix[-1] + _reading_words(block))
    mean = max(prefix[-1] / count, 1)
    if len(allowed) > _POINTS_PER_LESSON * count:
        allowed = _thinned(allowed, costs, prefix, mean / _POINTS_PER_LESSON)
    points = [0, *allowed, len(blocks)]

    def segment(a: int, b: int) -> float:
        return _IMBALANCE_WEIGHT * ((prefix[points[b]] - prefix[points[a]] - mean) / mean) ** 2

    # best[k][j]: cheapest way to cover blocks before points[j] with k lessons
    best = [[math.inf] * len(points) for _ in range(count + 1)]
    back = [[0] * len(points) for _ in range(count + 1)]
    best[0][0] = 0.0
    for k in range(1, count + 1):
        for j in range(1, len(points)):
            cut_cost = costs[points[j]] if j < len(points) - 1 else 0.0
            for i in range(j - 1, -1, -1):
                if i < j - 1 and prefix[points[j]] - prefix[points[i]] > _MAX_SEGMENT * mean:
                    break  # a segment this long costs more than any split worth having
                if best[k - 1][i] == math.inf:
                    continue
                total = best[k - 1][i] + segment(i, j) + cut_cost
                if total < best[k][j]:
                    best[k][j], back[k][j] = total, i
    cuts: list[int] = []
    j = len(points) - 1
    for k in range(count, 0, -1):
        j = back[k][j]
        if k > 1:
            cuts.append(points[j])
    return sorted(cuts)


def _lessons(doc: Document, blocks: list[Block], cuts: list[int], level: int | None) -> list[Lesson]:
    bounds = [0, *cuts, len(blocks)]
    section_of = _section_headings(blocks, level)
    drafts: list[tuple[str, list[Block]]] = []
    for start, end in pairwise(bounds):
        body = blocks[start:end]
        subject, body = _subject(doc, body, section_of[start], start == 0, level)
        drafts.append((subject, body))
    subjects = _unique([subject for subject, _ in drafts])
    total = len(drafts)
    lessons = []
    for position, (subject, body) in enumerate(zip(subjects, (b for _, b in drafts), strict=True), 1):
        renumbered, references = _renumber(body, doc.references)
        lessons.append(
            Lesson(
                position=position,
                total=total,
                subject=subject,
                preheader=preheader(renumbered, subject),
                teaser="",
                blocks=renumbered,
                references=references,
                words=word_count(body),
            )
        )
    for current, following in pairwise(lessons):
        current.teaser = teaser(following.subject, following.preheader)
    return lessons


def _section_headings(blocks: list[Block], level: int | None) -> list[Heading | None]:
    current: Heading | None = None
    out: list[Heading | None] = []
    for block in blocks:
        if isinstance(block, Heading) and _is_section(block, level):
            current = block
        out.append(current)
    return out


def _heading_subject(text: str) -> str:
    return plain_text(text).strip().rstrip(":").strip()


def _subject(
    doc: Document, body: list[Block], section: Heading | None, first: bool, level: int | None
) -> tuple[str, list[Block]]:
    """The lesson's subject, and its body without the heading used for it."""
    head = body[0]
    if first:
        # A short opening (an introduction, an abstract) joined to the first section:
        # the lesson is about that section.
        at = next((i for i, b in enumerate(body) if i and _is_section(b, level)), None)
        if at is not None:
            section_subject = _heading_subject(body[at].text)  # type: ignore[union-attr]
            if word_count(body[:at]) < word_count(body[at:]) / 2:
                return subject_from(section_subject), body
            # An introduction of some length: the lesson is about the article and that section.
            combined = f"{_heading_subject(doc.title)}: {section_subject}" if doc.title else ""
            if combined and len(combined) <= SUBJECT_MAX:
                return subject_from(combined), body
    if isinstance(head, Heading):
        text = _heading_subject(head.text)
        if not _is_section(head, level) and section is not None:
            combined = f"{_heading_subject(section.text)}: {text}"
            text = combined if len(combined) <= SUBJECT_MAX else text
        elif joined := _joined_section(body[1:], level):
            # A short section joined to its neighbour: the subject names both.
            combined = f"{text} — {_heading_subject(joined.text)}"
            text = combined if len(combined) <= SUBJECT_MAX else text
        return subject_from(text), body[1:]
    if first and doc.title:
        return subject_from(doc.title), body
    if section is not None:
        return subject_from(_heading_subject(section.text)), body  # _unique numbers the parts
    if doc.title and any(isinstance(b, Heading) for b in doc.blocks):
        return subject_from(doc.title), body  # more of the introduction; _unique numbers it
    opening = next((plain_text(b.text) for b in body if isinstance(b, Paragraph)), "")
    return subject_from(sentences(opening)[0] if opening else doc.title), body


def _joined_section(rest: list[Block], level: int | None) -> Heading | None:
    """The next section in a lesson that opens with one; a wrap-up, a list of
    sources or of pointers elsewhere is not what the lesson is about."""
    for block in rest:
        if isinstance(block, Heading) and _is_section(block, level):
            text = _heading_subject(block.text)
            aside = is_closing_heading(text) or REFERENCE_HEADING.fullmatch(text) or _POINTERS.fullmatch(text)
            return None if aside else block
    return None


def _unique(subjects: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for subject in subjects:
        count = seen.get(subject.lower(), 0) + 1
        seen[subject.lower()] = count
        suffix = f" (part {count})" if count > 1 else ""
        out.append(shorten(subject, SUBJECT_MAX - len(suffix)) + suffix)
    return out


def _renumber(blocks: list[Block], references: list[str]) -> tuple[list[Block], list[str]]:
    """Global "[^N]" markers to per-lesson "[k]", collecting the citations."""
    order: list[int] = []

    def local(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if not 1 <= number <= len(references):
            return match.group(0)  # unresolved: left for lint to report
        if number not in order:
            order.append(number)
        return f"[{order.index(number) + 1}]"

    def fix(text: str) -> str:
        return FOOTNOTE_MARKER.sub(local, text)

    out: list[Block] = []
    for block in blocks:
        match block:
            case Paragraph() | Callout() | Heading():
                out.append(replace(block, text=fix(block.text)))
            case ListBlock():
                out.append(replace(block, items=tuple(fix(i) for i in block.items)))
            case Exercise():
                fields = tuple((label, fix(value)) for label, value in block.fields)
                out.append(replace(block, fields=fields, cues=tuple(fix(c) for c in block.cues)))
            case _:
                out.append(block)
    return out, [references[n - 1] for n in order]
