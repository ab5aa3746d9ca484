"""Lesson → email, in two stages.

Stage 1, once per (template, lesson): Jinja with `[[ ]]`/`[% %]` delimiters
fills in the lesson, then MRML compiles the MJML to HTML (`fonts={}`: no web
fonts, nothing fetched). Links get the campaign's UTM parameters here.
Stage 2, per subscriber: the compiled subject, HTML and text still hold the
`{{ }}` placeholders staff wrote (`{{ subscriber.first_name | default("there") }}`),
filled with autoescape (HTML) and StrictUndefined semantics.

Stage 2 is the hot path (one call per subscriber and email), so each part is
turned into a `SlotTemplate`: static chunks with the placeholders between them,
evaluated by a small generated function instead of a full Jinja render (whose
per-call Context setup costs more than the rest of a mostly static page).
Anything beyond plain lookups and filters (`{% if %}`, calls, operators) is
left to Jinja itself: same output, just slower.

The cache of compiled lessons is checked on every `compile`: a lesson or
campaign that differs from the cached one (the engine re-reads lesson files
every tick, the preview every request) or an edited template file (mtime
check, at most every `check_interval` seconds) compiles again.

One module per job: `slots` (stage 2's generated renderer), `markdown` (a lesson body as
email HTML), `email_html` (UTM link tagging, ASCII, the size limit) and `renderer` (the
stages and the compile cache).
"""

from __future__ import annotations

from sender.render.email_html import HTML_LIMIT_BYTES, ascii_html, html_size_problem, tag_links
from sender.render.markdown import BodyBlock, escape_keep_jinja, markdown_blocks
from sender.render.renderer import (
    OPTIONAL_FIELDS,
    CompiledLesson,
    RenderedEmail,
    Renderer,
    RenderError,
    subscriber_context,
)
from sender.render.slots import MissingField, SlotTemplate, SubscriberFields

__all__ = ["HTML_LIMIT_BYTES", "OPTIONAL_FIELDS", "BodyBlock", "CompiledLesson", "MissingField",
           "RenderError", "RenderedEmail", "Renderer", "SlotTemplate", "SubscriberFields", "ascii_html",
           "escape_keep_jinja", "html_size_problem", "markdown_blocks", "subscriber_context", "tag_links"]
