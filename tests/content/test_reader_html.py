"""The HTML reader on small pages of our own, one behaviour per test.

Every page is wrapped in the same site furniture (a menu, a sidebar with a
newsletter widget, a footer) so the main-content extraction has real
chrome to tell from the article, as on a saved blog page.
"""

from __future__ import annotations

from sender.content.document import Block, Callout, Document, Figure, Heading, ListBlock, Paragraph
from sender.content.readers.html import read_html

# Article prose long enough for an extractor to see an article (not a stub).
PROSE = [
    "Sourdough starts with a culture of wild yeast and lactic bacteria that you keep alive "
    "with regular feedings of flour and water, and it rewards patience more than skill.",
    "A young starter smells sharp and rises unevenly, so give it a week of daily feeding at "
    "room temperature before you judge it, and keep notes on how high it climbs in the jar.",
    "Once the starter doubles within six hours of a feeding, it is strong enough to raise a "
    "loaf, and you can move it to the refrigerator between bakes to slow it down.",
    "Hydration changes everything about the crumb: a wetter dough gives an open, glossy crumb "
    "but needs stretching and folding, while a stiffer dough is easier to shape on the bench.",
    "Bake in a preheated covered pot for the first twenty minutes so the steam keeps the crust "
    "soft while the loaf expands, then uncover it to let the crust colour and crackle.",
    "Let the loaf cool for at least an hour before slicing, because the crumb is still setting "
    "and cutting it early leaves a gummy texture that no amount of toasting fixes.",
]

SITE_MENU = (
    '<header class="site-header"><a href="/">Crumb &amp; Crust</a>'
    '<nav><ul><li><a href="/">Home</a></li><li><a href="/recipes">Recipes</a></li>'
    '<li><a href="/about">About us</a></li></ul></nav></header>'
)
SIDEBAR = (
    '<aside id="sidebar"><div class="widget"><h3>Join the baking club</h3>'
    "<p>Weekly recipes delivered to your inbox every Friday morning.</p>"
    '<form><input type="email" placeholder="Email"><button>Join</button></form></div>'
    '<div class="widget"><h3>Popular recipes</h3><ul><li><a href="/r/rye">Dark rye loaf</a></li>'
    '<li><a href="/r/focaccia">Rosemary focaccia</a></li></ul></div></aside>'
)
FOOTER = '<footer class="site-footer"><p>© 2024 Crumb &amp; Crust. All rights reserved.</p></footer>'


def _p(*indexes: int) -> str:
    return "".join(f"<p>{PROSE[i]}</p>" for i in indexes)


def page(
    article: str,
    *,
    head: str = "",
    wrapper: str = '<div class="layout">{}</div>',
    holder: str = '<main><article class="post">{}</article></main>',
) -> str:
    body = wrapper.format(holder.format(article) + SIDEBAR)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head>"
        f"<body>{SITE_MENU}{body}{FOOTER}</body></html>"
    )


def _texts(doc: Document) -> str:
    out: list[str] = []
    for block in doc.blocks:
        match block:
            case Heading(text=text) | Paragraph(text=text) | Callout(text=text):
                out.append(text)
            case ListBlock(items=items):
                out.extend(items)
            case Figure(caption=caption):
                out.append(caption)
    return "\n".join(out)


def _headings(doc: Document) -> list[tuple[int, str]]:
    return [(b.level, b.text) for b in doc.blocks if isinstance(b, Heading)]


def _of(doc: Document, kind: type[Block]) -> list[Block]:
    return [b for b in doc.blocks if isinstance(b, kind)]


# --------------------------------------------------------------------------- the article and its chrome


def test_layout_wrapper_whose_class_mentions_sidebar_keeps_the_article() -> None:
    html = page(
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1) + "<h2>Feeding</h2>" + _p(2, 3),
        wrapper='<div class="site can-stick has-sidebar"><div class="with-sidebar">{}</div></div>',
        holder='<div class="primary"><div class="inner">{}</div></div>',  # no <article>, no <main>
    )
    doc = read_html(html, "")
    text = _texts(doc)
    assert doc.title == "Baking Sourdough at Home"
    assert PROSE[0][:40] in text and PROSE[3][:40] in text
    assert "Weekly recipes delivered" not in text and "Dark rye loaf" not in text


def test_chrome_inside_the_article_container_is_removed() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>"
        '<p class="byline">By Dana Whitfield · March 4, 2024 · 6 min read</p>'
        '<div class="share"><a href="https://facebook.com/sharer">Share on Facebook</a>'
        '<a href="https://twitter.com/intent">Tweet this</a></div>'
        + _p(0, 1)
        + "<h2>Feeding the Starter</h2>"
        + _p(2, 3)
        + "<h2>Baking the Loaf</h2>"
        + _p(4, 5)
        + '<div class="cta"><h3>Get our free proofing chart</h3><p>Enter your address below.</p>'
        '<form><input type="email"><button>Send it</button></form></div>'
        '<div class="more"><h3>You might also enjoy</h3><ul>'
        '<li><a href="/r/bagels">Chewy overnight bagels with a crackly crust</a></li>'
        '<li><a href="/r/pizza">Neapolitan pizza dough in a home oven</a></li></ul></div>'
        # a comment thread as WordPress themes write it
        '<div id="comments" class="comments-area"><h2 class="comments-title">4 responses</h2>'
        '<ol class="comment-list"><li class="comment"><article class="comment-body">'
        "<p>Loved this, my starter finally doubled after I moved it near the oven!</p></article></li>"
        '<li class="comment"><article class="comment-body">'
        "<p>Which flour brand do you use for the first feeding of the week?</p></article></li></ol></div>"
    )
    doc = read_html(page(article), "")
    text = _texts(doc)
    for chrome in ("Dana Whitfield", "Share on Facebook", "proofing chart", "Enter your address",
                   "overnight bagels", "You might also enjoy", "4 responses", "moved it near the oven",
                   "Home", "About us", "All rights reserved"):  # fmt: skip
        assert chrome not in text, f"chrome {chrome!r} reached the document"
    assert _headings(doc) == [(1, "Feeding the Starter"), (1, "Baking the Loaf")]
    assert PROSE[5][:40] in text
    assert any("Share on Facebook" in c for c in doc.chrome)  # reported, not emailed


# --------------------------------------------------------------------------- titles and headings


def test_title_in_h2_over_h3_sections() -> None:
    article = (
        "<h2>Baking Sourdough at Home</h2>"
        + _p(0, 1)
        + "<h3>Feeding</h3>"
        + _p(2, 3)
        + "<h3>Baking</h3>"
        + _p(4, 5)
    )
    doc = read_html(page(article), "")
    assert doc.title == "Baking Sourdough at Home"
    headings = _headings(doc)
    assert [text for _, text in headings] == ["Feeding", "Baking"]
    assert headings[0][0] == headings[1][0]  # both sections keep one level


def test_title_prefers_the_articles_own_heading_named_by_the_page_title() -> None:
    head = "<title>Baking Sourdough at Home | Crumb &amp; Crust</title>"
    article = (
        "<h2>Baking Sourdough at Home</h2>"
        + _p(0, 1)
        + "<h2>Feeding</h2>"
        + _p(2, 3)
        + "<h2>Baking</h2>"
        + _p(4, 5)
    )
    doc = read_html(page(article, head=head), "")
    assert doc.title == "Baking Sourdough at Home"
    assert [text for _, text in _headings(doc)] == ["Feeding", "Baking"]


def test_page_title_without_the_site_name_when_no_heading_matches() -> None:
    head = "<title>Baking Sourdough at Home | Crumb &amp; Crust</title>"
    doc = read_html(page(_p(0, 1, 2) + "<h2>Feeding</h2>" + _p(3, 4), head=head), "")
    assert doc.title == "Baking Sourdough at Home"


def test_heading_permalinks_and_edit_links_are_dropped() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1)
        + '<h2>Feeding<a class="headerlink" href="#feeding">¶</a></h2>' + _p(2, 3)
        + '<h2><span>Baking</span><span class="edit">[<a href="/w/edit?s=2">edit</a>]</span></h2>' + _p(4, 5)
    )  # fmt: skip
    doc = read_html(page(article), "")
    assert [text for _, text in _headings(doc)] == ["Feeding", "Baking"]


# --------------------------------------------------------------------------- references


def test_notes_heading_over_prose_does_not_swallow_the_rest() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0)
        + "<h2>Notes</h2><p>These notes come from two years of weekend baking in a cold kitchen.</p>" + _p(1)
        + "<h2>Feeding</h2>" + _p(2, 3) + "<h2>Baking</h2>" + _p(4, 5)
    )  # fmt: skip
    doc = read_html(page(article), "")
    assert doc.references == []
    assert [text for _, text in _headings(doc)] == ["Notes", "Feeding", "Baking"]
    assert "two years of weekend baking" in _texts(doc) and PROSE[5][:40] in _texts(doc)


def test_references_heading_over_a_citation_list_is_the_reference_list() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>"
        f"<p>{PROSE[0]}<sup>1</sup></p>" + _p(1)
        + "<h2>Feeding</h2>" + f"<p>{PROSE[2]}<sup>2</sup></p>" + _p(3)
        + "<h2>Sources</h2><ol>"
        "<li>Gänzle, M. (2014). Lactic metabolism revisited. Food Microbiology, 37, 2-10.</li>"
        "<li>De Vuyst, L. et al. (2017). The sourdough microflora. J. Appl. Microbiol., 122(3).</li>"
        "</ol>"
        + "<h2>Baking</h2>" + _p(4, 5)
    )  # fmt: skip
    doc = read_html(page(article), "")
    assert [r.split(",")[0] for r in doc.references] == ["Gänzle", "De Vuyst"]
    assert [text for _, text in _headings(doc)] == ["Feeding", "Baking"]  # the emptied heading goes
    assert "[^1]" in _texts(doc) and "[^2]" in _texts(doc)
    assert PROSE[5][:40] in _texts(doc)  # what follows the list stays


def test_footnotes_container_with_paragraph_entries() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>"
        f'<p>{PROSE[0]}<sup><a href="#fn22" id="ref22">22</a></sup></p>' + _p(1)
        + "<h2>Feeding</h2>" + f'<p>{PROSE[2]}<sup><a href="#fn23" id="ref23">23</a></sup></p>' + _p(3, 4, 5)
        + '<div class="footnotes"><hr>'
        '<p id="fn22"><a href="#ref22">22.</a> Calvel, R. (2001). The Taste of Bread. Aspen.</p>'
        '<p id="fn23"><a href="#ref23">23.</a> '
        "Hamelman, J. (2004). Bread: A Baker’s Book of Techniques. Wiley.</p>"
        "</div>"
    )  # fmt: skip
    doc = read_html(page(article), "")
    assert doc.references == [
        "Calvel, R. (2001). The Taste of Bread. Aspen.",
        "Hamelman, J. (2004). Bread: A Baker’s Book of Techniques. Wiley.",
    ]
    text = _texts(doc)
    assert f"{PROSE[0][-20:]}[^1]" in text and "[^2]" in text  # numbered by the note they point at
    assert "[^22]" not in text and "Calvel" not in text


# --------------------------------------------------------------------------- inline content


def test_links_bold_and_images_directly_inside_a_div_are_kept() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1)
        + '<div>Use a <a href="https://example.org/scale">kitchen scale</a> and '
        "<strong>weigh the water</strong>, "
        "because cups lie about flour and a loaf is only as good as its ratios. "
        '<img src="https://example.org/img/scale.jpg" alt="A scale"></div>' + _p(2, 3)
    )  # fmt: skip
    doc = read_html(page(article), "")
    text = _texts(doc)
    assert "[kitchen scale](https://example.org/scale)" in text
    assert "**weigh the water**" in text
    assert Figure("A scale", "https://example.org/img/scale.jpg", "image") in [
        Figure(f.caption, f.src, f.kind) for f in _of(doc, Figure) if isinstance(f, Figure)
    ]


def test_side_by_side_elements_keep_their_words_apart() -> None:
    # The stylesheet keeps a caption, its credit label and the name apart; the markup does not.
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1)
        + '<figure><img src="https://cdn.example/crumb.jpg">'
        "<figcaption><span>An open crumb after a long proof.</span>"
        '<span class="credit"><span class="label">Photo</span><span>Dana Whitfield</span></span>'
        "</figcaption></figure>"
        + '<p>Bake it hot. <span class="aside">Steam</span> <span>helps.</span>'
        "<span>Then</span> let it rest.</p>"
        + '<h2><span class="number">2</span><span>Shaping</span></h2>' + _p(2, 3)
        + '<h2><span class="number">3</span><span>Baking</span></h2>' + _p(4, 5)
    )  # fmt: skip
    doc = read_html(page(article), "")
    captions = [f.caption for f in _of(doc, Figure) if isinstance(f, Figure)]
    assert captions == ["An open crumb after a long proof. Photo Dana Whitfield"]
    assert "Bake it hot. Steam helps. Then let it rest." in _texts(doc)
    assert [text for _, text in _headings(doc)] == ["2 Shaping", "3 Baking"]


def test_a_word_split_across_inline_tags_stays_one_word_and_in_the_article() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1)
        + "<p><b>W</b>eigh the flour, un<em>believ</em>able as it sounds, and mind the "
        "H<sub>2</sub>O: O'<b>B</b>rien's rule is one gram of salt per fifty of flour, "
        "and the <span>dough</span><span>hook</span> stays in the drawer.</p>"
        + _p(2, 3)
    )  # fmt: skip
    text = _texts(read_html(page(article), ""))
    assert "**W**eigh the flour, un*believ*able as it sounds" in text
    assert "H2O: O'**B**rien's rule" in text
    assert "the doughhook stays" in text  # two small letters meeting: one word for all the reader knows


def test_quote_holding_a_list_keeps_the_list() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1)
        + "<blockquote><p>The baker's rules:</p>"
        "<ul><li>feed daily</li><li>weigh everything</li></ul></blockquote>"
        + _p(2, 3)
    )  # fmt: skip
    doc = read_html(page(article), "")
    quotes = [b for b in doc.blocks if isinstance(b, Callout)]
    assert quotes and "- feed daily\n- weigh everything" in quotes[0].text


# --------------------------------------------------------------------------- tables


def test_data_table_becomes_a_markdown_table() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1)
        + "<table><thead><tr><th>Flour</th><th>Water</th></tr></thead>"
        "<tbody><tr><td>500 g</td><td>350 g</td></tr>"
        "<tr><td>1 kg</td><td>700 | 750 g</td></tr></tbody></table>"
        + _p(2, 3)
    )  # fmt: skip
    doc = read_html(page(article), "")
    tables = [b.text for b in doc.blocks if isinstance(b, Paragraph) and b.text.startswith("|")]
    assert tables == ["| Flour | Water |\n| --- | --- |\n| 500 g | 350 g |\n| 1 kg | 700 \\| 750 g |"]


def test_layout_table_is_walked_as_content() -> None:
    article = (
        "<table><tr><td><h1>Baking Sourdough at Home</h1>" + _p(0, 1) + "<h2>Feeding</h2>" + _p(2, 3)
        + "</td></tr><tr><td><h2>Baking</h2>" + _p(4, 5) + "</td></tr></table>"
    )  # fmt: skip
    doc = read_html(page(article), "")
    assert doc.title == "Baking Sourdough at Home"
    assert [text for _, text in _headings(doc)] == ["Feeding", "Baking"]
    assert PROSE[4][:40] in _texts(doc)


def test_code_sample_in_a_table_stays_a_code_block() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1)
        + '<table class="highlight"><tr><td class="gutter"><pre>1\n2</pre></td>'
        '<td class="code"><pre>ratio = water / flour\nprint(f"{ratio:.0%}")</pre></td></tr></table>'
        + _p(2, 3)
    )  # fmt: skip
    doc = read_html(page(article), "")
    code = [b.text for b in doc.blocks if isinstance(b, Paragraph) and b.text.startswith("```")]
    assert code == ['```\nratio = water / flour\nprint(f"{ratio:.0%}")\n```']


# --------------------------------------------------------------------------- pictures


def test_relative_image_is_kept_with_the_canonical_url_as_base() -> None:
    head = '<link rel="canonical" href="https://bakery.example/blog/sourdough">'
    article = (
        "<h1>Baking Sourdough at Home</h1>"
        + _p(0, 1)
        + '<figure><img src="img/crumb.jpg" alt="Open crumb"></figure>'
        + _p(2)
    )
    doc = read_html(page(article, head=head), "")
    assert doc.base_url == "https://bakery.example/blog/sourdough"
    assert [(f.src, f.caption) for f in _of(doc, Figure) if isinstance(f, Figure)] == [
        ("img/crumb.jpg", "Open crumb")
    ]


def test_base_href_wins_over_canonical_and_og_url_is_the_last_resort() -> None:
    article = "<h1>Baking Sourdough at Home</h1>" + _p(0, 1, 2)
    both = '<base href="/static/"><link rel="canonical" href="https://bakery.example/blog/sourdough">'
    assert read_html(page(article, head=both), "").base_url == "https://bakery.example/static/"
    og = '<meta property="og:url" content="https://bakery.example/p/42">'
    assert read_html(page(article, head=og), "").base_url == "https://bakery.example/p/42"
    assert read_html(page(article), "").base_url == ""


def test_lazy_images_take_their_real_address() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1)
        + '<p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" '
        'data-src="https://cdn.example/a.jpg" alt="A"></p>'
        + '<p><img src="https://cdn.example/blank.gif" srcset="https://cdn.example/b-600.jpg 600w, '
        'https://cdn.example/b-1200.jpg 1200w" alt="B"></p>'
        + '<figure><div><img src="https://cdn.example/c-blur-20px.jpg" width="1200" height="800">'
        '<noscript><img src="https://cdn.example/c.jpg" width="1200" height="800"></noscript></div>'
        "<figcaption>C proofing</figcaption></figure>" + _p(2, 3)
    )  # fmt: skip
    doc = read_html(page(article), "")
    srcs = [f.src for f in _of(doc, Figure) if isinstance(f, Figure)]
    assert srcs == [
        "https://cdn.example/a.jpg",
        "https://cdn.example/b-1200.jpg",
        "https://cdn.example/c.jpg",
    ]


def test_figure_without_media_keeps_its_caption() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1)
        + '<figure><div class="lazy-slot"></div>'
        "<figcaption>A loaf after the overnight proof.</figcaption></figure>"
        + _p(2, 3)
    )  # fmt: skip
    doc = read_html(page(article), "")
    figures = [(f.caption, f.src) for f in _of(doc, Figure) if isinstance(f, Figure)]
    assert figures == [("A loaf after the overnight proof.", None)]


def test_lead_picture_in_the_story_header_is_kept() -> None:
    html = page(
        "",
        holder=(
            '<article><header><h1>Baking Sourdough at Home</h1><p class="byline">By Dana Whitfield</p>'
            '<figure><img src="https://cdn.example/lead.jpg" alt="">'
            "<figcaption>A crackling crust.</figcaption></figure></header>"
            '<section class="story">' + _p(0, 1, 2, 3) + "</section></article>"
        ),
    )
    doc = read_html(html, "")
    figures = [(f.src, f.caption) for f in _of(doc, Figure) if isinstance(f, Figure)]
    assert figures == [("https://cdn.example/lead.jpg", "A crackling crust.")]
    assert "Dana Whitfield" not in _texts(doc)


def test_picture_with_a_caption_in_a_plain_box_is_kept_but_a_byline_headshot_is_not() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>"
        '<div class="author"><img src="https://cdn.example/dana.jpg" alt="Dana">'
        '<a href="https://crumb.example/authors/dana">Dana Whitfield</a> March 4, 2024</div>'
        + _p(0, 1)
        + '<div class="thumb"><img src="https://cdn.example/oven.jpg" width="220" alt="">'
        "<div>The oven at full heat.</div></div>"
        + _p(2, 3)
    )  # fmt: skip
    doc = read_html(page(article), "")
    assert [f.src for f in _of(doc, Figure) if isinstance(f, Figure)] == ["https://cdn.example/oven.jpg"]
    assert "The oven at full heat." in _texts(doc)
    assert "Dana Whitfield" not in _texts(doc)


def test_a_tracking_pixel_in_noscript_does_not_remove_the_pictures() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1)
        + '<figure><img src="https://cdn.example/crumb.jpg" alt="Crumb"></figure>'
        + '<noscript><img src="https://stats.example/p.gif" width="1" height="1"></noscript>'
        + _p(2, 3)
    )  # fmt: skip
    doc = read_html(page(article), "")
    assert [f.src for f in _of(doc, Figure) if isinstance(f, Figure)] == ["https://cdn.example/crumb.jpg"]


def test_an_item_of_the_articles_list_stays_even_when_it_is_only_links() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1)
        + "<ul><li>" + PROSE[2] + "</li><li>Still in the oven:<ul>"
        '<li><a href="https://tracker.example/1">Issue 1 – timer drifts</a></li>'
        '<li><a href="https://tracker.example/2">Issue 2 – lid too tight</a></li></ul></li></ul>'
        + _p(3, 4)
    )  # fmt: skip
    doc = read_html(page(article), "")
    items = [i for b in doc.blocks if isinstance(b, ListBlock) for i in b.items]
    assert len(items) == 2 and "[Issue 1 – timer drifts](https://tracker.example/1)" in items[1]


def test_notes_found_from_their_markers_without_a_footnotes_class() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>"
        f'<p>{PROSE[0]}<sup id="ref-a"><a href="#note-a">[1]</a></sup></p>' + _p(1, 2, 3)
        + "<h2>Baking</h2>" + _p(4, 5)
        + '<ol><li id="note-a"><a href="#ref-a">^</a> '
        '<cite>"Starter science"</cite>. Bread Lab. 2019.</li></ol>'
    )  # fmt: skip
    doc = read_html(page(article), "")
    assert doc.references == ['"Starter science". Bread Lab. 2019.']
    assert f"{PROSE[0][-20:]}[^1]" in _texts(doc)
    assert "Starter science" not in _texts(doc)


def test_a_form_around_the_whole_page_is_not_taken_for_a_sign_up_box() -> None:
    html = page(
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1) + "<h2>Baking</h2>" + _p(2, 3),
        wrapper='<form id="aspnetForm" method="post"><input type="hidden" name="state">{}</form>',
    )
    doc = read_html(html, "")
    assert PROSE[0][:40] in _texts(doc) and PROSE[3][:40] in _texts(doc)


def test_the_standfirst_the_page_gives_as_its_description_opens_the_article() -> None:
    dek = "Why a slow starter makes the better loaf, and how a week of patience pays off at the oven."
    html = page(
        "",
        head=f'<meta property="og:description" content="{dek}">',
        holder=(
            # the extractor takes the body for the article and the headline box for furniture
            f'<article><div><h1>Baking Sourdough at Home</h1></div><p class="summary">{dek}</p>'
            '<div><p class="byline">By Dana Whitfield</p></div>'
            '<section itemprop="articleBody">' + _p(0, 1, 2, 3) + "</section></article>"
        ),
    )
    doc = read_html(html, "")
    assert doc.title == "Baking Sourdough at Home"
    assert isinstance(doc.blocks[0], Paragraph) and doc.blocks[0].text == dek
    assert "Dana Whitfield" not in _texts(doc)


def test_a_list_of_bare_addresses_under_a_heading_is_kept_as_the_sources() -> None:
    article = (
        "<h1>Baking Sourdough at Home</h1>" + _p(0, 1) + "<h2>Feeding</h2>" + _p(2, 3)
        + "<h2>Further reading</h2><ul>"
        '<li><a href="https://flour.example/guide">https://flour.example/guide</a></li>'
        '<li><a href="https://ovens.example/steam">https://ovens.example/steam</a></li></ul>'
    )  # fmt: skip
    doc = read_html(page(article), "")
    text = _texts(doc) + "\n".join(doc.references)
    assert "https://flour.example/guide" in text and "https://ovens.example/steam" in text
    assert "Dark rye loaf" not in text  # the sidebar's list names its links in words: still chrome
