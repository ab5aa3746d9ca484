"""A sample subscriber's emails: render, preview, send-test."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from sender.cli.base import app, console, engine, listening, settings
from sender.errors import DripError

RENDER_FORMATS = ("all", "eml", "html", "txt")


@app.command()
def render(
    campaign: Annotated[str, typer.Argument(help="Campaign slug.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out"),
    name: Annotated[str, typer.Option(help="Sample subscriber's name.")] = "Alex Sample",
    email: Annotated[str, typer.Option(help="Sample subscriber's address.")] = "alex@example.com",
    timezone: Annotated[str, typer.Option(help="Sample subscriber's time zone.")] = "UTC",
    fmt: Annotated[str, typer.Option("--format", help="eml (RFC 5322 messages), html, txt or all.")]
    = "all",
) -> None:
    """Write .eml, .html and/or .txt files for every lesson, for a sample subscriber.

    Each is dated when it would reach that subscriber enrolled now, as the preview shows it.
    HTML over 90 KB (Gmail clips at about 102 KB) is an error naming the lesson file."""
    from sender.campaign import load_campaign
    from sender.render import html_size_problem
    from sender.sample import sample_messages

    if fmt not in RENDER_FORMATS:
        raise DripError(f"--format {fmt!r}: expected one of {', '.join(RENDER_FORMATS)}")
    formats = ("eml", "html", "txt") if fmt == "all" else (fmt,)
    s = settings()
    loaded = load_campaign(s.path("campaigns_dir") / campaign)
    rendered = sample_messages(s, loaded, name, email, timezone)
    for _lesson, message in rendered:
        if isinstance(message, Exception):
            raise message  # a RenderError: file and line, before anything is written
    out.mkdir(parents=True, exist_ok=True)
    too_big = []
    for lesson, message in rendered:
        writers = {
            "eml": lambda path, m=message: path.write_bytes(m.as_email().as_bytes()),
            "html": lambda path, m=message: path.write_text(m.html, encoding="utf-8"),
            "txt": lambda path, m=message: path.write_text(m.text, encoding="utf-8"),
        }
        for kind in formats:
            writers[kind](out / f"{lesson.key}.{kind}")
        kb = len(message.html.encode()) / 1024
        console().print(f"{lesson.key}: {message.subject!r} ({kb:.1f} KB HTML)")
        if problem := html_size_problem(lesson.path, message.html):
            too_big.append(problem)
    console().print(f"wrote {len(rendered) * len(formats)} files to {out}")
    for problem in too_big:
        print(f"error: {problem}", file=sys.stderr)
    if too_big:
        raise typer.Exit(1)


@app.command()
def preview(
    host: Annotated[str, typer.Option(help="Address to listen on; keep 127.0.0.1 (no login).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Preview every lesson in a browser, phone and desktop widths, reloading on save."""
    from sender.web import create_app

    eng = engine()
    app = create_app(eng, public=True, preview=True, preview_address=(host, port))
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: the preview has no login and can send test emails; {host} exposes it",
              file=sys.stderr)
    server = listening(app, host, port, threads=4,
                        in_use=f"port {port} is in use; pass --port (e.g. --port {port + 1})")
    console().print(f"preview: http://{host}:{port}/preview/ (Ctrl+C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        server.run()



@app.command("send-test")
def send_test(
    lesson: Annotated[str, typer.Argument(metavar="CAMPAIGN/LESSON",
                                          help="e.g. glute-activation/2 or glute-activation/02-dominant")],
    to: Annotated[str, typer.Option(help="Address to send the test to.")],
    name: Annotated[str, typer.Option(help="Sample subscriber's name.")] = "Alex Sample",
    timezone: Annotated[str | None, typer.Option(help="Sample subscriber's time zone.")] = None,
) -> None:
    """Send one lesson, as a subscriber would get it, through the configured provider."""
    from sender.sample import send_test as send

    slug, sep, ref = lesson.partition("/")
    if not sep or not ref:
        raise DripError(f"{lesson!r}: expected CAMPAIGN/LESSON, e.g. glute-activation/2")
    eng = engine(sending=True)
    result = send(eng, slug, ref, to, name=name, timezone=timezone)
    if not result.ok:
        raise DripError(f"{eng.provider.name} did not accept the test: {result.error}")
    console().print(f"sent {result.message.subject!r} to {result.message.to} through {eng.provider.name}"
                    f" (id {result.provider_message_id})")
