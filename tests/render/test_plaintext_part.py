"""The plain-text part is written from the lesson's Markdown, not stripped from HTML."""

from __future__ import annotations

from sender.plaintext import markdown_to_text

LONG_URL = "https://example.org/" + "a-very-long-path/" * 6 + "end"


def test_headings_lists_links_quotes_and_tables() -> None:
    text = markdown_to_text(
        "## Why glutes\n\nRead [the study](https://example.org/s) and <https://example.org/raw>.\n\n"
        "### Steps\n\n3. lie down\n4. lift **slowly**\n   - hold 2 s\n\n> Squeeze.\n\n"
        f"Long: [link]({LONG_URL}).\n\n| reps | sets |\n|---|---|\n| 10 | 3 |\n\n![Bridge](b.png)\n")
    assert text == (
        "Why glutes\n==========\n\n"
        "Read the study (https://example.org/s) and https://example.org/raw.\n\n"
        "Steps\n-----\n\n"
        "3. lie down\n4. lift slowly\n  - hold 2 s\n\n"
        "> Squeeze.\n\n"
        f"Long: link\n({LONG_URL}).\n\n"
        "reps | sets\n10 | 3\n\n"
        "[Bridge]\n"
    )


def test_placeholders_survive_and_containers_are_labelled() -> None:
    text = markdown_to_text("Hi {{ subscriber.first_name | default(\"there\") }}, *you* {{ a_b_c * 2 }}.\n\n"
                            "::: exercise Glute bridge\n**Reps:** 10\n:::\n\n"
                            "::: tip Remember\nBreathe.\n:::\n")
    assert text == ("Hi {{ subscriber.first_name | default(\"there\") }}, you {{ a_b_c * 2 }}.\n\n"
                    "Try it: Glute bridge\n--------------------\n\nReps: 10\n\n"
                    "| Remember\n|\n| Breathe.\n")
