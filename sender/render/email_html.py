"""What is done to the HTML MRML compiled before it is cached: links tagged with the
campaign's UTM parameters, non-ASCII as character references, and the size Gmail clips at."""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import unescape
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from markupsafe import escape

# Gmail clips an HTML body over about 102 KB, hiding the rest (unsubscribe link
# included) behind "[Message clipped]": keep a margin for what providers add.
HTML_LIMIT_BYTES = 90 * 1024

_HREF = re.compile(r'href="(https?://[^"]*)"', re.I)


def tag_links(html: str, params: Mapping[str, str]) -> str:
    """Add UTM parameters to every http(s) link that has none of its own (staff who
    tagged a link chose its tracking). Placeholders such as `{{ unsubscribe_url }}`
    are not http links at this point, and mailto: links are not touched."""
    if not params:
        return html

    def tag(match: re.Match[str]) -> str:
        url = unescape(match.group(1))
        parts = urlsplit(url)
        if any(key.startswith("utm_") for key, _ in parse_qsl(parts.query, keep_blank_values=True)):
            return match.group(0)
        # appended, never re-encoded: the link's own query stays byte for byte
        query = parts.query + ("&" if parts.query else "") + urlencode(params)
        return f'href="{escape(urlunsplit(parts._replace(query=query)))}"'

    return _HREF.sub(tag, html)


# CSS and scripts do not decode character references: what is inside them stays as it is.
_RAW_TEXT = re.compile(r"(<(style|script)\b.*?</\2\s*>)", re.I | re.S)


def ascii_html(html: str) -> str:
    """Non-ASCII characters as numeric character references (`’` → `&#8217;`), outside
    `<style>` and `<script>`. Every client reads them as the same characters, and a pure
    ASCII page is several times cheaper to personalise, JSON-encode and send by the
    thousand than one with a single curly quote (Python then stores every character in two
    bytes, and JSON encoders leave their fast path)."""
    if html.isascii():
        return html
    parts = _RAW_TEXT.split(html)  # outside, (block, tag name), outside, ...
    out = []
    for i in range(0, len(parts), 3):
        out.append(parts[i].encode("ascii", "xmlcharrefreplace").decode("ascii"))
        if i + 1 < len(parts):
            out.append(parts[i + 1])
    return "".join(out)


def html_size_problem(path: Path, html: str) -> str | None:
    """An error message naming the lesson file if its HTML is over the limit."""
    size = len(html.encode())
    if size <= HTML_LIMIT_BYTES:
        return None
    return (f"{path}: the email's HTML is {size / 1024:.1f} KB, over the {HTML_LIMIT_BYTES // 1024} KB "
            "limit (Gmail clips messages at about 102 KB, hiding the unsubscribe link); "
            "shorten or split the lesson")
