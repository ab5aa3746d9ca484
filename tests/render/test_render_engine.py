"""The renderer in-process: what every email carries, escaping, UTM tagging, the
compile-once cache and its invalidation, and errors that name file and line."""

from __future__ import annotations

import os
import re
from html import unescape
from pathlib import Path

import pytest

from sender.campaign import CampaignError
from sender.render import RenderError, ascii_html, markdown_blocks
from tests.render.helpers import campaign_of, message_for, renderer_of, subscriber

EVIL = "<script>alert(1)</script>"


def test_every_lesson_carries_what_a_marketing_email_must(glute_project: Path) -> None:
    renderer, settings = renderer_of(glute_project)
    campaign = campaign_of(glute_project, "glute-activation")
    for lesson in campaign.lessons:
        msg = message_for(renderer, settings, campaign, lesson.position)
        html, text = msg.html, msg.text
        assert '<html lang="en"' in html
        # typographic characters travel as character references: the HTML part is plain ASCII
        assert html.isascii()
        assert f"<title>{lesson.subject}</title>" in unescape(html)
        assert lesson.preheader.split("…")[0][:40] in re.search(r'<div style="display:none;[^>]*>(.*?)</div>',
                                                                html, re.S).group(1)
        assert f"Lesson {lesson.position} of 5" in html and f"Lesson {lesson.position} of 5" in text
        if lesson.position < 5:
            # the subscriber is in Lisbon; sent Monday 09:30 UTC, the next lesson comes 2 days later
            assert f"Lesson {lesson.position + 1} arrives Wednesday." in html
            assert f"Lesson {lesson.position + 1} arrives Wednesday." in text
        else:
            assert "arrives" not in html and "Andrea Lawson" in html
        assert ">Unsubscribe</a>" in html and ">Manage preferences</a>" in html
        assert "Unsubscribe: http" in text and "Manage preferences: http" in text
        assert html.count("BIM Kinesiology, 1 Example Street, Vancouver BC, Canada") == 1
        assert text.rstrip().endswith("BIM Kinesiology, 1 Example Street, Vancouver BC, Canada")
        # dark mode, and no web font fetched at run time
        assert '<meta name="color-scheme" content="light dark"' in html
        assert "@media (prefers-color-scheme: dark)" in html
        assert "fonts.googleapis" not in html and "@import" not in html and "<link" not in html
        assert "max-width:600px" in html
        # a real button: reply with a question, to the Reply-To address
        assert 'href="mailto:coach@example.com?subject=Question%20about%20lesson' in html
        assert ">Reply with a question</a>" in html
        assert "<img" not in html  # no logo setting, no image


def test_logo_has_alt_text_when_set(glute_project: Path) -> None:
    renderer, settings = renderer_of(glute_project, logo_url="https://cdn.example.com/logo.png")
    html = message_for(renderer, settings, campaign_of(glute_project, "glute-activation"), 1).html
    assert re.search(r'<img alt="BIM Kinesiology"[^>]* src="https://cdn.example.com/logo.png"', html)


def test_exercises_are_boxed_and_text_keeps_structure(glute_project: Path) -> None:
    renderer, settings = renderer_of(glute_project)
    msg = message_for(renderer, settings, campaign_of(glute_project, "glute-activation"), 2)
    box = re.search(r'<div class="box".*?</div>\s*</div>|<div class="box".*?</ul>\s*</div>', msg.html, re.S)
    assert box and "Recommended Repetitions:" in box.group(0) and "Coaching Cues:" in box.group(0)
    assert "TRY IT" in msg.html.upper()
    assert "How do you combat dominant hamstrings?\n======" in msg.text
    assert "\n- To set up for this exercise" in msg.text  # lists stay lists


def test_subscriber_data_is_escaped_in_html_and_intact_in_text(project: Path) -> None:
    lesson = project / "campaigns" / "mini" / "01-start.md"
    lesson.write_text(lesson.read_text().replace("read [this]", "at {{ subscriber.company }}, read [this]")
                      .replace("subject: Start here", "subject: Start here, {{ subscriber.first_name }}"))
    renderer, settings = renderer_of(project)
    sub = subscriber(name=f"{EVIL} Evil", company="<b>Acme & Co</b>")
    msg = message_for(renderer, settings, campaign_of(project, "mini"), 1, sub)
    assert EVIL not in msg.html and "<b>Acme" not in msg.html
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt;," in msg.html
    assert "at &lt;b&gt;Acme &amp; Co&lt;/b&gt;, read" in msg.html
    assert f"Hi {EVIL}," in msg.text and "at <b>Acme & Co</b>, read this (https://example.org/a)" in msg.text
    assert msg.subject == f"Start here, {EVIL}"  # a header, not HTML: as typed
    # staff text is escaped too, once
    assert "Mini &amp; Course" in msg.html and "Mini &amp;amp;" not in msg.html
    assert "Ref One &lt;1&gt;" in msg.html and "1. Ref One <1>" in msg.text


def test_non_ascii_becomes_character_references_but_not_in_css_or_placeholders(project: Path) -> None:
    assert ascii_html('<style>p::before { content: "’" }</style><p title="Zoë">It’s “here”…</p>'
                      '<script>x = "é"</script>') == (
        '<style>p::before { content: "’" }</style>'
        '<p title="Zo&#235;">It&#8217;s &#8220;here&#8221;&#8230;</p><script>x = "é"</script>')
    lesson = project / "campaigns" / "mini" / "01-start.md"
    lesson.write_text(lesson.read_text().replace(
        "read [this]", "Olá {{ subscriber.first_name | default(\"amigo ção\") }} — read [this]"))
    renderer, settings = renderer_of(project)
    for name, greeting in (("", "amigo ção"), ("Zoë Ávila", "Zoë")):
        msg = message_for(renderer, settings, campaign_of(project, "mini"), 1, subscriber(name=name))
        # the staff's text as references; what the placeholder gives (the default, the name) as is
        assert f"Ol&#225; {greeting} &#8212; read" in msg.html
        assert f"Olá {greeting} — read" in msg.text


def test_missing_first_name_falls_back_and_unknown_field_is_an_error_with_its_line(project: Path) -> None:
    renderer, settings = renderer_of(project)
    msg = message_for(renderer, settings, campaign_of(project, "mini"), 1, subscriber(name=""))
    assert "Hi there," in msg.html and "Hi there," in msg.text
    lesson = project / "campaigns" / "mini" / "02-next.md"
    lesson.write_text("---\nsubject: Two\npreheader: p\n---\n"
                      "First line.\n\nDear {{ subscriber.nickname }}.\n")
    with pytest.raises(RenderError) as caught:
        message_for(renderer, settings, campaign_of(project, "mini"), 2)
    assert str(caught.value) == (f"{lesson}: undefined variable: this subscriber has no field 'nickname', "
                                 "at line 7: {{ subscriber.nickname }}")


def test_broken_placeholder_and_template_errors_name_file_and_line(project: Path) -> None:
    lesson = project / "campaigns" / "mini" / "02-next.md"
    lesson.write_text("---\nsubject: Two\npreheader: p\n---\nOne.\n\nTwo {{ subscriber.name | }}.\n")
    renderer, settings = renderer_of(project)
    with pytest.raises(RenderError, match=rf"^{re.escape(str(lesson))}:7: template error in a {{{{ }}}} "):
        message_for(renderer, settings, campaign_of(project, "mini"), 2)
    partial = project / "templates" / "partials" / "footer.mjml"
    partial.write_text(partial.read_text() + "[% if %]\n")
    lines = len(partial.read_text().splitlines())
    with pytest.raises(RenderError, match=rf"^{re.escape(str(partial))}:{lines}: template error: "):
        message_for(renderer, settings, campaign_of(project, "mini"), 1)


def test_utm_parameters_on_content_links_only(project: Path) -> None:
    toml = project / "campaigns" / "mini" / "campaign.toml"
    toml.write_text(toml.read_text() + '[utm]\nsource = "newsletter"\nmedium = "email"\n')
    lesson = project / "campaigns" / "mini" / "01-start.md"
    lesson.write_text(lesson.read_text() + "\nSee [docs](https://example.org/d?x=1&y=2#top), "
                      "[ours](https://example.org/o?utm_source=blog) and <mailto:coach@example.com>.\n")
    renderer, settings = renderer_of(project)
    html = message_for(renderer, settings, campaign_of(project, "mini"), 1).html
    tags = "utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=mini&amp;utm_content=01-start"
    assert f'href="https://example.org/a?{tags}"' in html
    assert f'href="https://example.org/d?x=1&amp;y=2&amp;{tags}#top"' in html  # own query kept, fragment last
    assert 'href="https://example.org/o?utm_source=blog"' in html  # a link with its own UTM is left alone
    assert 'href="mailto:coach@example.com"' in html
    unsubscribe = re.search(r'href="([^"]*/unsubscribe/[^"]*)"', html).group(1)
    manage = re.search(r'href="([^"]*/preferences/[^"]*)"', html).group(1)
    assert "utm_" not in unsubscribe and "utm_" not in manage
    assert "utm_medium" not in message_for(renderer, settings, campaign_of(project, "mini"), 1).text

    toml.write_text(toml.read_text() + 'sorce = "typo"\n')  # refused as the campaign loads, not at render
    with pytest.raises(CampaignError, match=r"campaign\.toml:\d+: unknown \[utm\] key\(s\): sorce"):
        campaign_of(project, "mini")


def test_no_utm_table_no_tagging(project: Path) -> None:
    renderer, settings = renderer_of(project)
    html = message_for(renderer, settings, campaign_of(project, "mini"), 1).html
    assert 'href="https://example.org/a"' in html


def _touch_later(path: Path) -> None:
    # mtime moves on even where the file system's clock is coarse
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_compile_once_and_recompile_when_a_file_changes(project: Path) -> None:
    renderer, settings = renderer_of(project)
    campaign = campaign_of(project, "mini")
    first = renderer.compile(campaign, campaign.lessons[0])
    assert renderer.compile(campaign, campaign.lessons[0]) is first
    for _ in range(3):
        message_for(renderer, settings, campaign, 1)
    assert renderer.compilations == 1
    # the same files read again (the engine does, every tick): still no MJML compile
    again = campaign_of(project, "mini")
    assert renderer.compile(again, again.lessons[0]).campaign is again
    assert renderer.compilations == 1

    lesson = project / "campaigns" / "mini" / "01-start.md"
    lesson.write_text(lesson.read_text().replace("- two", "- two, edited"))
    edited = campaign_of(project, "mini")
    assert "two, edited" in message_for(renderer, settings, edited, 1).html
    assert renderer.compilations == 2

    base = project / "templates" / "base.mjml"
    base.write_text(base.read_text().replace("</mj-body>", "<mj-section><mj-column><mj-text>NEW FOOTER"
                                             "</mj-text></mj-column></mj-section></mj-body>"))
    _touch_later(base)
    assert "NEW FOOTER" in message_for(renderer, settings, edited, 1).html
    assert renderer.compilations == 3

    partial = project / "templates" / "partials" / "footer.mjml"
    partial.write_text(partial.read_text().replace("Manage preferences", "Your settings"))
    _touch_later(partial)
    assert ">Your settings</a>" in message_for(renderer, settings, edited, 1).html


def test_template_checks_are_throttled(project: Path) -> None:
    renderer, _ = renderer_of(project)
    renderer.check_interval = 60
    generation = renderer.templates_generation()
    base = project / "templates" / "base.mjml"
    _touch_later(base)
    assert renderer.templates_generation() == generation  # not looked at again yet
    assert renderer.templates_generation(force=True) == generation + 1


def test_newsletter_and_system_emails(project: Path, tmp_path: Path) -> None:
    renderer, settings = renderer_of(project)
    campaign = campaign_of(project, "mini")
    news = message_for(renderer, settings, campaign, 1, template="newsletter")
    assert "Lesson 1 of" not in news.html and "Hi Alex," in news.html
    assert "subscribed to emails from Dripcourse" in news.html and ">Unsubscribe</a>" in news.html
    assert "Unsubscribe: http" in news.text

    sub = {"first_name": EVIL, "email": "a@example.com"}
    html, text = renderer.render_system("confirm", {"subscriber": sub, "campaign_title": "Glutes & Co",
                                                    "confirm_url": "https://x.example/confirm/t?a=1&b=2"})
    assert "Hi &lt;script&gt;" in html and f"Hi {EVIL}," in text
    assert 'href="https://x.example/confirm/t?a=1&amp;b=2"' in html and "Glutes &amp; Co" in html
    assert "https://x.example/confirm/t?a=1&b=2" in text
    assert "Unsubscribe" not in html  # transactional: nothing to unsubscribe from yet
    html, text = renderer.render_system("unsubscribed", {
        "subscriber": sub, "campaign_title": "Glutes", "resubscribe_url": "https://x.example/preferences/t"})
    assert "You are unsubscribed" in html and "https://x.example/preferences/t" in text
    assert settings.postal_address in html and settings.postal_address in text
    with pytest.raises(RenderError, match=r"confirm\.mjml: undefined variable: 'confirm_url' is undefined"):
        renderer.render_system("confirm", {"subscriber": sub, "campaign_title": "x"})


def test_callout_and_exercise_containers(project: Path) -> None:
    blocks = markdown_blocks("Intro.\n\n::: exercise Glute bridge\n- squeeze {{ subscriber.name }}\n:::\n\n"
                             "::: tip\nDrink water.\n:::\n\nOutro.\n")
    assert [b.kind for b in blocks] == ["html", "exercise", "callout", "html"]
    assert blocks[1].title == "Glute bridge" and "{{ subscriber.name }}" in blocks[1].html


def test_fast_stage_two_matches_jinja(project: Path) -> None:
    """The generated per-subscriber function gives Jinja's own output and errors."""
    import jinja2

    from sender.render import SlotTemplate
    from sender.render.slots import SubscriberFields

    html_env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    text_env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
    sources = [
        '<p>Hi {{ subscriber.first_name | default("there") }}, {{ subscriber["city"] }}</p>',
        "{{ subscriber.name | upper }} {{ subscriber.name | truncate(5, true, '…') }} {{ 3 }} {{ none }}",
        "{{ unsubscribe_url }}&{{ subscriber.fields_x | default(subscriber.email) }} {{ range }}",
        "{% if subscriber.first_name %}Hi {{ subscriber.first_name }}{% endif %}!",  # Jinja's own path
        "{{ subscriber.nickname }}",
        "{{ missing }}",
        "{{ subscriber.first_name ~ '!' }}",
        "{{ subscriber.keys is defined }} {{ unsubscribe_url.upper() }}",  # Jinja's own path
        "{{ subscriber.keys | string | truncate(21, true, '') }} {{ plain.x.y }}",  # a dict's own attribute
    ]
    contexts = [{"subscriber": {"first_name": EVIL, "name": "Ann <A> Bee", "email": "a@x",
                                "city": "Porto & Co"},
                 "unsubscribe_url": "https://x/u?a=1&b=2", "plain": {"x": {"y": 1}}},
                {"subscriber": {"email": "b@x", "name": "B", "city": ""}, "unsubscribe_url": "",
                 "plain": {"x": {}}},
                {"subscriber": SubscriberFields(first_name="Cy", name="Cy D", email="c@x", city="Oslo"),
                 "unsubscribe_url": "u", "plain": "not a dict"}]
    fast_count = 0
    for env in (html_env, text_env):
        for source in sources:
            slot = SlotTemplate(env, source)
            fast_count += slot.fast
            reference = env.from_string(source)
            for context in contexts:
                try:
                    expected = reference.render(context)
                except jinja2.UndefinedError as exc:
                    with pytest.raises(jinja2.UndefinedError) as caught:
                        slot.render(context)
                    assert caught.value.message == exc.message
                else:
                    assert slot.render(context) == expected, source
    assert fast_count == 2 * 6  # all but the {% if %}, the ~ operator and the call take the fast path


def test_every_shipped_lesson_takes_the_fast_path(glute_project: Path) -> None:
    """A guard against losing the fast path; its speed is measured by bench/render_bench.py."""
    renderer, _ = renderer_of(glute_project)
    campaign = campaign_of(glute_project, "glute-activation")
    compiled = [renderer.compile(campaign, lesson) for lesson in campaign.lessons]
    assert all(c.html.fast and c.text.fast and c.subject.fast for c in compiled)
    context = {"subscriber": {"first_name": "Ann", "email": "a@x"}, "unsubscribe_url": "u", "manage_url": "m",
               "next_lesson_day": "Monday"}
    for c in compiled:
        assert renderer.render(c, context)  # the fast slots render


@pytest.mark.parametrize("name", ["Sam Lee", "Lee, Sam", "O'Brien", "Zoë", "Dr. X", 'a"b', "[x]", "a\\b",
                                  " x ", ""])
def test_to_header_is_what_formataddr_writes(name: str) -> None:
    from email.utils import formataddr

    from sender.messages import _mailbox

    expected = formataddr((name, "a@example.com")) if name else "a@example.com"
    assert _mailbox(name, "a@example.com") == expected
