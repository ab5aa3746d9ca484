"""Site chrome in copied pages: whole chrome lines and the author's bio, story
cards, "Related posts" boxes, columns of menu labels, contents lists (pass 3
of the plain-text reader), and the chrome left after the article's last
content once blocks are read."""

from __future__ import annotations

import re

from sender.content.chrome import (
    is_bio_marker,
    is_chrome_line,
    is_date_line,
    is_menu_item,
    is_related_heading,
    is_soft_chrome,
)
from sender.content.readers.plaintext_headings import MAX_HEADING_WORDS, heading_like
from sender.content.readers.plaintext_lines import (
    CODE_LINE,
    SENTENCE_END,
    ArticleText,
    Chunk,
    TextBlock,
    clean,
    followed_by_prose,
    is_prose,
    line_key,
    split_chunks,
    word_count,
)
from sender.content.readers.plaintext_title import title_like
from sender.content.structure import looks_like_citation

_DOT_LEADER = re.compile(r"\S\s*(?:[.·…]\s?[.,·… ]*){3,}\s*\d{1,4}\s*$")
_CONTENTS_HEADING = re.compile(
    r"(?:table of )?contents|toc|in this (?:article|post|guide|issue|page)|on this page|jump to(?: section)?|"
    r"what(?:'|’)?s (?:inside|covered)",
    re.I,
)


def chrome_lines(doc: ArticleText, wrap: int | None) -> str:
    """Whole lines that are site chrome; an "About the author" box is the bio."""
    for chunk in split_chunks(doc.lines):
        # a call to action wrapped over two lines ("Want me to send you an email / when I ...")
        texts = [doc.text(i) for i in chunk.rows]
        alone = any(is_chrome_line(t) or is_bio_marker(t) for t in texts)
        if len(texts) > 1 and not alone and is_chrome_line(" ".join(t.strip() for t in texts)):
            doc.chrome.append(clean(" ".join(doc.text(i) for i in chunk.rows)))
            for index in chunk.rows:
                doc.drop(index, report=False)
    bio: list[str] = []
    in_bio = False
    for index, line in enumerate(doc.lines):
        if line is None or not line.strip():
            continue
        # A full-width line of a hard-wrapped paragraph is not a whole line of its own.
        if wrap and len(line) >= 0.75 * wrap and _inside_paragraph(doc.lines, index) and not in_bio:
            continue
        if is_chrome_line(line):
            doc.drop(index)
        elif in_bio:
            bio.append(line.strip())
            doc.lines[index] = None
        elif is_bio_marker(line):
            doc.drop(index)
            in_bio = True
    return " ".join(bio)


def drop_cards(doc: ArticleText) -> None:
    """A story card after the article has started: a title-like line with a
    date line (and maybe a line of tags) and nothing else, linking elsewhere."""
    live = doc.live()
    started = next((i for i in live if is_prose(doc.text(i))), None)
    if started is None:
        return
    for chunk in split_chunks(doc.lines):
        if chunk.start <= started or not 2 <= len(chunk.rows) <= 3:
            continue
        texts = [doc.text(i) for i in chunk.rows]
        dates = [t for t in texts if is_date_line(t)]
        others = [t for t in texts if not is_date_line(t)]
        short = all(
            word_count(t) <= 14 and (not SENTENCE_END.search(t.strip()) or t.strip().endswith("?"))
            for t in others
        )
        if len(dates) == 1 and others and short and any(title_like(t) for t in others):
            for index in chunk.rows:
                doc.drop(index)


def drop_related_boxes(doc: ArticleText, wrap: int | None) -> None:
    """A "Related posts" box: its heading line and the titles and teasers listed
    under it, up to where running text resumes."""
    index = 0
    lines = doc.lines
    while index < len(lines):
        line = lines[index]
        whole = line is not None and not (
            wrap and len(line) >= 0.75 * wrap and _inside_paragraph(lines, index)
        )
        if not (whole and line and is_related_heading(line)):
            index += 1
            continue
        doc.drop(index)
        index += 1
        while index < len(lines):
            text = (lines[index] or "").strip()
            ends = bool(SENTENCE_END.search(text)) and word_count(text) >= 10
            if ends or word_count(text) >= 25 or CODE_LINE.search(text) or is_bio_marker(text):
                break
            doc.drop(index)
            index += 1


def _inside_paragraph(lines: list[str | None], index: int) -> bool:
    def filled(j: int) -> bool:
        return 0 <= j < len(lines) and bool((lines[j] or "").strip())

    return filled(index - 1) or filled(index + 1)


def drop_menu_runs(doc: ArticleText) -> None:
    """A column of menu labels (nav bars and site indexes copied one item a
    line) is chrome: four or more short label lines with nothing else between."""
    chunks = split_chunks(doc.lines)
    run: list[Chunk] = []

    def menu_chunk(chunk: Chunk) -> bool:
        texts = [doc.text(i) for i in chunk.rows]
        labels = sum(is_menu_item(t) for t in texts)
        return labels >= 1 and all(is_menu_item(t) or is_chrome_line(t) for t in texts)

    def flush() -> None:
        rows = [i for chunk in run for i in chunk.rows]
        if sum(is_menu_item(doc.text(i)) for i in rows) >= 4 and (len(run) == 1 or all(
            len(chunk.rows) == 1 for chunk in run
        )):  # fmt: skip
            for index in rows:
                doc.drop(index)
        run.clear()

    for chunk in chunks:
        if menu_chunk(chunk) and len(chunk.rows) >= 4:
            flush()
            run.append(chunk)
            flush()
        elif menu_chunk(chunk) and len(chunk.rows) == 1 and not followed_by_prose(doc, chunk.rows[-1]):
            run.append(chunk)
        else:
            flush()
    flush()


def take_contents(doc: ArticleText) -> tuple[set[str], int]:
    """A contents list: a run of lines that repeat headings further down (with
    dot leaders and page numbers, or bare), under a "Contents" heading or not.
    It is not emailed; its entries tell which later lines are headings."""
    live = doc.live()
    later: dict[str, list[int]] = {}
    for position, index in enumerate(live):
        text = doc.text(index)
        standalone = (
            position == 0 or live[position - 1] != index - 1
            or position + 1 == len(live) or live[position + 1] != index + 1
        )  # fmt: skip
        if standalone and word_count(text) <= MAX_HEADING_WORDS and not _DOT_LEADER.search(text):
            later.setdefault(line_key(text), []).append(index)
    keys: set[str] = set()
    end = -1
    position = 0
    while position < len(live):
        index = live[position]
        text = doc.text(index)
        heading = bool(_CONTENTS_HEADING.fullmatch(clean(text).rstrip(":").strip()))
        entries: list[int] = []
        scan = position + 1 if heading else position
        while scan < len(live):
            entry = live[scan]
            entry_text = doc.text(entry)
            repeated = any(j > entry for j in later.get(line_key(entry_text), ()))
            if not _DOT_LEADER.search(entry_text) and not (
                repeated
                and heading_like(re.sub(r"^[|*][\w.-]+[|*]\s+", "", clean(entry_text)), numbered=True)
            ):
                break
            entries.append(entry)
            scan += 1
        many_words = sum(word_count(doc.text(i)) >= 2 for i in entries) * 2 >= len(entries)
        if (heading and len(entries) >= 2) or (len(entries) >= 3 and many_words):
            keys.update(line_key(doc.text(i)) for i in entries)
            end = max(end, entries[-1])
            for i in ([index] if heading else []) + entries:
                doc.drop(i)
            position = scan
        else:
            position += 1
    return keys, end


# ---------------------------------------------------------------- once the blocks are read


def context_chrome(blocks: list[TextBlock], chrome: list[str]) -> list[TextBlock]:
    """Labels, share prompts and lost pictures after the article's last content."""
    out = blocks
    last = max((i for i, b in enumerate(out) if _content(b)), default=-1)
    if last < 0:
        return out  # no running text at all: nothing to tell the article from its chrome by
    tail = out[last + 1 :]
    kept = [b for b in tail if not (b.kind != "list" and (is_soft_chrome(b.text) or b.kind == "figure"))]
    chrome.extend(b.text for b in tail if b not in kept and b.text)
    return out[: last + 1] + kept


def _content(block: TextBlock) -> bool:
    if block.kind in ("list", "code"):
        return True
    return block.kind == "para" and (is_prose(block.text) or looks_like_citation(block.text))
