"""Blocks of a plain-text article (pass 5): paragraphs from runs of lines,
headings with or without blank lines around them, lists, code and tables,
RST literal blocks, and captions of pictures the copy lost."""

from __future__ import annotations

import re
import textwrap
from collections import Counter

from sender.content.chrome import is_chrome_line
from sender.content.readers.plaintext_headings import head_of
from sender.content.readers.plaintext_lines import (
    SENTENCE_END,
    TABLE_LINE,
    ArticleText,
    Chunk,
    Head,
    TextBlock,
    clean,
    indent_of,
    is_code,
    is_prose,
    line_key,
    split_chunks,
    word_count,
)

_BULLET = re.compile(r"^\s*(?:[•\-*–·▪◦‣]|o(?=\s\s))\s+(\S.*)$")
_NUMBERED_ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]|\[\d{1,3}\])\s+(\S.*)$")
_MEDIA_POINTER = re.compile(
    r"\b(?:picture|image|photo|photograph|diagram|illustration|figure|graphic|chart|"
    r"infographic|video)s?\b[^.]{0,40}\b(?:below|above|following)\b|"
    r"\b(?:below|above|following)\b[^.]{0,20}\b(?:picture|image|photo|diagram|illustration|"
    r"figure|graphic|chart|video)s?\b",
    re.I,
)
# A line standing for a picture that the copy lost ("Image" in copied news pages).
_PICTURE_MARKER = re.compile(r"\[?(?:image|photo|picture|video|graphic|figure(?: \d+)?)\]?:?", re.I)
# "...on the street.CreditJane Doe for The Daily" - a photo credit glued to its caption
_GLUED_CREDIT = re.compile(r"(?<=[.!?”’\"])\s?(?:Credit|Photo|Image)(?::\s?|\s?)[A-Z].{0,80}$")
VERSE_BREAK = "\ue002"  # a hard line break, written "  \n" once the text is escaped


class BlockReader:
    def __init__(
        self,
        doc: ArticleText,
        wrap: int | None,
        toc: tuple[set[str], int],
        rst: bool,
        targets: dict[str, str],
    ) -> None:
        self.doc = doc
        self.wrap = wrap
        self.toc, self.toc_end = toc
        self.rst = rst
        self.targets = targets
        self.blocks: list[TextBlock] = []
        prose_indents = Counter(indent_of(doc.text(i)) for i in doc.live() if word_count(doc.text(i)) >= 8)
        self.body_indent = prose_indents.most_common(1)[0][0] if prose_indents else 0
        self.literal_indent: int | None = None  # inside an RST literal block deeper than this
        self.following: Chunk | None = None  # the chunk after the one being read
        self.toc_seen = False

    # -- helpers
    def text(self, index: int) -> str:
        return self.doc.text(index)

    def add(self, block: TextBlock) -> None:
        self.blocks.append(block)

    def previous_text(self) -> str:
        if self.blocks and self.blocks[-1].kind == "para":
            return self.blocks[-1].text
        return ""

    def short(self, text: str) -> bool:
        return self.wrap is None or len(text.strip()) <= 0.75 * self.wrap

    def strong(self, head: Head) -> bool:
        return head.style != "plain" or (bool(self.toc) and line_key(head.text) in self.toc)

    def heading_ok(self, head: Head | None, after_toc: bool) -> bool:
        """A plain heading after a contents list must be one of its entries."""
        if head is None:
            return False
        if head.style == "plain" and self.toc and after_toc:
            return line_key(head.text) in self.toc or line_key(head.label + " " + head.text) in self.toc
        return True

    # -- the chunk loop
    def read(self) -> None:
        chunks = split_chunks(self.doc.lines)
        for position, chunk in enumerate(chunks):
            following = chunks[position + 1] if position + 1 < len(chunks) else None
            toc_seen = bool(self.toc) and chunk.start > self.toc_end
            self.following, self.toc_seen = following, toc_seen
            if self.literal_block(chunk):
                continue
            self.chunk(chunk, following, toc_seen)

    def literal_block(self, chunk: Chunk) -> bool:
        """RST literal blocks (after "::" or a code directive) and code or tables."""
        indent = min(indent_of(self.doc.raw[i]) for i in chunk.rows)
        before = chunk.start - 1
        while (
            before >= 0
            and not (self.doc.lines[before] or "").strip()
            and before not in self.doc.code_directives
        ):
            before -= 1
        if before in self.doc.code_directives:
            self.literal_indent = indent - 1  # the content of a ".. code-block::" directive
        if self.literal_indent is not None and indent > self.literal_indent:
            self.code(chunk.rows)
            return True
        self.literal_indent = None
        if not self.code_like(chunk):
            return False
        # Lines of text after the code (a note under a table, the next heading)
        # are read as text again.
        rows = chunk.rows
        last = len(rows) - 1
        while last > 0 and self.text_after_code(self.doc.raw[rows[last]]):
            last -= 1
        self.code(rows[: last + 1])
        if last + 1 < len(rows):
            rest = Chunk(
                start=rows[last + 1], rows=rows[last + 1 :], blank_before=0, blank_after=chunk.blank_after
            )
            self.chunk(rest, self.following, self.toc_seen)
        return True

    def text_after_code(self, line: str) -> bool:
        if is_code(line) or TABLE_LINE.search(line) or indent_of(line) > self.body_indent + 1:
            return False
        return bool(_BULLET.match(line) or head_of(line) or len(re.findall(r"[A-Za-z]{2,}", line)) >= 4)

    def code_like(self, chunk: Chunk) -> bool:
        """Source code or a table: many lines that read as code and none that
        reads as a sentence; indented under the text, fewer suffice."""
        texts = [self.doc.raw[i] for i in chunk.rows]
        if _BULLET.match(texts[0]) or _NUMBERED_ITEM.match(texts[0]):
            return False
        codeish = sum(is_code(t) or bool(TABLE_LINE.search(t)) for t in texts)
        sentences = sum(
            word_count(t) >= 6 and t.strip()[:1].isupper() and t.rstrip().endswith((".", "!", "?"))
            for t in texts
        )
        deeper = min(indent_of(t) for t in texts) > self.body_indent + 2
        if len(texts) == 1 and head_of(texts[0]) is not None and not re.search(r"[;{}]\s*$", texts[0]):
            return False  # a heading set in with tabs, "*02.1*<TAB>Title"
        if deeper and not sentences:
            # set apart from the text: columns (a table), or code, or bare values
            columns = sum(len(re.findall(r"\S {2,}(?=\S)", t.strip())) >= 1 for t in texts)
            if codeish or columns * 2 >= len(texts) or all(word_count(t) <= 3 for t in texts):
                return True
        if not codeish:
            return False
        if len(texts) == 1:
            return bool(re.search(r"[;{}]\s*$|[─│┼]|\S\t+\S", texts[0])) and not sentences
        needed = 4 if deeper else 3
        return codeish * needed >= len(texts) and sentences * 4 <= len(texts) and (deeper or not sentences)

    def code(self, rows: list[int]) -> None:
        body = textwrap.dedent("\n".join(self.doc.raw[i].rstrip() for i in rows))
        if self.blocks and self.blocks[-1].kind == "code" and self.blocks[-1].items:
            # the same block after a blank line
            previous = self.blocks[-1]
            previous.items.append("")
            previous.items.extend(self.doc.raw[i].rstrip() for i in rows)
            previous.text = _fence(textwrap.dedent("\n".join(previous.items)))
            return
        self.add(TextBlock("code", rows[0] + 1, _fence(body), items=[self.doc.raw[i].rstrip() for i in rows]))

    def chunk(self, chunk: Chunk, following: Chunk | None, toc_seen: bool) -> None:
        rows = chunk.rows
        texts = [self.text(i) for i in rows]
        joined = " ".join(t.strip() for t in texts)
        if is_chrome_line(joined) and len(rows) > 1:
            self.doc.chrome.append(clean(joined))
            return
        if len(rows) == 1:
            self.single(rows[0], chunk, following, toc_seen)
            return
        paragraph: list[int] = []
        k = 0
        while k < len(rows):
            index, text = rows[k], texts[k]
            fresh = not paragraph  # a block ended just above this line
            if index in self.doc.rst_heads:
                self.flush(paragraph)
                self.heading(index, Head(clean(text), style="rst", rst=self.doc.rst_heads[index]))
            elif TABLE_LINE.search(self.doc.raw[index]) and not paragraph:
                end = k
                while end < len(rows) and TABLE_LINE.search(self.doc.raw[rows[end]]):
                    end += 1
                end = max(end, k + 1)
                self.code(rows[k:end])
                k = end
                continue
            elif _PICTURE_MARKER.fullmatch(text.strip()) and k + 1 < len(rows):
                # A copied page keeps the caption of a picture it lost: the caption
                # still tells something, so it stays (in italics); the picture is reported.
                self.flush(paragraph)
                caption = clean(texts[k + 1])
                if credit := _GLUED_CREDIT.search(caption):
                    self.doc.chrome.append(credit.group(0).strip())
                    caption = caption[: credit.start()].rstrip()
                self.add(TextBlock("figure", index + 1, ""))
                self.add(TextBlock("caption", rows[k + 1] + 1, caption))
                k += 2
                continue
            elif _BULLET.match(text) or (_NUMBERED_ITEM.match(text) and self.numbered_list(texts, k)):
                self.flush(paragraph)
                k = self.list_items(rows, k)
                continue
            elif (
                fresh and k + 1 < len(rows) and head_of(text) and _MEDIA_POINTER.search(self.previous_text())
            ):
                self.add(TextBlock("figure", index + 1, clean(text)))  # the caption of a lost picture
            elif (head := self.glued_heading(rows, k, following, fresh)) and self.heading_ok(head, toc_seen):
                self.flush(paragraph)
                self.heading(index, head)
            else:
                if paragraph and self.wrap is None and self.new_paragraph(paragraph[-1], index):
                    self.flush(paragraph)
                paragraph.append(index)
            k += 1
        self.flush(paragraph)

    def new_paragraph(self, before: int, index: int) -> bool:
        """Unwrapped text: each line is a paragraph (a block of the page it was
        copied from) unless it visibly continues the line before."""
        head, tail = self.text(before).strip(), self.text(index).strip()
        return not tail[:1].islower() and not head.endswith((",", "-", "–", "—", "(", "/"))

    def numbered_list(self, texts: list[str], k: int) -> bool:
        """Several numbered lines in a chunk are a list; one numbered line on top of
        a paragraph is a heading."""
        numbered = [i for i, t in enumerate(texts) if _NUMBERED_ITEM.match(t)]
        if len(numbered) >= 2:
            return True
        return not (k == 0 and head_of(texts[0]) is not None and not texts[1].startswith((" ", "\t")))

    def list_items(self, rows: list[int], k: int) -> int:
        items: list[str] = []
        ordered = False
        item_indent = indent_of(self.text(rows[k]))
        while k < len(rows):
            text = self.text(rows[k])
            bullet, numbered = _BULLET.match(text), _NUMBERED_ITEM.match(text)
            if bullet or numbered:
                items.append((bullet or numbered).group(1).strip())  # type: ignore[union-attr]
                ordered = ordered or bool(numbered and not bullet)
                item_indent = indent_of(text)
            elif indent_of(text) > item_indent or text.strip()[:1].islower():
                items[-1] += " " + text.strip()  # wrapped continuation of an item
            elif head_of(text) and self.glued_heading(rows, k, self.following, fresh=False):
                break
            else:
                items.append(text.strip())  # an unmarked line inside a list is still an item
            k += 1
        items = [clean(item) for item in items]
        previous = self.blocks[-1] if self.blocks else None
        if previous and previous.kind == "list" and previous.ordered == ordered:
            previous.items.extend(items)  # the same list, blank lines between its items
        else:
            self.add(TextBlock("list", rows[0] + 1, items=items, ordered=ordered))
        return k

    def glued_heading(self, rows: list[int], k: int, following: Chunk | None, fresh: bool) -> Head | None:
        """A heading with no blank line between it and its neighbours."""
        text = self.text(rows[k])
        head = None if self.rst or rows[k] in self.doc.plain_lines else head_of(text)
        if head is None or not self.short(text) or indent_of(text) > self.body_indent + 8:
            return None
        previous = self.text(rows[k - 1]).strip() if k > 0 else ""
        ended = (
            fresh or self.wrap is None or bool(SENTENCE_END.search(previous)) or previous.endswith(("”", '"'))
        )
        if not ended:
            return None
        if k + 1 < len(rows):
            nxt = self.text(rows[k + 1]).strip()
            starts = nxt[:1].isupper() or nxt[:1].isdigit() or nxt[:1] in "\"“‘'([*_"
            rest = " ".join(self.text(i).strip() for i in rows[k + 1 :])
            if not starts or (head_of(nxt) is not None and not is_prose(nxt)):
                return None
            if self.wrap and len(nxt) < len(text.strip()) + 8 and len(rows) > k + 2:
                return None  # as long as the line after it: a line of the paragraph
            return head if is_prose(rest) or is_prose(nxt) else None
        # the last line of its chunk: text must follow
        if following is None or k == 0 or self.code_like(following):
            return None
        return head if indent_of(self.text(following.rows[0])) <= self.body_indent + 1 else None

    def single(self, index: int, chunk: Chunk, following: Chunk | None, toc_seen: bool) -> None:
        text = self.text(index)
        if index in self.doc.rst_heads:
            self.heading(index, Head(clean(text), style="rst", rst=self.doc.rst_heads[index]))
            return
        if _BULLET.match(text) or (_NUMBERED_ITEM.match(text) and self.sibling_item(index, following)):
            self.list_items([index], 0)
            return
        head = None if self.rst or not self.short(text) else head_of(text)
        if head is not None and self.heading_ok(head, toc_seen):
            previous = self.previous_text()
            media = bool(_MEDIA_POINTER.search(previous))
            spaced = chunk.blank_after > chunk.blank_before >= 1 and not self.strong(head)
            if index in self.doc.plain_lines:
                self.flush([index])
                return
            if following is None or media or spaced:
                self.add(TextBlock("figure", index + 1, clean(text)))
                return
            self.heading(index, head)
            return
        self.flush([index])

    def sibling_item(self, index: int, following: Chunk | None) -> bool:
        """A numbered line followed by the next number is a list item, not a heading."""
        if head_of(self.text(index)) is None:
            return True
        previous = self.blocks[-1] if self.blocks else None
        if previous and previous.kind == "list" and previous.ordered and previous.line == index:
            return True
        if following is None:
            return bool(previous and previous.kind == "list" and previous.ordered)
        this = re.match(r"\s*(\d+)", self.text(index))
        nxt = re.match(r"\s*(\d+)[.)]\s", self.text(following.rows[0]))
        if this and nxt and int(nxt.group(1)) == int(this.group(1)) + 1:
            return True
        return bool(previous and previous.kind == "list" and previous.ordered and self.text(index))

    def heading(self, index: int, head: Head) -> None:
        self.add(TextBlock("heading", index + 1, head.text, head=head))

    def flush(self, rows: list[int]) -> None:
        if not rows:
            return
        lines = [self.text(i) for i in rows]
        # Verse and quoted addresses set in from the text keep their line breaks.
        verse = (
            len(lines) >= 2 and min(indent_of(line) for line in lines) >= self.body_indent + 2
            and all(len(line.strip()) < 0.8 * (self.wrap or 80) for line in lines)
        )  # fmt: skip
        text = VERSE_BREAK.join(clean(line) for line in lines) if verse else clean(" ".join(lines))
        if self.rst and text.endswith("::"):
            # "as follows::" introduces a literal block and reads "as follows:"
            text = text[:-2].rstrip() + (":" if not text[:-2].endswith(" ") else "")
            self.literal_indent = indent_of(self.text(rows[0]))
            text = text.rstrip() or ""
        if text:
            self.add(TextBlock("para", rows[0] + 1, text))
        rows.clear()


def _fence(code: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", code)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}\n{code.strip(chr(10))}\n{fence}"
