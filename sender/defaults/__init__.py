"""Files that ship inside the package, so a project made by `drip init` needs none of its own:
the default email templates and the article `drip demo` splits.

In the repository they are not copies: `templates` and `demo-article.txt` here are symbolic
links to the example project's `templates/` and its course's `article.txt`, which stay the one
place to edit them. Building the wheel (package data in pyproject.toml) follows the links and
packs the files themselves. A project's own `templates/` folder overrides these by file name
(`sender.render.Renderer`).
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).parent

# Resolved, so that in a checkout error messages name the file to edit, not the link to it.
TEMPLATES = (_HERE / "templates").resolve()
DEMO_ARTICLE = (_HERE / "demo-article.txt").resolve()


def template_names() -> list[str]:
    """Every default template, as a path relative to the templates folder ('partials/footer.mjml')."""
    return sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*") if p.is_file())
