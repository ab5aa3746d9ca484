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
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import jinja2
import mjml
from jinja2 import nodes
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

from sender.campaign import UTM_KEYS, Campaign, Lesson
from sender.defaults import TEMPLATES as DEFAULT_TEMPLATES
from sender.errors import DripError
from sender.plaintext import (
    JINJA_SPAN,
    markdown_to_text,
    protect_spans,
    restore_spans,
    split_containers,
)

# Gmail clips an HTML body over about 102 KB, hiding the rest (unsubscribe link
# included) behind "[Message clipped]": keep a margin for what providers add.
HTML_LIMIT_BYTES = 90 * 1024

_md = MarkdownIt("commonmark").enable("table")
_MISSING = object()
_UNDEFINED_NAME = re.compile(r"has no (?:attribute|field) '([^']+)'|^'([^']+)' is undefined")
_HREF = re.compile(r'href="(https?://[^"]*)"', re.I)
# A label paragraph of an exercise: **Recommended Repetitions:** 10-20, **Coaching Cues:**
_EXERCISE_WORDS = re.compile(r"\b(?:rep(?:etition)?s?|sets?|cues?|tempo|rest|hold|duration|equipment)\b",
                             re.I)
_LIST_OPEN = {"bullet_list_open", "ordered_list_open"}

# Aliases kept for callers of the first version of this module.
_JINJA_SPAN = JINJA_SPAN
_protect, _restore = protect_spans, restore_spans


class RenderError(DripError):
    """A template, MJML or variable error, naming the file and line. `field` is set when
    the cause is a subscriber field this subscriber lacks (their data, not the lesson)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SubscriberFields(dict[str, Any]):
    """What templates see as `subscriber`: a dict, told apart so that a missing field of a
    subscriber is recognised as theirs (see `_Undefined`)."""


class MissingField(jinja2.UndefinedError):
    """`subscriber.<field>` for a subscriber without that field."""

    @property
    def field(self) -> str:
        found = _UNDEFINED_NAME.search(self.message or "")
        return (found.group(1) or found.group(2)) if found else ""


class _Undefined(jinja2.StrictUndefined):
    """StrictUndefined whose error, for a field of `subscriber`, is `MissingField`."""

    __slots__ = ()

    def __init__(self, hint: str | None = None, obj: Any = jinja2.utils.missing, name: str | None = None,
                 exc: type[jinja2.exceptions.TemplateRuntimeError] = jinja2.UndefinedError) -> None:
        if isinstance(obj, SubscriberFields) and isinstance(name, str):
            hint, exc = hint or f"this subscriber has no field '{name}'", MissingField
        super().__init__(hint, obj, name, exc)


# -- stage 2: static chunks and slots ------------------------------------------------


class SlotTemplate:
    """A compiled email part whose `{{ }}` placeholders are filled per subscriber."""

    def __init__(self, env: jinja2.Environment, source: str) -> None:
        self.source = source
        # Jinja's own parser, so delimiters, whitespace control and syntax errors are Jinja's.
        fast = _generate(env, env.parse(source))
        self.fast = fast is not None
        self._fn: Callable[[Mapping[str, Any]], str] = fast or env.from_string(source).render

    def render(self, context: Mapping[str, Any]) -> str:
        return self._fn(context)


def _generate(env: jinja2.Environment, ast: nodes.Template) -> Callable[[Mapping[str, Any]], str] | None:
    """One Python function joining static chunks and slot values, or None when the
    template needs more than lookups and filters."""
    namespace: dict[str, Any] = {}
    parts: list[str] = []

    def constant(value: Any) -> str:
        name = f"_c{len(namespace)}"
        namespace[name] = value
        return name

    def expr(node: nodes.Node) -> str | None:
        if isinstance(node, nodes.Name) and node.ctx == "load":
            return f"_lookup(ctx, {node.name!r})"
        if isinstance(node, nodes.Const) and type(node.value) in (str, int, float, bool, type(None)):
            return repr(node.value)
        if isinstance(node, nodes.Getattr):
            inner = expr(node.node)
            return None if inner is None else f"_getattr({inner}, {node.attr!r})"
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            inner = expr(node.node)
            return None if inner is None else f"_getitem({inner}, {node.arg.value!r})"
        if isinstance(node, nodes.Filter) and node.node is not None \
                and not (node.dyn_args or node.dyn_kwargs):
            func = env.filters.get(node.name)
            passes = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
            if func is None or passes == "context":
                return None  # unknown filters fail in Jinja's own compile, with its message
            args = [expr(node.node), *(expr(a) for a in node.args)]
            kwargs = [(kw.key, expr(kw.value)) for kw in node.kwargs]
            if None in args or any(v is None for _, v in kwargs):
                return None
            lead = {"environment": "_env, ", "eval_context": "_evalctx, "}.get(passes or "", "")
            call = ", ".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs)])
            return f"{constant(func)}({lead}{call})"
        return None

    for output in ast.body:
        if not isinstance(output, nodes.Output):
            return None
        for child in output.nodes:
            if isinstance(child, nodes.TemplateData):
                if child.data:
                    parts.append(constant(child.data))
                continue
            code = expr(child)
            if code is None:
                return None
            parts.append(f"_out({code})")

    autoescape = env.autoescape(None) if callable(env.autoescape) else env.autoescape
    undefined, env_globals = env.undefined, env.globals

    def lookup(ctx: Mapping[str, Any], name: str) -> Any:
        value = ctx.get(name, _MISSING)
        if value is _MISSING:
            value = env_globals.get(name, _MISSING)
        return undefined(name=name) if value is _MISSING else value

    # escape() and str() of a StrictUndefined raise UndefinedError, as in Jinja's own output.
    namespace.update(_out=escape if autoescape else str, _lookup=lookup, _getattr=env.getattr,
                     _getitem=env.getitem, _env=env, _evalctx=nodes.EvalContext(env))
    body = f"''.join(({', '.join(parts)},))" if parts else "''"
    exec(compile(f"def render(ctx):\n    return {body}\n", "<stage 2>", "exec"), namespace)
    fn: Callable[[Mapping[str, Any]], str] = namespace["render"]
    return fn


# -- what the stages produce ---------------------------------------------------------


@dataclass(frozen=True)
class CompiledLesson:
    campaign: Campaign
    lesson: Lesson
    subject: SlotTemplate
    html: SlotTemplate
    text: SlotTemplate
    preheader: str  # as staff wrote it; `preheader_slots` fills its placeholders
    preheader_slots: SlotTemplate | None = None
    html_bytes: int = 0  # size of the compiled HTML before placeholders are filled
    generation: int = 0  # of the template files it was compiled from
    inputs: tuple[Any, ...] = ()  # the campaign values stage 1 used


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    preheader: str


@dataclass(frozen=True)
class BodyBlock:
    """A stretch of a lesson body: plain HTML, a callout or an exercise box."""

    kind: str  # "html", "callout" or "exercise"
    html: Markup
    title: str = ""  # Markup when set: escaped staff text


# -- lesson Markdown → HTML ------------------------------------------------------------


def escape_keep_jinja(text: str) -> Markup:
    """HTML-escape staff text but leave its `{{ ... }}` spans for stage 2."""
    parts = JINJA_SPAN.split(text)
    return Markup("".join(p if i % 2 else str(escape(p)) for i, p in enumerate(parts)))


def _styles(brand: str) -> dict[str, str]:
    # Inline, because several mail apps drop <style> (MRML has no mj-style inline).
    cell = "border:1px solid #d9e2ec;padding:6px 8px;text-align:left;"
    return {
        "h1": "font-size:24px;line-height:1.3;margin:28px 0 8px;",
        "h2": "font-size:21px;line-height:1.3;margin:28px 0 8px;",
        "h3": "font-size:18px;line-height:1.35;margin:24px 0 6px;",
        "h4": "font-size:16px;line-height:1.4;margin:20px 0 6px;",
        "p": "margin:0 0 16px;",
        "ul": "margin:0 0 16px;padding-left:24px;",
        "ol": "margin:0 0 16px;padding-left:24px;",
        "li": "margin:0 0 6px;",
        "blockquote": f"margin:0 0 16px;padding:8px 16px;border-left:4px solid {brand};background:#f4f7f6;",
        "pre": "white-space:pre-wrap;word-break:break-word;background:#f4f5f7;padding:12px;"
               "border-radius:4px;font-size:14px;margin:0 0 16px;",
        "table": "width:100%;border-collapse:collapse;margin:0 0 16px;font-size:14px;",
        "th": cell, "td": cell,
        "a": f"color:{brand};text-decoration:underline;word-break:break-word;",
        "img": "max-width:100%;height:auto;display:block;border:0;",
        "code": "font-size:14px;",
        "hr": "border:0;border-top:1px solid #e4e7eb;margin:24px 0;",
    }


def _add_styles(tokens: list[Token], styles: dict[str, str]) -> None:
    for token in tokens:
        for t in [token, *(token.children or [])]:
            style = styles.get(t.tag) if t.nesting >= 0 else None
            if style:
                own = t.attrGet("style")  # a table cell's text-align
                t.attrSet("style", style + (f"{own};" if own else ""))


def _top_level(tokens: list[Token]) -> list[list[Token]]:
    groups: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    for token in tokens:
        current.append(token)
        depth += token.nesting
        if depth == 0:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _label(group: list[Token]) -> str | None:
    """The label of a paragraph opening with `**Label:**`, else None."""
    if len(group) < 2 or group[0].type != "paragraph_open" or group[1].type != "inline":
        return None
    kids = [k for k in group[1].children or [] if k.type != "text" or k.content]
    if len(kids) >= 3 and kids[0].type == "strong_open" and kids[1].type == "text" \
            and kids[2].type == "strong_close" and kids[1].content.rstrip().endswith(":"):
        return kids[1].content
    return None


def markdown_blocks(source: str, brand_colour: str = "#0b7a5a") -> list[BodyBlock]:
    """A lesson body as blocks: `::: callout`/`::: exercise` containers, and runs of
    exercise labels (`**Recommended Repetitions:** …` then `**Coaching Cues:**` and a list)
    boxed as exercises; the rest plain HTML. `{{ }}` spans come through untouched."""
    protected, spans = protect_spans(source)
    styles = _styles(brand_colour)
    blocks: list[BodyBlock] = []

    def html_of(tokens: list[Token]) -> Markup:
        return Markup(restore_spans(_md.renderer.render(tokens, _md.options, {}), spans))

    for region in split_containers(protected):
        tokens = _md.parse(region.source)
        _add_styles(tokens, styles)
        if region.kind != "text":
            title = escape_keep_jinja(restore_spans(region.title, spans))
            blocks.append(BodyBlock(region.kind, html_of(tokens), title))
            continue
        groups, i = _top_level(tokens), 0
        plain: list[Token] = []
        while i < len(groups):
            j, labels = i, []
            # a run of label paragraphs, each maybe followed by its list
            while j < len(groups) and ((label := _label(groups[j])) is not None
                                       or (j > i and groups[j][0].type in _LIST_OPEN)):
                labels.append(label or "")
                j += 1
            if j - i >= 2 and any(_EXERCISE_WORDS.search(label) for label in labels):
                if plain:
                    blocks.append(BodyBlock("html", html_of(plain)))
                    plain = []
                blocks.append(BodyBlock("exercise", html_of([t for g in groups[i:j] for t in g])))
                i = j
                continue
            plain.extend(groups[i])
            i += 1
        if plain:
            blocks.append(BodyBlock("html", html_of(plain)))
    return blocks


def markdown_to_html(source: str) -> Markup:
    """A lesson body as one piece of HTML, inline-styled, `{{ }}` spans untouched."""
    return Markup("").join(block.html for block in markdown_blocks(source))


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


# Built-in fields a subscriber may lack (no name given): `subscriber_context` sets them only then.
OPTIONAL_FIELDS = frozenset({"name", "first_name"})


def subscriber_context(row: Any) -> dict[str, Any]:
    """What templates see as `subscriber`: missing names stay undefined, so
    `| default("there")` works under StrictUndefined."""
    data = SubscriberFields(row.fields or {}) if row.fields else SubscriberFields()
    data.update(email=row.email, timezone=row.timezone)
    if row.name:
        data["name"] = row.name
        data["first_name"] = row.name.split()[0]
    return data


def _dark_variant(colour: str) -> str:
    """The brand colour mixed with white: links stay readable on a dark background."""
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        return colour
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * 0.45):02x}" for c in rgb)


# -- the renderer --------------------------------------------------------------------


class Renderer:
    check_interval = 0.25  # seconds between checks of template mtimes (tests set 0)

    def __init__(self, templates_dir: Path, settings: Any,
                 default_templates: Path | None = DEFAULT_TEMPLATES) -> None:
        self.templates_dir = templates_dir
        # The project's folder first, then the packaged defaults: a project file replaces the
        # default of the same name, also where a default layout includes it by name.
        self.template_dirs = [templates_dir]
        if default_templates is not None and default_templates.resolve() != templates_dir.resolve():
            self.template_dirs.append(default_templates)
        self.settings = settings
        self._lesson_env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.template_dirs),
            block_start_string="[%", block_end_string="%]",
            variable_start_string="[[", variable_end_string="]]",
            comment_start_string="[#", comment_end_string="#]",
            autoescape=jinja2.select_autoescape(["mjml", "html"], default_for_string=False),
            undefined=_Undefined,
            keep_trailing_newline=True,
        )
        self._html_env = jinja2.Environment(autoescape=True, undefined=_Undefined)
        self._text_env = jinja2.Environment(autoescape=False, undefined=_Undefined)
        self._cache: dict[tuple[str, str, str], CompiledLesson] = {}
        self._system_cache: dict[str, tuple[int, SlotTemplate, SlotTemplate]] = {}
        self.compilations = 0  # MJML compiles done; benchmarks and tests read it
        self._generation = 0
        self._scan: tuple[tuple[str, int, int], ...] | None = None
        self._checked_at = float("-inf")

    # -- cache ---------------------------------------------------------------

    def templates_generation(self, force: bool = False) -> int:
        """Goes up whenever a file under the templates folders changed (mtime, size, added,
        removed). `force` looks now, whatever `check_interval` says (the preview does, so a
        page reloaded for an edit never shows the template from before it)."""
        now = time.monotonic()
        if force or now - self._checked_at >= self.check_interval:
            self._checked_at = now
            scan = self._scan_templates()
            if self._scan is not None and scan != self._scan:
                self._generation += 1
                # Jinja re-checks only the file it loaded a name from, so a project file added
                # in front of a default (or removed) would go unseen without this.
                if self._lesson_env.cache is not None:
                    self._lesson_env.cache.clear()
            self._scan = scan
        return self._generation

    def _scan_templates(self) -> tuple[tuple[str, int, int], ...]:
        found = []
        for root, _dirs, files in (entry for folder in self.template_dirs for entry in os.walk(folder)):
            for name in files:
                try:
                    st = os.stat(os.path.join(root, name))
                except OSError:  # removed while we looked: the next scan sees it gone
                    continue
                found.append((os.path.join(root, name), st.st_mtime_ns, st.st_size))
        return tuple(sorted(found))

    def compile(self, campaign: Campaign, lesson: Lesson, template: str = "lesson") -> CompiledLesson:
        key = (template, campaign.slug, lesson.key)
        generation = self.templates_generation()
        cached = self._cache.get(key)
        if cached is not None and cached.generation == generation:
            if cached.lesson is lesson and cached.campaign is campaign:
                return cached
            if cached.lesson == lesson and cached.inputs == _campaign_inputs(campaign):
                # Same files read again: keep the compiled result, point it at the new objects.
                cached = self._cache[key] = dataclasses.replace(cached, campaign=campaign, lesson=lesson)
                return cached
        compiled = self._cache[key] = self._compile(campaign, lesson, template, generation)
        return compiled

    # -- stage 1 -------------------------------------------------------------

    def _brand(self) -> dict[str, Any]:
        """Stage-1 values every email shares, lessons and system emails alike."""
        s = self.settings
        from_name, from_email = parseaddr(s.from_address)
        return {
            "brand_colour": s.brand_colour,
            "brand_colour_dark": _dark_variant(s.brand_colour),
            "logo_url": getattr(s, "logo_url", "") or "",
            "logo_alt": from_name or from_email,
            "from_name": from_name or from_email,
            "postal_address": s.postal_address,
            "language": "en",
        }

    def _compile(self, campaign: Campaign, lesson: Lesson, template: str, generation: int) -> CompiledLesson:
        self._check_placeholders(lesson)
        nxt = campaign.lesson(lesson.position + 1)
        brand = self._brand()
        reply = parseaddr(self.settings.reply_to or self.settings.from_address)[1]
        reply_subject = f"Question about lesson {lesson.position} of {campaign.title}"
        button = self._campaign_button(campaign)
        # Staff-written text, raw; the HTML stage escapes it, the text stage doesn't.
        text_values: dict[str, Any] = {
            "campaign_title": campaign.title,
            "subject": lesson.subject,
            "preheader": lesson.preheader,
            "teaser": lesson.teaser if nxt else "",
            "signoff": campaign.signoff if nxt is None else "",
            "postal_address": self.settings.postal_address,
            "logo_alt": brand["logo_alt"],
            "from_name": brand["from_name"],
        }
        common = {
            **brand,
            "lesson": lesson,
            "lesson_count": len(campaign.lessons),
            "next_position": lesson.position + 1 if nxt else None,
            "progress_percent": round(100 * lesson.position / max(len(campaign.lessons), 1)),
            "language": campaign.language,
            "reply_url": f"mailto:{reply}?subject={quote(reply_subject)}" if reply else "",
            "button": button,
        }
        html_context = {
            **common,
            **{k: escape_keep_jinja(v) for k, v in text_values.items()},
            "references": [escape_keep_jinja(r) for r in lesson.references],
            "body_blocks": markdown_blocks(lesson.body, self.settings.brand_colour),
        }
        mjml_file = self._template_file(f"{template}.mjml")
        # MRML never sees the {{ }} spans: it would re-escape them in attributes.
        mjml_source, spans = protect_spans(self._stage1(f"{template}.mjml", html_context))
        try:
            html = mjml.mjml2html(mjml_source, fonts={})  # fonts={}: never fetch web fonts
        except ValueError as exc:
            raise RenderError(f"{mjml_file}: MJML error while rendering {lesson.path.name}: {exc}") from None
        html = restore_spans(ascii_html(tag_links(html, self._utm(campaign, lesson))), spans)
        self.compilations += 1
        text_context = {
            **common,
            **text_values,
            "references": list(lesson.references),
            "body_text": markdown_to_text(lesson.body),
        }
        text = self._stage1(f"{template}.txt", text_context)
        return CompiledLesson(
            campaign=campaign,
            lesson=lesson,
            subject=self._stage2(self._text_env, lesson.subject, lesson.path),
            html=self._stage2(self._html_env, html, mjml_file),
            text=self._stage2(self._text_env, text, self._template_file(f"{template}.txt")),
            preheader=lesson.preheader,
            preheader_slots=self._stage2(self._text_env, lesson.preheader, lesson.path),
            html_bytes=len(html.encode()),
            generation=generation,
            inputs=_campaign_inputs(campaign),
        )

    def _utm(self, campaign: Campaign, lesson: Lesson) -> dict[str, str]:
        """`[utm]` of campaign.toml (checked when it was loaded) as query parameters; campaign
        defaults to the slug, content to the lesson key. No table, no tagging."""
        utm = campaign.config.utm
        if utm is None or not utm.model_fields_set:
            return {}
        values = {"campaign": campaign.slug, "content": lesson.key, **utm.model_dump(exclude_none=True)}
        return {f"utm_{k}": values[k] for k in UTM_KEYS if values.get(k)}

    @staticmethod
    def _campaign_button(campaign: Campaign) -> dict[str, str] | None:
        """An optional second call to action from campaign.toml: [button] text, url."""
        button = campaign.config.button
        return None if button is None else {"text": button.text, "url": button.url}

    def _check_placeholders(self, lesson: Lesson) -> None:
        """A broken `{{ }}` in a lesson, reported at its line in the lesson file."""
        parts = ((lesson.subject, 1), (lesson.preheader, 1), (lesson.body, lesson.body_line))
        for source, first_line in parts:
            try:
                self._text_env.parse(source)
            except jinja2.TemplateSyntaxError as exc:
                line = first_line + (exc.lineno or 1) - 1
                raise RenderError(f"{lesson.path}:{line}: template error in a {{{{ }}}} placeholder: "
                                  f"{exc.message}") from None

    def _stage1(self, name: str, context: dict[str, Any]) -> str:
        try:
            template = self._lesson_env.get_template(name)
            return template.render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename or name}:{exc.lineno}: template error: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{self._template_position(exc, name)}: undefined variable: {exc.message}") \
                from None
        except jinja2.TemplateNotFound as exc:
            where = " nor among the packaged defaults" if len(self.template_dirs) > 1 else ""
            raise RenderError(f"{self.templates_dir}: template {exc.name!r} not found{where}") from None

    def _template_file(self, name: str) -> Path:
        """The file `name` is loaded from: the project's, else the packaged default."""
        return next((d / name for d in self.template_dirs if (d / name).is_file()), self.templates_dir / name)

    def _template_position(self, exc: BaseException, name: str) -> str:
        """file:line of the innermost template frame (Jinja maps frames to template lines)."""
        roots = tuple(str(d) for d in self.template_dirs)
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.startswith(roots):
                return f"{frame.filename}:{frame.lineno}"
        return str(self._template_file(name))

    @staticmethod
    def _stage2(env: jinja2.Environment, source: str, origin: Path) -> SlotTemplate:
        try:
            return SlotTemplate(env, source)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{origin}: template error in a {{{{ }}}} placeholder: {exc.message}") from None

    # -- stage 2 -------------------------------------------------------------

    def render(self, compiled: CompiledLesson, context: dict[str, Any]) -> RenderedEmail:
        """Per subscriber: `subscriber`, `unsubscribe_url`, `manage_url`, `next_lesson_day`."""
        try:
            return RenderedEmail(
                subject=compiled.subject.render(context),
                html=compiled.html.render(context),
                text=compiled.text.render(context),
                preheader=compiled.preheader_slots.render(context) if compiled.preheader_slots
                else compiled.preheader,
            )
        except jinja2.UndefinedError as exc:
            raise RenderError(self._undefined(compiled.lesson.path, exc),
                              field=exc.field if isinstance(exc, MissingField) else None) from None
        except (jinja2.TemplateError, TypeError, ValueError, AttributeError) as exc:
            raise RenderError(f"{compiled.lesson.path}: error in a {{{{ }}}} placeholder: {exc}") from None

    def _undefined(self, path: Path, exc: jinja2.UndefinedError) -> str:
        """The message, plus the line of the placeholder that names the missing value:
        in the lesson file if it is there, else in a template."""
        message = f"{path}: undefined variable: {exc.message}"
        found = _UNDEFINED_NAME.search(exc.message or "")
        if not found:
            return message
        word = re.compile(rf"\b{re.escape(found.group(1) or found.group(2))}\b")
        candidates = [path, *self._template_files()]
        for candidate in candidates:
            try:
                lines = candidate.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for number, line in enumerate(lines, start=1):
                for span in JINJA_SPAN.findall(line):
                    if word.search(span):
                        where = f"line {number}" if candidate == path else f"{candidate}:{number}"
                        return f"{message}, at {where}: {span}"
        return message

    def _template_files(self) -> list[Path]:
        """Every template file in use: the project's, then the defaults it does not override."""
        files: dict[Path, Path] = {}
        for folder in self.template_dirs:
            for p in sorted(folder.rglob("*")):
                if p.is_file():
                    files.setdefault(p.relative_to(folder), p)
        return list(files.values())

    def render_system(self, template: str, context: dict[str, Any]) -> tuple[str, str]:
        """(html, text) of an email that is not a lesson (opt-in confirmation, "you are
        unsubscribed"): compiled once per template, its `{{ }}` values given per call."""
        generation = self.templates_generation()
        cached = self._system_cache.get(template)
        path = self._template_file(f"{template}.mjml")
        if cached is None or cached[0] != generation:
            common = self._brand()
            mjml_source, spans = protect_spans(self._stage1(f"{template}.mjml", common))
            try:
                html = restore_spans(ascii_html(mjml.mjml2html(mjml_source, fonts={})), spans)
            except ValueError as exc:
                raise RenderError(f"{path}: MJML error: {exc}") from None
            self.compilations += 1
            text = self._stage1(f"{template}.txt", common)
            cached = self._system_cache[template] = (
                generation, self._stage2(self._html_env, html, path),
                self._stage2(self._text_env, text, self._template_file(f"{template}.txt")))
        try:
            return cached[1].render(context), cached[2].render(context)
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{path}: undefined variable: {exc.message}") from None


def _campaign_inputs(campaign: Campaign) -> tuple[Any, ...]:
    """What stage 1 reads from a campaign besides the lesson itself."""
    return (campaign.title, campaign.signoff, campaign.language, len(campaign.lessons), campaign.settings)
