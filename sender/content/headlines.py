"""The short texts around a lesson body: subject, preheader, teaser, sign-off.

Inbox limits drive the numbers: subjects over ~60 characters are cut off on
phones, and the preheader (the grey line after the subject) shows 40–110
characters depending on the client.
"""

from __future__ import annotations

import re

from sender.content.document import Block, Callout, Paragraph
from sender.content.inline import plain_text

SUBJECT_MAX = 60
PREHEADER_MIN = 40
PREHEADER_MAX = 110
_GOOD_PREHEADER_MIN = 60  # long enough to say something, not just "But there's more…"
_PREHEADER_PARAGRAPHS = 4

_NOT_PROSE = re.compile(r"\s*(?:```|~~~|\|)")  # code blocks and tables make no preview line
_ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "st", "vs", "etc", "e.g", "i.e", "prof", "no", "fig", "approx"}
_SENTENCE_END = re.compile(r"(?<=[.!?…])[”\"’)]?\s+(?=[A-Z“\"‘(\d])")
# Sentences that make no sense in an inbox preview.
MEDIA_POINTER = re.compile(
    r"\b(?:picture|image|photo|diagram|illustration|figure|graphic|chart|video)s?\b[^.]{0,40}"
    r"\b(?:below|above|following)\b|\b(?:below|above|following)\b[^.]{0,20}"
    r"\b(?:picture|image|photo|diagram|illustration|figure|graphic|chart|video)s?\b|"
    r"\bhere is a video\b|\bwatch (?:this|the) video\b",
    re.I,
)
# "HERE" only in capitals: a lowercase "here" is ordinary prose.
LINK_WORDS = re.compile(r"\b[Cc]lick [Hh]ere\b|\bCLICK HERE\b|\bHERE\b|\b(?:this|the following) link\b")


def sentences(text: str) -> list[str]:
    """Split plain text into sentences, not at "Dr." or "e.g."."""
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()].split()
        last_word = before[-1].rstrip(".").lower() if before else ""
        if last_word in _ABBREVIATIONS or len(last_word) == 1:
            continue
        out.append(text[start : match.start()].strip())
        start = match.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def shorten(text: str, limit: int, *, minimum: int = 0) -> str:
    """Cut ``text`` to ``limit`` characters, preferring a clause boundary."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = text[: limit - 1]
    clause = max(
        (m.start() for m in re.finditer(r",\s|;\s|\s[–—-]\s|\s(?:and|but|which|while|so|because)\s", room)),
        default=-1,
    )
    cut = clause if clause >= max(minimum, limit // 2) else room.rfind(" ")
    cut = cut if cut > 0 else limit - 1
    return room[:cut].rstrip(" ,;:–—-") + "…"


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _repeats(sentence: str, subject: str) -> bool:
    return bool(_normal(subject)) and _normal(sentence).startswith(_normal(subject))


def preheader(blocks: list[Block], subject: str) -> str:
    """A preview line from the lesson's first paragraphs."""
    prose = [b.text for b in blocks if isinstance(b, Paragraph | Callout) and not _NOT_PROSE.match(b.text)]
    paragraphs = [plain_text(text) for text in prose[:_PREHEADER_PARAGRAPHS]]
    candidates = [s for p in paragraphs for s in sentences(p)]

    def usable(sentence: str) -> bool:
        return not (
            _repeats(sentence, subject)
            or MEDIA_POINTER.search(sentence)
            or LINK_WORDS.search(sentence)
            or sentence.endswith(":")
            or "{{" in sentence  # a placeholder would show raw in the inbox preview
        )

    for sentence in candidates:
        if usable(sentence) and _GOOD_PREHEADER_MIN <= len(sentence) <= PREHEADER_MAX:
            return sentence
    for sentence in candidates:
        if usable(sentence) and len(sentence) >= _GOOD_PREHEADER_MIN:
            return shorten(sentence, PREHEADER_MAX, minimum=PREHEADER_MIN)
    # Short lessons: join what there is until it is long enough.
    text = ""
    for sentence in [s for s in candidates if usable(s)] or candidates:
        text = f"{text} {sentence}".strip()
        if len(text) >= PREHEADER_MIN:
            break
    return shorten(text, PREHEADER_MAX, minimum=PREHEADER_MIN)


def subject_from(text: str) -> str:
    return shorten(plain_text(text).rstrip(":"), SUBJECT_MAX)


def teaser(next_subject: str, next_preheader: str) -> str:
    """One line that makes the reader look forward to the next lesson."""
    line = f"Next: {next_subject} — {next_preheader}"
    return line if len(line) <= 140 else f"Next: {next_subject}"


_NAME = re.compile(r"^((?:[A-Z][\w’'.-]+\s){1,3}[A-Z][\w’'-]+)\b")
_ROLE = re.compile(
    r"\b(?:is|as) (?:the |a |an )?((?:co-?)?founder|owner|director|head coach|editor|"
    r"[a-z]+ (?:coach|trainer|therapist|physiotherapist|kinesiologist|nutritionist|dietitian|writer))"
    r"( of| at)? ?((?:[A-Z][\w’'&-]*(?: (?:in|of|and|the|for|&))?\s?)*[A-Z][\w’'-]*)?",
)


def signoff(bio: str) -> str:
    """ "Andrea Lawson, founder of Balance in Motion" from a paragraph-long bio."""
    bio = plain_text(bio)
    if not bio:
        return ""
    name = _NAME.match(bio)
    if not name:
        return shorten(sentences(bio)[0], 100)
    role = _ROLE.search(bio)
    if not role:
        return name.group(1)
    title = role.group(1)
    if role.group(2) and role.group(3):
        title += f"{role.group(2)} {role.group(3).strip()}"
    return f"{name.group(1)}, {title}"
