"""`drip split` as a user runs it: URLs, --base-url, --dry-run, and where it may write."""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.test_cli import drip

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Rest Days Matter</title>
<link rel="canonical" href="https://blog.example.org/training/rest-days"></head>
<body><article><h1>Rest Days Matter</h1>
<p>{intro}</p>
<h2>Sleep First</h2><p>{body}</p><p><img src="img/sleep.png" alt="A bed"></p>
<h2>Eat Enough</h2><p>{body}</p><p>As the photo above shows, plates matter.</p>
<img src="/media/plate.jpg" alt="A plate">
</article></body></html>"""
TEXT = dict(
    intro="Rest is when training turns into fitness. " * 10, body="Recovery needs time and food. " * 40
)


def _page() -> str:
    return PAGE.format(**TEXT)


def test_split_a_url_resolves_relative_pictures_against_the_page(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/post").respond_with_data(_page(), content_type="text/html; charset=utf-8")
    result = drip("split", httpserver.url_for("/post"), "--campaign", "rest", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "campaigns" / "rest"
    lessons = "".join(p.read_text("utf-8") for p in sorted(folder.glob("0*.md")))
    # The canonical URL is where the page lives: relative pictures resolve against it.
    assert "](https://blog.example.org/training/img/sleep.png)" in lessons
    assert "](https://blog.example.org/media/plate.jpg)" in lessons
    assert (folder / "article.html").read_text("utf-8") == _page()  # the fetched page is kept


def test_base_url_keeps_pictures_of_a_saved_page(tmp_path: Path) -> None:
    saved = tmp_path / "saved.html"
    saved.write_text(
        _page().replace('<link rel="canonical" href="https://blog.example.org/training/rest-days">', "")
    )
    without = drip("split", str(saved), "--campaign", "a", cwd=tmp_path)
    assert without.returncode == 0, without.stderr
    assert 'picture "A bed" has a relative address (img/sleep.png)' in without.stderr
    assert "pass --base-url" in without.stderr
    given = drip(
        "split", str(saved), "--campaign", "b", "--base-url", "https://cdn.example.net/posts/", cwd=tmp_path
    )
    assert given.returncode == 0 and "relative address" not in given.stderr
    lessons = "".join(p.read_text("utf-8") for p in sorted((tmp_path / "campaigns" / "b").glob("0*.md")))
    assert "](https://cdn.example.net/posts/img/sleep.png)" in lessons
    assert "](https://cdn.example.net/media/plate.jpg)" in lessons
    bad = drip("split", str(saved), "--campaign", "c", "--base-url", "cdn.example.net", cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr == "error: --base-url 'cdn.example.net': expected an http:// or https:// address\n"


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    saved = tmp_path / "saved.html"
    saved.write_text(
        _page().replace("<article>", "<nav><a href='/'>Home</a> | <a href='/blog'>Blog</a></nav><article>")
    )
    result = drip("split", str(saved), "--campaign", "rest", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "campaigns").exists()
    out = result.stdout
    assert "Rest Days Matter" in out and "dry run: nothing written" in out
    assert "* Sleep First" in out and "* Eat Enough" in out  # the outline, sections marked
    assert "01-sleep-first.md" in out and "02-eat-enough.md" in out  # the lesson plan
    assert "Site text removed" in out and "Home | Blog" in out


def test_campaign_must_stay_inside_the_campaigns_folder(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text("# T\n\nSome text here.\n")
    for slug in ("../../x", "/tmp/elsewhere", "a/b", ".hidden", ".."):
        result = drip("split", str(article), "--campaign", slug, cwd=tmp_path)
        assert result.returncode == 1, slug
        assert result.stderr.startswith(f"error: --campaign {slug!r}: a campaign is one folder name"), (
            result.stderr
        )
    assert not (tmp_path / "campaigns").exists() and not Path("/tmp/elsewhere").exists()


def test_unreachable_url_is_one_clear_line(tmp_path: Path) -> None:
    result = drip("split", "ftp://example.org/post.html", "--campaign", "x", cwd=tmp_path)
    assert result.returncode == 1
    assert (
        result.stderr
        == "error: ftp://example.org/post.html: only http:// and https:// addresses can be fetched\n"
    )


def test_relative_links_of_a_fetched_page_point_at_the_site(httpserver: HTTPServer, tmp_path: Path) -> None:
    page = _page().replace('<link rel="canonical" href="https://blog.example.org/training/rest-days">', "")
    page = page.replace(
        "<h2>Eat Enough</h2>", '<h2>Eat Enough</h2><p>See <a href="/guides/food">the food guide</a>.</p>'
    )
    httpserver.expect_request("/blog/post").respond_with_data(page, content_type="text/html")
    result = drip("split", httpserver.url_for("/blog/post"), "--campaign", "rest", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lessons = "".join(p.read_text("utf-8") for p in sorted((tmp_path / "campaigns" / "rest").glob("0*.md")))
    assert f"[the food guide]({httpserver.url_for('/guides/food')})" in lessons
    assert f"]({httpserver.url_for('/blog/img/sleep.png')})" in lessons


def test_code_blocks_make_no_preview_line() -> None:
    from sender.content.document import Paragraph
    from sender.content.headlines import preheader

    blocks = [
        Paragraph("```\nchar *dayofweek(int y, int m, int d);\n```"),
        Paragraph("Days of the week come from a formula."),
    ]
    assert preheader(blocks, "Day of the Week") == "Days of the week come from a formula."
