"""Lesson → email, in two stages.

Stage 1, once per (template, lesson): Jinja with `[[ ]]`/`[% %]` delimiters
fills in the lesson, then MRML compiles the MJML to HTML. Stage 2, per
subscriber: the compiled HTML and text are themselves Jinja templates
(`{{ }}`), rendered with autoescape and StrictUndefined. MJML compiles in
milliseconds-ish; a Jinja render of compiled HTML takes microseconds, so this
is what makes thousands of personalised renders per second possible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import mjml
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from sender.campaign import Campaign, Lesson
from sender.errors import DripError
from sender.plaintext import markdown_to_text

# Per-subscriber Jinja that staff write in lessons: kept intact through stage 1.
_JINJA_SPAN = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})", re.S)
_md = MarkdownIt("commonmark").enable("table")


class RenderError(DripError):
    """A template, MJML or variable error, naming the file and line."""


@dataclass(frozen=True)
class CompiledLesson:
    campaign: Campaign
    lesson: Lesson
    subject: jinja2.Template
    html: jinja2.Template
    text: jinja2.Template
    preheader: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    preheader: str


def _protect(text: str) -> tuple[str, list[str]]:
    spans: list[str] = []

    def stash(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"JINJASPAN{len(spans) - 1}X"

    return _JINJA_SPAN.sub(stash, text), spans


def _restore(text: str, spans: list[str]) -> str:
    return re.sub(r"JINJASPAN(\d+)X", lambda m: spans[int(m.group(1))], text)


def escape_keep_jinja(text: str) -> Markup:
    """HTML-escape staff text but leave its `{{ ... }}` spans for stage 2."""
    parts = _JINJA_SPAN.split(text)
    return Markup("".join(p if i % 2 else str(escape(p)) for i, p in enumerate(parts)))


def markdown_to_html(source: str) -> Markup:
    protected, spans = _protect(source)
    return Markup(_restore(_md.render(protected), spans))


def subscriber_context(row: Any) -> dict[str, Any]:
    """What templates see as `subscriber`: missing names stay undefined, so
    `| default("there")` works under StrictUndefined."""
    data: dict[str, Any] = dict(row.fields or {}) if row.fields else {}
    data.update(email=row.email, timezone=row.timezone)
    if row.name:
        data["name"] = row.name
        data["first_name"] = row.name.split()[0]
    return data


class Renderer:
    def __init__(self, templates_dir: Path, settings: Any) -> None:
        self.templates_dir = templates_dir
        self.settings = settings
        self._lesson_env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir),
            block_start_string="[%", block_end_string="%]",
            variable_start_string="[[", variable_end_string="]]",
            comment_start_string="[#", comment_end_string="#]",
            autoescape=jinja2.select_autoescape(["mjml", "html"], default_for_string=False),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        self._html_env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
        self._text_env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
        self._cache: dict[tuple[str, str, str], CompiledLesson] = {}
        self._system_cache: dict[str, tuple[jinja2.Template, jinja2.Template]] = {}
        self.compilations = 0  # MJML compiles done; benchmarks and tests read it

    def compile(self, campaign: Campaign, lesson: Lesson, template: str = "lesson") -> CompiledLesson:
        key = (template, campaign.slug, lesson.key)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._compile(campaign, lesson, template)
        return cached

    def _compile(self, campaign: Campaign, lesson: Lesson, template: str) -> CompiledLesson:
        nxt = campaign.lesson(lesson.position + 1)
        # Staff-written text, raw; the HTML stage escapes it, the text stage doesn't.
        text_values: dict[str, Any] = {
            "campaign_title": campaign.title,
            "subject": lesson.subject,
            "preheader": lesson.preheader,
            "teaser": lesson.teaser if nxt else "",
            "signoff": campaign.signoff if nxt is None else "",
            "postal_address": self.settings.postal_address,
        }
        common = {
            "lesson": lesson,
            "lesson_count": len(campaign.lessons),
            "language": campaign.language,
            "brand_colour": self.settings.brand_colour,
        }
        html_context = {
            **common,
            **{k: escape_keep_jinja(v) for k, v in text_values.items()},
            "references": [escape_keep_jinja(r) for r in lesson.references],
            "body_html": markdown_to_html(lesson.body),
        }
        mjml_file = self.templates_dir / f"{template}.mjml"
        # MRML never sees the {{ }} spans: it would re-escape them in attributes.
        mjml_source, spans = _protect(self._stage1(f"{template}.mjml", html_context))
        try:
            html = _restore(mjml.mjml2html(mjml_source, fonts={}), spans)
        except ValueError as exc:  # fonts={} above: never fetch web fonts
            raise RenderError(f"{mjml_file}: MJML error while rendering {lesson.path.name}: {exc}") from None
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
            html=self._stage2(self._html_env, html, lesson.path),
            text=self._stage2(self._text_env, text, lesson.path),
            preheader=lesson.preheader,
        )

    def render_system(self, template: str, context: dict[str, Any]) -> tuple[str, str]:
        """(html, text) of an email that is not a lesson (opt-in confirmation): compiled
        once per template, its `{{ }}` values given per call."""
        cached = self._system_cache.get(template)
        if cached is None:
            common = {"brand_colour": self.settings.brand_colour, "language": "en",
                      "postal_address": self.settings.postal_address}
            mjml_source, spans = _protect(self._stage1(f"{template}.mjml", common))
            try:
                html = _restore(mjml.mjml2html(mjml_source, fonts={}), spans)
            except ValueError as exc:
                raise RenderError(f"{self.templates_dir / template}.mjml: MJML error: {exc}") from None
            path = self.templates_dir / f"{template}.mjml"
            text = self._stage1(f"{template}.txt", common)
            cached = self._system_cache[template] = (self._stage2(self._html_env, html, path),
                                                     self._stage2(self._text_env, text, path))
        try:
            return cached[0].render(context), cached[1].render(context)
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{self.templates_dir / template}.mjml: undefined variable: "
                              f"{exc.message}") from None

    def _stage1(self, name: str, context: dict[str, Any]) -> str:
        try:
            template = self._lesson_env.get_template(name)
            return template.render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename or name}:{exc.lineno}: template error: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{self.templates_dir / name}: undefined variable: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"{self.templates_dir}: template {exc.name!r} not found") from None

    @staticmethod
    def _stage2(env: jinja2.Environment, source: str, lesson_path: Path) -> jinja2.Template:
        try:
            return env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{lesson_path}: template error in a {{{{ }}}} placeholder: "
                              f"{exc.message}") from None

    def render(self, compiled: CompiledLesson, context: dict[str, Any]) -> RenderedEmail:
        """Per subscriber: `subscriber`, `unsubscribe_url`, `manage_url`, `next_lesson_day`."""
        try:
            return RenderedEmail(
                subject=compiled.subject.render(context),
                html=compiled.html.render(context),
                text=compiled.text.render(context),
                preheader=compiled.preheader,
            )
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{compiled.lesson.path}: undefined variable: {exc.message}") from None
