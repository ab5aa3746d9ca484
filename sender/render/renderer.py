"""The Renderer: stage 1 (Jinja with `[[ ]]`/`[% %]`, then MRML) once per lesson and
template, stage 2 per subscriber, and the cache of compiled lessons (see `sender.render`)."""

from __future__ import annotations

import dataclasses
import os
import re
import time
import traceback
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import mjml

from sender.campaign import UTM_KEYS, Campaign, Lesson
from sender.defaults import TEMPLATES as DEFAULT_TEMPLATES
from sender.errors import DripError
from sender.plaintext import JINJA_SPAN, markdown_to_text, protect_spans, restore_spans
from sender.render.email_html import ascii_html, tag_links
from sender.render.markdown import escape_keep_jinja, markdown_blocks
from sender.render.slots import UNDEFINED_NAME, FieldUndefined, MissingField, SlotTemplate, SubscriberFields


class RenderError(DripError):
    """A template, MJML or variable error, naming the file and line. `field` is set when
    the cause is a subscriber field this subscriber lacks (their data, not the lesson)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


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
            undefined=FieldUndefined,
            keep_trailing_newline=True,
        )
        self._html_env = jinja2.Environment(autoescape=True, undefined=FieldUndefined)
        self._text_env = jinja2.Environment(autoescape=False, undefined=FieldUndefined)
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
        found = UNDEFINED_NAME.search(exc.message or "")
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
