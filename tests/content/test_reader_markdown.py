"""The Markdown reader on the shapes real blog posts come in (each a minimal
article of its own): front matter other than YAML, titles that are not the
first block, reference links, footnotes anywhere, raw HTML pictures, site
generator template tags and bylines."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from sender.content import ContentError, split_article
from sender.content.document import Callout, Document, Figure, Heading, ListBlock, Paragraph
from sender.content.readers.markdown import read_markdown


def read(text: str) -> Document:
    return read_markdown(text)


def texts(doc: Document) -> list[str]:
    out: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Heading | Paragraph | Callout):
            out.append(block.text)
        elif isinstance(block, ListBlock):
            out.extend(block.items)
    return out


def headings(doc: Document) -> list[str]:
    return [b.text for b in doc.blocks if isinstance(b, Heading)]


def figures(doc: Document) -> list[Figure]:
    return [b for b in doc.blocks if isinstance(b, Figure)]


SECTIONS = "## First part\n\nText of the first part.\n\n## Second part\n\nText of the second part.\n"


# -- the title ---------------------------------------------------------------------------


def test_title_heading_after_a_breadcrumb_line_is_the_title() -> None:
    doc = read(f"Blog › Gardening\n\n# Growing Tomatoes\n\nTomatoes like sun, they say.\n\n{SECTIONS}")
    assert doc.title == "Growing Tomatoes"
    assert "Growing Tomatoes" not in headings(doc)
    assert headings(doc) == ["First part", "Second part"]
    assert "Blog › Gardening" in doc.chrome
    assert not any("Gardening" in text for text in texts(doc))


def test_only_top_level_heading_after_an_introduction_is_the_title() -> None:
    doc = read(f"A few words before the title, as a teaser.\n\n# Growing Tomatoes\n\n{SECTIONS}")
    assert doc.title == "Growing Tomatoes"
    assert headings(doc) == ["First part", "Second part"]
    assert texts(doc)[0] == "A few words before the title, as a teaser."


def test_a_lone_heading_after_the_text_is_a_section_not_the_title() -> None:
    doc = read("Tomatoes like sun, and they like it a lot.\n\n# Closing words\n\nWater them often.\n")
    assert doc.title == ""  # no title in the article (read_source then names it after a sentence)
    assert headings(doc) == ["Closing words"]


def test_first_heading_repeating_the_front_matter_title_is_dropped() -> None:
    doc = read("---\ntitle: Growing Tomatoes\n---\n\nJane Doe\n\n# Growing tomatoes!\n\n# One\n\nText.\n\n"
               "# Two\n\nMore text.\n")  # fmt: skip
    assert doc.title == "Growing Tomatoes"
    assert headings(doc) == ["One", "Two"]
    assert "Jane Doe" in doc.chrome


def test_a_later_section_named_like_the_title_is_kept() -> None:
    doc = read(f"---\ntitle: Second part\n---\n\nIntro sentence here.\n\n{SECTIONS}")
    assert doc.title == "Second part"
    assert headings(doc) == ["First part", "Second part"]


def test_bold_markup_around_a_heading_is_not_in_its_text() -> None:
    doc = read("# Title\n\n## __Wrapped in bold__ \n\nText.\n\n## **Partly** bold\n\nText.\n")
    assert headings(doc) == ["Wrapped in bold", "**Partly** bold"]


# -- front matter ------------------------------------------------------------------------


def test_toml_front_matter_gives_the_title_and_is_not_emailed() -> None:
    front = '+++\ntitle = "Toml Title"\ndate = 2020-01-02T00:00:00Z\ndraft = false\n+++\n'
    doc = read(f"{front}\nIntro.\n\n{SECTIONS}")
    assert doc.title == "Toml Title"
    body = "\n".join(texts(doc))
    assert "date" not in body and "draft" not in body and "+++" not in body
    assert doc.blocks[0].line == 7  # line numbers stay true to the file


@pytest.mark.parametrize(
    "front",
    [
        ';;;\n{"title": "Json Title", "draft": false}\n;;;\n',  # python-frontmatter's fences
        '{\n  "title": "Json Title",\n  "draft": false\n}\n',  # Hugo's bare object
    ],
)
def test_json_front_matter_gives_the_title(front: str) -> None:
    doc = read(f"{front}\nIntro.\n\n{SECTIONS}")
    assert doc.title == "Json Title"
    assert not any("draft" in text for text in texts(doc))


def test_front_matter_with_windows_line_ends() -> None:
    doc = read("---\r\ntitle: Written on Windows\r\n---\r\n\r\nBody text.\r\n")
    assert doc.title == "Written on Windows"
    assert texts(doc) == ["Body text."]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('+++\ntitle = "Fine"\ndate = = 2\n+++\n\nBody.\n', "line 3: the TOML front matter"),
        ("---\ntitle: Fine\nlist: [unclosed\n---\n\nBody.\n", "line 4: the YAML front matter"),
        ('+++\ntitle = "Never closed"\n\nBody.\n', "line 1: the TOML front matter"),
    ],
)
def test_invalid_front_matter_is_an_error_naming_the_line(text: str, where: str) -> None:
    with pytest.raises(ContentError, match=where):
        read(text)


def test_front_matter_canonical_url_is_the_base_for_relative_images() -> None:
    front = "---\ntitle: T\ncanonical_url: https://blog.example.org/posts/t/\n---\n"
    doc = read(f"{front}\n![A chart](chart.png)\n")
    assert doc.base_url == "https://blog.example.org/posts/t/"
    assert figures(doc) == [Figure("A chart", "chart.png", line=6)]


# -- links and footnotes ---------------------------------------------------------------


def test_reference_links_become_inline_links_and_definitions_are_not_emailed() -> None:
    doc = read(
        "# Title\n\nRead [the guide][g], [Docs][] and [home].\nA line right above a definition.\n"
        ' [home]: https://example.org/ "Home page"\n\n'
        "- an item with [the guide][G]\n\n"
        "[g]: https://example.org/guide\n[docs]: <https://example.org/a b>\n"
    )
    assert texts(doc) == [
        "Read [the guide](https://example.org/guide), [Docs](https://example.org/a%20b) and "
        '[home](https://example.org/ "Home page"). A line right above a definition.',
        "an item with [the guide](https://example.org/guide)",
    ]


def test_links_to_places_on_the_page_become_their_text() -> None:
    doc = read(
        '# Title\n\n- [Setup](#setup)\n- <a href="#usage">Usage</a>, [elsewhere](https://example.org/#x)\n'
    )
    assert texts(doc) == ["Setup", "Usage, [elsewhere](https://example.org/#x)"]


def test_an_undefined_reference_stays_as_written() -> None:
    doc = read("# Title\n\nArrays like [0] and [x][nowhere] are text.\n")
    assert texts(doc) == ["Arrays like [0] and [x][nowhere] are text."]


def test_footnotes_defined_mid_text_with_odd_labels_and_continuations() -> None:
    doc = read(
        "# Title\n\n## One\n\nFirst claim[^11] and second[^a].\n\n"
        " [^a]: Note a, with [a link](https://example.org/a)\n    and a continued line.\n"
        " [^11]: Note eleven.\n\n"
        "## Two\n\nThird claim[^3] and a lost one[^gone].\n\n[^3]: Note three.\n"
    )
    assert doc.references == [
        "Note eleven.",
        "Note a, with a link (https://example.org/a) and a continued line.",
        "Note three.",
    ]
    assert texts(doc) == ["One", "First claim[^1] and second[^2].", "Two",
                          "Third claim[^3] and a lost one[^4]."]  # fmt: skip


def test_each_lesson_gets_the_notes_it_cites(tmp_path: Path) -> None:
    words = " ".join(["word"] * 200)
    article = tmp_path / "notes.md"
    article.write_text(
        f"# Title\n\n## One\n\n{words} claim[^z].\n\n[^q]: Cited in two.\n\n"
        f"## Two\n\n{words} claim[^q].\n\n[^z]: Cited in one.\n",
        "utf-8",
    )
    report = split_article(article, tmp_path / "campaigns" / "notes")
    assert [lesson.references for lesson in report.lessons] == [["Cited in one."], ["Cited in two."]]


# -- pictures --------------------------------------------------------------------------


def test_raw_html_image_blocks_become_figures() -> None:
    doc = read(
        "# Title\n\n"
        '<p align="center"><img src="https://example.org/a.png" alt="Centred"></p>\n\n'
        '<figure>\n<img src="/img/b.jpg" alt="alt text">\n<figcaption>The caption</figcaption>\n</figure>\n\n'
        '<div align="center">\n<a href="https://example.org/c.png"><img src="https://example.org/c.png"></a>\n'
        '<a href="https://example.org/d.png"><img src="https://example.org/d.png"></a>\n</div>\n\n'
        "Text after.\n"
    )
    assert [(f.caption, f.src) for f in figures(doc)] == [
        ("Centred", "https://example.org/a.png"),
        ("The caption", "/img/b.jpg"),
        ("", "https://example.org/c.png"),
        ("", "https://example.org/d.png"),
    ]


def test_other_raw_html_becomes_text_or_a_note() -> None:
    doc = read(
        '# Title\n\n<div class="box">\n'
        'Some <b>bold</b> text and <a href="https://example.org">a link</a>.\n</div>\n\n'
        '<script async src="https://example.org/embed.js"></script>\n\n'
        '<a name="anchor"></a>\n## Section\n\nText.\n'
    )
    assert texts(doc) == ["Some **bold** text and [a link](https://example.org).", "Section", "Text."]
    assert any("<script>" in note for note in doc.notes)


def test_raw_html_side_by_side_spans_keep_their_words_apart() -> None:
    doc = read(
        '# Title\n\n<div class="card"><span class="label">Author</span><span>Dana Whitfield</span>'
        "<span>Bake hot.</span><span>Rest long.</span> <b>W</b>eigh it.</div>\n"
    )
    assert texts(doc) == ["Author Dana Whitfield Bake hot. Rest long. **W**eigh it."]


def test_embedded_video_with_a_protocol_relative_address() -> None:
    doc = read('# Title\n\n<iframe src="//www.youtube.com/embed/abc"></iframe>\n\nText.\n')
    assert [(f.src, f.kind) for f in figures(doc)] == [("https://www.youtube.com/embed/abc", "video")]


def test_relative_image_paths_are_kept() -> None:
    doc = read("# Title\n\n![A diagram](./diagram.png)\n\n[![Linked](/img/x.gif)](https://example.org)\n")
    found = [(f.caption, f.src) for f in figures(doc)]
    assert found == [("A diagram", "./diagram.png"), ("Linked", "/img/x.gif")]


# -- template tags ---------------------------------------------------------------------


def renders(doc: Document) -> None:
    """Every text of the document compiles and renders in the lesson renderer's Jinja."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    context = {"subscriber": {"first_name": "Ann"}}
    for text in [*texts(doc), *doc.references, *(f.caption for f in figures(doc))]:
        env.from_string(text).render(context)


def test_liquid_tags_become_markdown_or_a_note() -> None:
    doc = read(
        "# Title\n\nSee [my older post]({% post_url 2019-01-02-older %}) for more.\n\n"
        "{% include newsletter.html %}\n\n"
        "{% imgcaption center /images/pic.jpeg 400 %}A caption that\nruns on [with a link][l]\n\n"
        " [l]: https://example.org/l\n\n{% endimgcaption %}\n\n"
        "{% highlight python %}\nprint({{ 'x' }})\n{% endhighlight %}\n\n"
        "![Logo]({{ site.baseurl }}/img/logo.png)\n"
    )
    assert texts(doc)[0] == "See my older post for more."
    assert [(f.caption, f.src) for f in figures(doc)] == [
        ("A caption that runs on with a link", "/images/pic.jpeg"),
        ("Logo", "/img/logo.png"),
    ]
    assert "```python\nprint({% raw %}{{ 'x' }}{% endraw %})\n```" in texts(doc)
    assert any("include" in note and "line 5" in note for note in doc.notes)
    assert not any("{% include" in text or "imgcaption" in text for text in texts(doc))
    renders(doc)


def test_links_to_other_pages_of_the_site_become_their_text() -> None:
    doc = read(
        "---\ntitle: Course\n---\n\nSee [the intro][intro], [part two](@/course/part-two.md) and "
        '[part three]({{< relref "part-three.md" >}}); this is {{ page.title }}.\n\n'
        "[intro]: {% link _posts/2020-01-01-intro.md %}\n"
    )
    assert texts(doc) == ["See the intro, part two and part three; this is Course."]
    assert doc.notes == []


def test_hugo_and_zola_shortcodes_become_figures_or_a_note() -> None:
    doc = read(
        '+++\ntitle = "T"\n+++\n\nIntro text.\n\n'
        '{{< figure src="/img/a.jpg" caption="Hugo caption" >}}\n\n'
        '{{ youtube(id="dQw4w9WgXcQ") }}\n\n'
        '{{ asciinema(id="demo", width="94") }}\n\n'
        "{{< notice warning >}}\nInside a box.\n{{< /notice >}}\n"
    )
    assert [(f.caption, f.src, f.kind) for f in figures(doc)] == [
        ("Hugo caption", "/img/a.jpg", "image"),
        ("", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "video"),
    ]
    assert texts(doc) == ["Intro text.", "Inside a box."]
    assert any("asciinema" in note for note in doc.notes)
    assert any("notice" in note for note in doc.notes)
    renders(doc)


def test_lesson_placeholders_survive_and_code_samples_stay_literal() -> None:
    doc = read(
        '# Title\n\nHi {{ subscriber.first_name | default("there") }}, welcome.\n\n'
        "{% if subscriber.first_name %}Named.{% else %}Unnamed.{% endif %}\n\n"
        "Write `{{ page.title }}` in a layout, or this:\n\n"
        "```jsx\n<Box style={{opacity: 1}} /> {#\n```\n"
    )
    assert texts(doc) == [
        'Hi {{ subscriber.first_name | default("there") }}, welcome.',
        "{% if subscriber.first_name %}Named.{% else %}Unnamed.{% endif %}",
        "Write `{% raw %}{{ page.title }}{% endraw %}` in a layout, or this:",
        '```jsx\n<Box style={% raw %}{{opacity: 1}}{% endraw %} /> {{ "{" }}#\n```',
    ]
    renders(doc)


def test_lone_template_openers_in_text_are_printed_literally() -> None:
    doc = read("# Title\n\nType {{ to open a tag, and {% for a block.\n")
    (text,) = texts(doc)
    assert text.count("{{") == text.count("}}")  # lint checks placeholders are balanced
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    assert env.from_string(text).render() == "Type {{ to open a tag, and {% for a block."


# -- bylines ---------------------------------------------------------------------------


def test_a_byline_before_the_first_paragraph_is_chrome() -> None:
    doc = read(
        "---\ntitle: T\n---\n"
        "[Jane Doe](https://example.org/@jane)\n\n[Follow](https://example.org/follow)\n\n"
        "7 min read · Mar 3, 2023\n\n--\n\n"
        f"The first real paragraph starts the article, and it is a sentence.\n\n{SECTIONS}"
    )
    assert texts(doc)[0].startswith("The first real paragraph")
    assert doc.chrome[:3] == ["Jane Doe", "Follow", "7 min read · Mar 3, 2023"]


def test_one_short_opening_line_that_reads_as_text_is_kept() -> None:
    line = "_See also: [a related post](https://example.org/r)_"
    doc = read(f"---\ntitle: T\n---\n\n{line}\n\nThe article.\n\n{SECTIONS}")
    assert texts(doc)[0] == line
