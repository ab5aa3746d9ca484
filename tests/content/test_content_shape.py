"""Rules shared by every format: template syntax in articles, captions, back matter."""

from __future__ import annotations

from pathlib import Path

import jinja2

from sender.content import split_article
from sender.content.document import Document, Figure, Heading, Paragraph
from sender.content.lesson_markdown import body_markdown
from sender.content.splitter import split_document
from sender.content.structure import shape

PROSE = "Templates are handy when a page repeats itself across a site. " * 12


def test_template_syntax_in_any_format_is_made_literal(tmp_path: Path) -> None:
    html = tmp_path / "post.html"
    html.write_text(
        "<html><head><title>Jinja Tips</title></head><body><article><h1>Jinja Tips</h1>"
        f"<p>{PROSE}</p><h2>Loops</h2><p>{PROSE}</p><pre>{{% for item in items %}}{{{{ item.name }}}}"
        f"{{% endfor %}}</pre><h2>Filters</h2><p>{PROSE} Write {{{{ name | upper }}}} to shout.</p>"
        "</article></body></html>"
    )
    text = tmp_path / "post.txt"
    text.write_text(
        f"Jinja Tips\n\n{PROSE}\n\nLoops\n\n{PROSE} Use {{% for x in y %}} here.\n\nEnd\n\n{PROSE}\n"
    )
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    for article, literal in ((html, "{{ item.name }}"), (text, "{% for x in y %}")):
        report = split_article(article, tmp_path / article.stem / article.suffix[1:])
        rendered = [
            env.from_string(path.read_text("utf-8").split("---\n", 2)[2]).render(subscriber={})  # no raise
            for path in report.lesson_files
        ]
        assert any(literal in lesson for lesson in rendered), rendered


def test_lesson_placeholders_stay_live() -> None:
    doc = shape(Document("T", [Paragraph('Hi {{ subscriber.first_name | default("there") }}, {{ price }}.')]))
    text = doc.blocks[0].text  # type: ignore[union-attr]
    assert '{{ subscriber.first_name | default("there") }}' in text
    rendered = jinja2.Environment().from_string(text).render(subscriber={"first_name": "Ana"})
    assert rendered == "Hi Ana, {{ price }}."


def test_a_figure_caption_is_shown_under_the_picture() -> None:
    figure = Figure("A bed", "https://example.org/bed.png", legend="Eight hours, every night.")
    markdown = body_markdown([Paragraph("Sleep."), figure])
    assert "![A bed](https://example.org/bed.png)\n\n*Eight hours, every night.*" in markdown


def test_back_matter_closes_the_last_lesson() -> None:
    words = Paragraph(" ".join(["word"] * 300) + ".")
    doc = Document(
        "A Standard",
        [words, Heading(1, "Terms"), words, Heading(1, "Format"), words,
         Heading(1, "Acknowledgements"), words, Heading(1, "Authors' Addresses"), words,
         Heading(1, "Full Copyright Statement"), words],
    )  # fmt: skip
    plan = split_document(doc)
    assert [lesson.subject for lesson in plan.lessons] == ["A Standard", "Terms", "Format"]
    last = [b.text for b in plan.lessons[-1].blocks if isinstance(b, Heading)]
    assert last == ["Acknowledgements", "Authors' Addresses", "Full Copyright Statement"]
