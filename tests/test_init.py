"""`drip init`: a project of one's own, its settings reported by `drip lint` until they are
set, and its `templates/` folder overriding the packaged defaults file by file."""

from __future__ import annotations

from pathlib import Path

from sender.defaults import TEMPLATES, template_names
from sender.settings import load_settings
from tests.render.helpers import campaign_of, message_for, renderer_of
from tests.test_cli import drip

# A short article in three sections, written for these tests and tests/test_install.py.
ARTICLE = """\
# Sleep Better in Three Steps

A short guide to better sleep, one habit at a time. Each habit is small enough to start
tonight and to keep for good.

## Keep a Regular Wake Time

Get up at the same time every day, weekends included. Your body clock sets itself by the
morning light and by when you rise, not by when you go to bed. Within a week or two, falling
asleep at night gets easier because your body expects it. If you slept badly, still get up
at the usual time and keep the day as normal as you can.

## Cool, Dark and Quiet

Make the bedroom a place for sleep. Keep it cool, around eighteen degrees, dark with heavy
curtains or a mask, and quiet with earplugs if the street is loud. Move screens out of reach:
the light and the temptation both keep you awake longer than you think.

## Wind Down for Half an Hour

Give yourself thirty minutes before bed without work or news. Read something calm, stretch
gently, or write down tomorrow's tasks so they leave your head. The routine itself becomes the
signal that sleep is coming, and it grows stronger every night you repeat it.
"""
IDENTITY = ["base_url", "from_address", "reply_to", "postal_address"]
OWN = {
    "from_address": '"Sleep Coach <coach@sleepwell.ca>"',
    "reply_to": '"coach@sleepwell.ca"',
    "postal_address": '"Sleep Well, 12 Quiet Lane, Halifax NS B3H 1A1, Canada"',
    "base_url": '"https://learn.sleepwell.ca"',
}


def init_with_course(folder: Path) -> Path:
    """`drip init` in `folder`, then the test article split into campaign `sleep`."""
    folder.mkdir()
    assert drip("init", cwd=folder).returncode == 0
    (folder / "article.md").write_text(ARTICLE, encoding="utf-8")
    split = drip("split", "article.md", "--campaign", "sleep", cwd=folder)
    assert split.returncode == 0, split.stderr
    return folder


def settings_warnings(project: Path) -> dict[str, str]:
    """`drip lint sleep`'s warnings about dripcourse.toml, by the setting each names."""
    result = drip("lint", "sleep", cwd=project)
    assert result.returncode == 0, result.stderr
    prefix = f"{project / 'dripcourse.toml'}: warning: "
    warned = [line.removeprefix(prefix) for line in result.stderr.splitlines() if line.startswith(prefix)]
    return {w.split()[0]: w for w in warned}


def test_init_makes_the_project_and_says_what_comes_next(tmp_path: Path) -> None:
    result = drip("init", "course", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "course"
    for made in ("course/dripcourse.toml", "course/campaigns/", "course/templates/",
                 "course/templates/README.txt", "course/.gitignore"):
        assert f"created {made}\n" in result.stdout
    steps = result.stdout.split("next:\n")[1]
    assert [line.split()[:2] for line in steps.splitlines()] == [
        ["cd", "course"], ["edit", "dripcourse.toml"], ["drip", "split"], ["drip", "lint"],
        ["drip", "render"], ["drip", "demo"]]

    settings = load_settings(project, environ={})
    assert {name: settings.sources[name] for name in IDENTITY} == dict.fromkeys(IDENTITY, "default")
    assert settings.provider == "outbox://outbox"
    assert list((project / "campaigns").iterdir()) == []
    assert [p.name for p in (project / "templates").iterdir()] == ["README.txt"]
    readme = (project / "templates" / "README.txt").read_text()
    assert "overrides the packaged default of the same name" in readme
    assert all(name in readme for name in template_names())
    ignored = (project / ".gitignore").read_text().splitlines()
    assert {"*.db", "*.db-wal", "*.db-shm", "/outbox/", "/demo/"} <= set(ignored)


def test_init_refuses_a_folder_that_has_a_dripcourse_toml(tmp_path: Path) -> None:
    config = tmp_path / "dripcourse.toml"
    config.write_text('from_address = "Me <me@mine.ca>"\n')
    result = drip("init", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == ("error: dripcourse.toml already exists; not overwriting it (edit it, or run "
                             "drip init with another folder)\n")
    assert config.read_text() == 'from_address = "Me <me@mine.ca>"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dripcourse.toml"]  # nothing else made


def test_init_adds_what_an_existing_gitignore_lacks(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n*.db")  # no newline at the end
    assert drip("init", cwd=tmp_path).returncode == 0
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["node_modules/", "*.db"]
    assert lines.count("*.db") == 1 and {"*.db-wal", "*.db-shm", "/outbox/"} <= set(lines)


def test_lint_reports_each_identity_setting_until_it_is_set(tmp_path: Path) -> None:
    project = init_with_course(tmp_path / "course")
    warned = settings_warnings(project)
    assert list(warned) == IDENTITY
    assert all(" is not set " in w for w in warned.values()), warned
    assert warned["reply_to"].endswith('set reply_to in dripcourse.toml to the address replies should '
                                       'reach ("" for no Reply-To)')

    config = project / "dripcourse.toml"
    template = config.read_text()
    # Uncommented as drip init wrote them: still its examples, still reported.
    config.write_text("".join(line.removeprefix("# ") if line.startswith(tuple(f"# {n} =" for n in IDENTITY))
                              else line for line in template.splitlines(keepends=True)))
    warned = settings_warnings(project)
    assert list(warned) == IDENTITY
    assert all(" is still drip init's example " in w for w in warned.values()), warned

    # Each one set clears its own line, and only that one.
    for done, name in enumerate(IDENTITY, start=1):
        config.write_text(config.read_text().replace(
            next(line for line in config.read_text().splitlines() if line.startswith(f"{name} =")),
            f"{name} = {OWN[name]}"))
        assert list(settings_warnings(project)) == IDENTITY[done:]


def test_an_empty_reply_to_is_a_choice_but_an_empty_from_is_not(tmp_path: Path) -> None:
    project = init_with_course(tmp_path / "course")
    config = project / "dripcourse.toml"
    config.write_text(config.read_text() + 'reply_to = ""\nfrom_address = ""\n')
    warned = settings_warnings(project)
    assert "reply_to" not in warned
    assert warned["from_address"].startswith("from_address is empty; set from_address in dripcourse.toml")


def test_a_template_in_the_project_overrides_the_packaged_default(tmp_path: Path) -> None:
    project = init_with_course(tmp_path / "course")
    assert drip("render", "sleep", "--format", "html", "--out", "before", cwd=project).returncode == 0
    before = (project / "before" / "01-keep-a-regular-wake-time.html").read_text()
    assert "Unsubscribe" in before  # the packaged footer

    # The default lesson layout includes partials/footer.mjml by name: the project's copy wins.
    footer = project / "templates" / "partials" / "footer.mjml"
    footer.parent.mkdir()
    footer.write_text((TEMPLATES / "partials" / "footer.mjml").read_text().replace(
        "Unsubscribe", "Stop these emails"))
    result = drip("render", "sleep", "--format", "html", "--out", "after", cwd=project)
    assert result.returncode == 0, result.stderr
    for page in (project / "after").glob("*.html"):
        html = page.read_text()
        assert "Stop these emails" in html and "Unsubscribe<" not in html
        assert "Keep a Regular Wake Time" in html or "Cool, Dark" in html or "Wind Down" in html


def test_a_template_added_to_the_project_is_picked_up_by_a_running_renderer(tmp_path: Path) -> None:
    project = init_with_course(tmp_path / "course")
    renderer, settings = renderer_of(project)
    campaign = campaign_of(project, "sleep")
    assert "Reply with a question" in message_for(renderer, settings, campaign, 1).html
    generation = renderer.templates_generation(force=True)

    layout = project / "templates" / "lesson.mjml"  # added to the folder drip init left empty
    layout.write_text((TEMPLATES / "lesson.mjml").read_text().replace(
        "Reply with a question", "Ask the coach"))
    assert renderer.templates_generation(force=True) == generation + 1
    assert "Ask the coach" in message_for(renderer, settings, campaign, 1).html

    layout.unlink()  # removed: the packaged default again
    assert renderer.templates_generation(force=True) == generation + 2
    html = message_for(renderer, settings, campaign, 1).html
    assert "Reply with a question" in html and "Ask the coach" not in html


def test_drip_inits_examples_are_refused_for_real_sending_like_the_samples(tmp_path: Path) -> None:
    from sender.readiness import PLACEHOLDERS, sending_problems

    settings = load_settings(tmp_path, environ={}).replace(**PLACEHOLDERS)
    problems = sending_problems(settings, "postmark://?stream=broadcast")
    assert [p.split()[0] for p in problems] == IDENTITY
    assert sending_problems(settings, "outbox://outbox") == []  # a test backend mails nobody
