"""Recognising site chrome: text that belongs to the website, not the article.

Articles copied from blogs carry phone numbers, newsletter boxes, share
buttons, menus and comment prompts. They must never be emailed, so every
reader drops them and keeps them in ``Document.chrome`` for the split report.

Two strengths of evidence:

- ``is_chrome_line``: a whole short line that is chrome wherever it stands
  (a nav bar of separator-joined items, "Skip to content", "Advertisement",
  a subscribe call to action, a date or byline). A sentence in the article
  that merely mentions a newsletter is not a whole-line match, so it is kept.
- ``is_menu_item`` / ``is_soft_chrome``: short lines ("About", "Share to show
  you care") that are chrome only in context: before the title, after the
  last paragraph, or in a column of such lines. The text reader judges that.

``is_related_heading`` starts a "Related posts" box: the titles listed under
it are chrome too.
"""

from __future__ import annotations

import re

_MAX_CHROME_LINE = 160

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday|rsday)?\.?"
_TIME = r"\d{1,2}(?:[:.]\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.|h)?"

_DATES = [
    re.compile(rf"(?:{_DAY},? )?{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}", re.I),
    re.compile(rf"(?:{_DAY},? )?\d{{1,2}}(?:st|nd|rd|th)? {_MONTH},? \d{{4}}", re.I),
    re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?"),
]

# Each pattern must match the *whole* (stripped) line.
_CHROME_LINES = [
    # "Richmond: 604.271.7181", "Call us (604) 555-0100", "+44 20 7946 0958"
    re.compile(r"(?:[\w .&'-]{0,40}[:\-–]\s*)?\+?\(?\d{2,4}\)?[ .\-]?\d{3}[ .\-]?\d{3,4}", re.I),
    re.compile(r"(?:call|phone|tel|text)(?: us)?[:.]?\s*\+?[\d().\s-]{7,}", re.I),
    # newsletter sign-up boxes and their confirmation text
    re.compile(r".*\bstraight to your (?:e-?mail|inbox)\b.*", re.I),
    re.compile(
        r"(?:(?:please |click here to |want to |)(?:sign up|subscribe)|get|join|receive)\b.{0,80}"
        r"\b(?:newsletter|updates|inbox|e-?mail)\b.{0,40}",
        re.I,
    ),
    re.compile(r"enter your e-?mail\b.{0,60}", re.I),
    re.compile(r".*\bconfirm your subscription\b.*", re.I),
    re.compile(r"thank you!?\s*please check your (?:e-?mail|inbox).*", re.I),
    re.compile(r"(?:enter )?your (?:e-?mail|email address|first name)\*?", re.I),
    re.compile(r"(?:subscribe|sign up|join now|submit)(?: now| today| for free| here)?!?", re.I),
    # "Want me to send you an email when I publish something new?"
    re.compile(
        r"(?:do you )?(?:want|like|would you like)(?: me| us)? to (?:get|receive|send|e-?mail|notify|let)"
        r"\b.{0,60}\b(?:e-?mail|inbox|newsletter|updates?|notified|publish\w*|new posts?)\b.{0,40}",
        re.I,
    ),
    re.compile(
        r"(?:get|receive) (?:new|the latest|our latest|my latest|future) (?:posts?|articles?|updates)"
        r"\b.{0,40}\b(?:e-?mail|inbox)\b.{0,20}",
        re.I,
    ),
    re.compile(r"never miss (?:a|an|another) (?:post|article|update|story|issue)!?", re.I),
    re.compile(r"join (?:\d[\d,.]*k?\+? )?(?:other )?(?:readers|subscribers)\b.{0,60}", re.I),
    # booking calls to action
    re.compile(
        r"(?:book|schedule|request|get|claim|reserve|arrange)(?: (?:a|an|your|my))?(?: free| complimentary)?"
        r"(?: \d+[- ]minute)? (?:consultation|consult|appointment|call|session|demo|quote|estimate|"
        r"assessment|discovery call|strategy call|class|trial|visit)(?: today| now| online| here)?[.!]?",
        re.I,
    ),
    re.compile(
        r"(?:book|call|order|buy|shop|enrol|enroll|register|apply) (?:now|today|online|here)[.!]?", re.I
    ),
    re.compile(r"start (?:your|a) free trial(?: today| now)?[.!]?", re.I),
    # share buttons and post furniture
    re.compile(
        r"(?:share|share this(?: post| article| story| page)?|share on \w+|share via \w+|tweet|pin it|"
        r"email this|print this(?: page| article)?)[:!]?",
        re.I,
    ),
    re.compile(
        r"(?:(?:facebook|twitter|x|linkedin|pinterest|email|whatsapp|reddit|mastodon|bluesky|"
        r"threads|instagram|youtube|telegram|hacker news|copy link)\s*[|·•,/]?\s*){2,}",
        re.I,
    ),
    re.compile(
        r"(?:leave a (?:comment|reply)|\d+ comments?|comments?|reply|related posts?|you may also like)[:.]?",
        re.I,
    ),
    re.compile(r"(?:posted|filed) (?:in|under)\b.{0,80}", re.I),
    re.compile(r"tags?:.{0,120}", re.I),
    re.compile(r"(?:copyright\s*)?©.{0,120}|.{0,80}all rights reserved\.?", re.I),
    # bylines and dates under the title
    re.compile(
        r"(?:[Pp]osted |[Ww]ritten )?[Bb]y [A-Z][\w.’'-]+(?: [A-Z][\w.’'-]+){0,3}"
        r"(?:\s*[|,•·–-]\s*[^.!?]{0,60})?"
    ),
    *_DATES,
    re.compile(r"(?:\d+|one|two|three|four|five|ten) min(?:ute)?s? read", re.I),
    # photo credits (the picture itself is not in the text)
    re.compile(
        r"(?:photo(?:graph)?|image|picture|illustration|video|header image)s?\s?"
        r"(?:by|credit|courtesy(?: of)?|via|©|source:)\s?.{1,60}",
        re.I,
    ),
    re.compile(r"credits?:\s?.{1,60}", re.I),
    # a title page's byline and credits
    re.compile(r"(?:by )?(?:the )?author of\b.{1,80}", re.I),
    # an e-text's or page's production credit
    re.compile(
        r"(?:produced|transcribed|prepared|digiti[sz]ed|scanned|proofread|converted|typeset)"
        r"(?: (?:for|from) [\w .-]{1,40})? by\b.{1,120}",
        re.I,
    ),
    # navigation, accounts, notices
    re.compile(
        r"(?:skip to (?:the )?(?:main |primary )?"
        r"(?:content|navigation|site index|menu|search|footer|main)\s*)+",
        re.I,
    ),
    re.compile(
        r"(?:menu|main menu|search|home|back to top|read more|continue reading|previous post|next post|"
        r"older posts?|newer posts?|load more|show more|toggle (?:navigation|menu)|open menu|close menu|"
        r"main navigation|site (?:index|map|menu|navigation|search)|site information navigation|"
        r"go to (?:the )?home ?page.{0,3}|open in (?:the )?app|view all(?: posts| articles)?)[:.]?",
        re.I,
    ),
    re.compile(r"(?:[↑⬆▲^]\s*)?(?:back to |return to |scroll to |go to )?top(?:\s*[↑⬆▲^])?", re.I),
    re.compile(
        r"(?:log ?in|sign ?in|login|register|sign ?up|create (?:an |your )?account|my account|log ?out|"
        r"sign ?out)(?:\s*(?:/|\||or|and|·|•)?\s*(?:log ?in|sign ?in|login|register|sign ?up|"
        r"create (?:an |your )?account|my account|subscribe))*",
        re.I,
    ),
    re.compile(r"(?:please )?(?:enable|turn on|activate) javascript\b.{0,100}", re.I),
    re.compile(
        r"(?:this (?:site|page|website) (?:requires|needs) javascript|"
        r"javascript (?:is )?(?:required|disabled|must be enabled|needs to be enabled))"
        r"\b.{0,80}",
        re.I,
    ),
    re.compile(
        r"(?:this (?:site|website) uses cookies|we use cookies|by (?:using|continuing)\b.{0,60}\bcookies)"
        r"\b.{0,140}|accept (?:all )?cookies|cookie (?:settings|policy|preferences|notice|consent)|"
        r"manage (?:cookies|consent|preferences)",
        re.I,
    ),
    # advertising labels
    re.compile(
        r"advertisements?|ad|ads|sponsored(?: content| post| story| by .{1,40})?|supported by|"
        r"paid (?:content|post|partnership)|promoted(?: content| stories)?|advertise(?: with us)?|"
        r"story continues below(?: advertisement)?|continue reading the main story|(?:your )?ad choices",
        re.I,
    ),
    # site footers
    re.compile(
        r"privacy policy|privacy notice|terms of (?:service|use|sale)|terms (?:and|&) conditions|"
        r"cookie policy|site ?map|accessibility statement|do not sell my (?:personal )?information",
        re.I,
    ),
]

# "Home | Services | Blog | Contact", "Blog › Category", "Home / Blog / Post"
_NAV_SEPARATORS = (
    (re.compile(r"\s*[|•·]\s*"), 3),
    (re.compile(r"\s*[›»→]\s*"), 2),
    (re.compile(r"\s+[/>]\s+"), 3),
)
_CODE_CHARS = re.compile(r"[{}();=<\[\]$`\\]|\w\.\w+\(|&&")
_SENTENCE_END = re.compile(r"[.!?:;,]$")
_ABBREVIATION_END = re.compile(r"(?:\b[A-Z]\.){2,}$")  # "U.S."

# A phone or opening-hours line: "Mon–Fri 9am–5pm", "Open Monday to Friday, 9:00-17:00".
_HOURS = re.compile(
    rf"(?:open(?:ing hours)?:?\s*)?{_DAY}\s*(?:[-–—]|to|through|till|until)\s*{_DAY}\b.{{0,20}}?"
    rf"{_TIME}\s*(?:[-–—]|to|till|until)\s*{_TIME}",
    re.I,
)

# A line that starts the author box; what follows it is the author bio.
BIO_MARKER = re.compile(r"(?:about the (?:author|writer)s?|author bio|meet the author|about me)[:.]?", re.I)

# The heading of a box of links to other pages of the site.
_RELATED = re.compile(
    r"(?:related|similar|more|recommended|popular|trending|recent|latest|further|other|suggested)"
    r" (?:posts?|articles?|stories|reads?|content|links|news|"
    r"from (?:the |this |our )?(?:blog|author|site)\b.*|in \w+(?: \w+)?|for you|on this topic)|"
    r"you (?:may|might|will|would) (?:also )?(?:like|enjoy|be interested in)|"
    r"(?:read|up) next|keep reading|also read|read (?:this|these) next|more to explore|most (?:popular|read)|"
    r"trending(?: now)?|elsewhere on \w+(?: \w+)?|from (?:the|our) (?:blog|archives?)",
    re.I,
)


def _clean(line: str) -> str:
    return re.sub(r"\s+", " ", line.strip().strip("*_#> ").strip())


def _nav_bar(text: str) -> bool:
    """Short capitalised items joined by separators: a menu or breadcrumb trail."""
    if _CODE_CHARS.search(text) or text.startswith("|"):
        return False
    for separator, needed in _NAV_SEPARATORS:
        items = separator.split(text)
        if len(items) < needed or any(not item for item in items):
            continue
        if all(
            len(item) <= 40 and len(item.split()) <= 5 and (item[0].isupper() or item[0].isdigit())
            and not _SENTENCE_END.search(item.rstrip("»›"))
            for item in items
        ):  # fmt: skip
            return True
    return False


def is_date_line(line: str) -> bool:
    """A line that is only a date ("Feb. 21, 2019", "21 September 2020", "2019-02-15")."""
    text = _clean(line)
    return any(pattern.fullmatch(text) for pattern in _DATES)


def is_chrome_line(line: str) -> bool:
    text = _clean(line)
    if not text or len(text) > _MAX_CHROME_LINE:
        return False
    if any(pattern.fullmatch(text) for pattern in _CHROME_LINES):
        return True
    if _nav_bar(text):
        return True
    return bool(_HOURS.search(text)) and len(text.split()) <= 16 and not text.endswith((".", "!", "?"))


def is_bio_marker(line: str) -> bool:
    return bool(BIO_MARKER.fullmatch(_clean(line)))


def is_related_heading(line: str) -> bool:
    """ "Related posts", "Similar articles", "You may also like": a box of links follows."""
    return bool(_RELATED.fullmatch(_clean(line).rstrip(":.")))


def is_menu_item(line: str) -> bool:
    """A one-to-three-word label with no sentence punctuation ("About", "Press and Youtube")."""
    text = _clean(line)
    if (
        not text
        or "\t" in line
        or _CODE_CHARS.search(text)
        or re.search(r"[\d*+=<>|%]", line.strip().replace("©", ""))
    ):
        return False
    if _SENTENCE_END.search(text) and not _ABBREVIATION_END.search(text):
        return False
    words = text.split()
    if len(re.findall(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]", text)) > 6:
        return False  # a sentence in a script that does not space its words
    return len(words) <= 3 and len(text) <= 32 and (words[0][0].isalpha() or words[0][0] in "&@#")


def is_soft_chrome(line: str) -> bool:
    """Chrome when it stands before the title or after the article: menu labels,
    share and follow prompts, site credits."""
    text = _clean(line)
    if is_menu_item(text):
        return True
    return bool(re.fullmatch(r"(?:share|follow|like|tweet|subscribe)\b.{0,40}", text, re.I)) and (
        len(text.split()) <= 7 and not text.endswith(".")
    )
