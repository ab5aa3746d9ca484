"""Recognising site chrome: text that belongs to the website, not the article.

Articles copied from blogs carry phone numbers, newsletter boxes, share
buttons and comment prompts. They must never be emailed, so every reader
drops them and keeps them in ``Document.chrome`` for the split report.
The patterns match whole short lines only, so a sentence in the article
that merely mentions a newsletter is kept.
"""

from __future__ import annotations

import re

_MAX_CHROME_LINE = 160

# Each pattern must match the *whole* (stripped) line.
_CHROME_LINES = [
    # "Richmond: 604.271.7181", "Call us (604) 555-0100", "+44 20 7946 0958"
    re.compile(r"(?:[\w .&'-]{0,40}[:\-–]\s*)?\+?\(?\d{2,4}\)?[ .\-]?\d{3}[ .\-]?\d{3,4}", re.I),
    re.compile(r"(?:call|phone|tel|text)(?: us)?[:.]?\s*\+?[\d().\s-]{7,}", re.I),
    # newsletter sign-up boxes and their confirmation text
    re.compile(r".*\bstraight to your (?:e-?mail|inbox)\b.*", re.I),
    re.compile(r".*\b(?:sign up|subscribe)\b.*\b(?:newsletter|updates|inbox|e-?mail)\b.*", re.I),
    re.compile(r".*\bconfirm your subscription\b.*", re.I),
    re.compile(r"thank you!?\s*please check your (?:e-?mail|inbox).*", re.I),
    re.compile(r"(?:enter )?your (?:e-?mail|email address|first name)\*?", re.I),
    re.compile(r"(?:subscribe|sign up|join now|submit)!?", re.I),
    # share buttons and post furniture
    re.compile(r"(?:share|share this(?: post| article)?|share on \w+|tweet|pin it|email this)[:!]?", re.I),
    re.compile(r"(?:(?:facebook|twitter|x|linkedin|pinterest|email|whatsapp|reddit)\s*[|·•,]?\s*){2,}", re.I),
    re.compile(
        r"(?:leave a (?:comment|reply)|\d+ comments?|comments?|reply|related posts?|you may also like)[:.]?",
        re.I,
    ),
    re.compile(r"(?:posted|filed) (?:in|under)\b.{0,80}", re.I),
    re.compile(r"tags?:.{0,120}", re.I),
    re.compile(r"(?:copyright\s*)?©.{0,120}|.{0,80}all rights reserved\.?", re.I),
    # bylines and dates under the title
    re.compile(
        r"(?:[Pp]osted |[Ww]ritten )?[Bb]y [A-Z][\w.’'-]+(?: [A-Z][\w.’'-]+){0,3}(?:\s*[|,•·–-].{0,60})?"
    ),
    re.compile(
        r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,? )?"
        r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}",
        re.I,
    ),
    re.compile(
        r"(?:skip to (?:main )?content|menu|search|home|back to top|read more|previous post|next post)[:.]?",
        re.I,
    ),
]

# A line that starts the author box; what follows it is the author bio.
BIO_MARKER = re.compile(r"(?:about the (?:author|writer)|author bio|meet the author)[:.]?", re.I)


def is_chrome_line(line: str) -> bool:
    text = line.strip().strip("*_#> ").strip()
    if not text or len(text) > _MAX_CHROME_LINE:
        return False
    return any(pattern.fullmatch(text) for pattern in _CHROME_LINES)


def is_bio_marker(line: str) -> bool:
    return bool(BIO_MARKER.fullmatch(line.strip().strip("*_#> ").strip()))
