"""Subscriber input: address validation, clean text, CSV import and export.

Addresses are validated and normalised by email-validator without DNS, so imports are fast
and tests need no network. Every path that stores a subscriber (the CLI, the console, the
subscribe form, an import) goes through `add_subscriber`, which cleans names, fields and tags
with `clean_text`: NUL, ESC and other control characters never reach the store (PostgreSQL
refuses NUL mid-import) or a To header.

A CSV import reads the file twice. The first pass finds its encoding and delimiter, maps the
usual column names and refuses, before anything is written, a file it cannot read safely: an
unknown encoding, or an unclosed quote that would swallow the following rows into one cell.
The second pass writes each row on its own (never half a subscriber); a bad row is reported
with its line number and reason and never stops the rest.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from sender.errors import DripError
from sender.schedule import zone
from sender.store import Store
from sender.store.schema import SUBSCRIBER_STATUSES

KNOWN_COLUMNS = {"email", "name", "timezone", "tags"}  # the console's --map inputs
MAP_FIELDS = (*sorted(KNOWN_COLUMNS), "first_name", "last_name")
STATUSES = SUBSCRIBER_STATUSES  # the column's, said once in the schema

# Header names each field is found under without --map, compared by `_key` (case, spaces and
# punctuation ignored: "E-mail Address" is "emailaddress"). The first alias present wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress"),
    "name": ("name", "fullname"),
    "first_name": ("firstname", "givenname", "fname"),
    "last_name": ("lastname", "surname", "familyname", "lname"),
    "timezone": ("timezone", "tz"),
    "tags": ("tags", "tag"),
}
# Columns `export_csv` writes that the import sets itself (status, consent), not custom fields.
EXPORT_ONLY = frozenset({"status", "consentsource", "consentat", "createdat"})

# Invisible characters that are not whitespace: C0 controls (NUL, ESC…), DEL, C1 controls,
# bidi marks and overrides (they reorder what staff read), a stray BOM, lone surrogates.
# Whitespace controls (tab, CR, LF, VT, FF, FS…US, NEL) are runs of space to `str.split`.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\ufeff\ud800-\udfff]")
# OWASP "CSV injection": a cell a spreadsheet would run as a formula starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ADDRESS = re.compile(r"[^@\s\"',;]+@[^@\s\"',;]+\.[^@\s\"',;]+")
_CHUNK = 1 << 20


class InvalidSubscriber(DripError, ValueError):
    """A subscriber field is invalid; the message names the field."""


class ImportStopped(DripError):
    """The database refused an import mid-file; the rows of the batches before are kept."""


def clean_text(value: str) -> str:
    """One line of visible text: control characters (NUL, ESC, DEL, C1), bidi overrides and
    stray BOMs removed, each run of whitespace (tabs, line breaks) one space, ends trimmed."""
    return " ".join(_INVISIBLE.sub("", value).split())


def clean_name(name: str) -> str:
    # Names go into the To header: a line break would be header injection, a control
    # character garbage (or a refused row on PostgreSQL, for NUL).
    return clean_text(name)[:200]


def normalise_email(raw: str) -> str:
    """Validated and lower-cased: mailbox providers treat local parts case-insensitively,
    and one person must not become two subscribers by typing a capital."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidSubscriber(f"email {raw!r} is not valid: {exc}") from None


def check_timezone(name: str | None) -> str | None:
    name = clean_text(name or "")
    if not name:
        return None
    try:
        zone(name)
    except ValueError as exc:
        raise InvalidSubscriber(f"timezone: {exc}") from None
    return name


def add_subscriber(store: Store, email: str, *, now: datetime, name: str = "",
                   timezone: str | None = None, fields: dict[str, Any] | None = None,
                   tags: Sequence[str] = (), status: str = "active",
                   consent_source: str | None = None, conn: sa.Connection | None = None
                   ) -> tuple[int, bool]:
    """Check and tidy a subscriber's details, then add or update them (`Store.upsert_subscriber`,
    in `conn`'s transaction if given). Raises InvalidSubscriber for what cannot be stored."""
    if status not in STATUSES:
        raise InvalidSubscriber(f"status {status!r} is not one of {', '.join(STATUSES)}")
    cleaned = {clean_text(k): clean_text(v) if isinstance(v, str) else v for k, v in (fields or {}).items()}
    return store.upsert_subscriber(
        normalise_email(email), now=now, name=clean_name(name), timezone=check_timezone(timezone),
        fields={k: v for k, v in cleaned.items() if k} or None,
        tags=[t for t in map(clean_text, tags) if t], status=status,
        consent_source=(clean_text(consent_source)[:200] or None) if consent_source else None,
        conn=conn,
    )


# -- reading a CSV file -------------------------------------------------------------------


@dataclass(frozen=True)
class CsvSource:
    """A CSV file checked by `open_csv`: how to read it and which column holds what."""

    path: Path
    codec: str  # for open()
    encoding: str  # as people know it: UTF-8, UTF-16, Windows-1252
    guessed: bool  # the encoding is a reading of the bytes, not a BOM, UTF-8 or the user's choice
    sample: str | None  # for a guessed encoding, the first line with accented letters
    delimiter: str
    columns: dict[str, int]  # our field -> cell index
    headers: tuple[str, ...]  # as written in the file
    custom: tuple[tuple[int, str], ...]  # (cell index, field name) kept as custom fields
    ignored: tuple[str, ...]  # columns read by nobody
    rows: int  # records after the header, blank ones left out

    def note(self) -> str | None:
        if not self.guessed:
            return None
        return (f"read as {self.encoding} (the file is not UTF-8), e.g. {self.sample!r}; if letters "
                "look wrong, import it again with its encoding named (--encoding)")


def open_csv(path: Path, *, mapping: dict[str, str] | None = None, encoding: str | None = None) -> CsvSource:
    """Check `path` from end to end without writing anything. Raises InvalidSubscriber, naming
    the file and line, for an encoding that cannot be told, a missing email column, a --map
    column that is not there, or an unclosed quote."""
    codec, shown, guessed, sample = _encoding(path, encoding)
    with _text(path, codec) as handle:
        delimiter = _delimiter(handle.readline())
    with _text(path, codec) as handle:
        records = _records(handle, delimiter, path)
        try:
            _, _, header = next(records)
        except StopIteration:
            raise InvalidSubscriber(f"{path}: the file is empty (it needs a header row with an "
                                    "email column)") from None
        if isinstance(header, str):
            raise InvalidSubscriber(f"{path}:1: the header row is malformed: {header}")
        headers = tuple(clean_text(h) for h in header)
        columns, custom, ignored = _columns(path, headers, mapping or {})
        count = 0
        for start, end, cells in records:
            if end > start and isinstance(cells, list):  # a line break inside quotes
                _check_cells(path, start, end, cells, set(columns.values()), columns["email"], delimiter)
            count += isinstance(cells, str) or not _blank(cells)
    return CsvSource(path, codec, shown, guessed, sample, delimiter, columns, headers, custom, ignored,
                     count)


def _key(header: str) -> str:
    return re.sub(r"[\W_]+", "", header.casefold())


def _columns(path: Path, headers: Sequence[str], mapping: dict[str, str]
             ) -> tuple[dict[str, int], tuple[tuple[int, str], ...], tuple[str, ...]]:
    if unknown := set(mapping) - set(MAP_FIELDS):
        raise InvalidSubscriber(f"--map: unknown field(s) {', '.join(sorted(unknown))}; "
                                f"known: {', '.join(MAP_FIELDS)}")
    keys = [_key(h) for h in headers]
    listed = ", ".join(h or "(unnamed)" for h in headers)
    columns: dict[str, int] = {}
    for ours, theirs in mapping.items():
        if _key(theirs) not in keys:
            why = "the header row needs" if ours == "email" else f"--map {ours}: no"
            raise InvalidSubscriber(f"{path}:1: {why} {theirs.strip()!r} column; its columns: {listed}")
        columns[ours] = keys.index(_key(theirs))
    for ours, aliases in ALIASES.items():
        if ours in columns:
            continue
        # A column mapped to one field is not also another's. First and last name are read
        # beside a full name too: they make the name of a row whose full name is empty.
        found = [keys.index(a) for a in aliases if a in keys and keys.index(a) not in columns.values()]
        if found:
            columns[ours] = found[0]
    if "email" not in columns:
        raise InvalidSubscriber(f"{path}:1: the header row needs an 'email' column (or say which one "
                                f"holds addresses with --map email=COLUMN); its columns: {listed}")
    custom: list[tuple[int, str]] = []
    ignored: list[str] = []
    for i, header in enumerate(headers):
        if i in columns.values():
            continue
        if keys[i] in EXPORT_ONLY or not header:
            ignored.append(header or f"(unnamed column {i + 1})")
        else:
            custom.append((i, header.lower()))
    return columns, tuple(custom), tuple(ignored)


def _encoding(path: Path, named: str | None) -> tuple[str, str, bool, str | None]:
    """(codec, name shown, guessed, sample): a BOM; UTF-16 without one (its ASCII is valid UTF-8,
    so it is looked for first); valid UTF-8; Windows-1252 when the bytes read as Latin-script
    text; else refused, naming the likeliest."""
    if named:
        return _named(path, named)
    with path.open("rb") as handle:
        head = handle.read(4096)
    for bom, codec, shown in ((codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
                              (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
                              (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
                              (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
                              (codecs.BOM_UTF16_BE, "utf-16", "UTF-16")):
        if head.startswith(bom):
            _refuse_undecodable(path, codec, shown)
            return codec, shown, False, None
    # UTF-16 without a BOM: the header's ASCII letters leave every other byte NUL.
    even, odd = head[0::2], head[1::2]
    for nuls, others, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if len(nuls) >= 4 and nuls.count(0) >= 0.6 * len(nuls) and others.count(0) == 0:
            _refuse_undecodable(path, codec, "UTF-16")
            return codec, "UTF-16", False, None
    if _first_undecodable(path, "utf-8") is None:
        return "utf-8", "UTF-8", False, None
    return _western(path)


def _named(path: Path, name: str) -> tuple[str, str, bool, str | None]:
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise InvalidSubscriber(f"--encoding {name!r} is not an encoding Python knows; use a name "
                                "such as utf-8, windows-1252, iso-8859-2, windows-1251 or utf-16") from None
    if not getattr(info, "_is_text_encoding", True):  # base64, rot13: byte codecs, not charsets
        raise InvalidSubscriber(f"--encoding {name!r} is not a text encoding")
    codec = "utf-8-sig" if info.name == "utf-8" else info.name  # a BOM is not part of the header
    _refuse_undecodable(path, codec, name)
    return codec, name, False, None


def _first_undecodable(path: Path, codec: str) -> tuple[int, int] | None:
    """(line, byte value) of the first byte that `codec` cannot decode, or None."""
    decoder = codecs.getincrementaldecoder(codec)()
    lines = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            try:
                lines += decoder.decode(chunk, final=not chunk).count("\n")
            except UnicodeDecodeError as exc:
                done = exc.object[:exc.start]
                return lines + done.decode(codec, "replace").count("\n") + 1, exc.object[exc.start]
            if not chunk:
                return None


def _refuse_undecodable(path: Path, codec: str, shown: str) -> None:
    if bad := _first_undecodable(path, codec):
        raise InvalidSubscriber(f"{path}:{bad[0]}: byte 0x{bad[1]:02x} is not valid {shown}; the file "
                                "is in another encoding (name it with --encoding, or save it as UTF-8)")


def _western(path: Path) -> tuple[str, str, bool, str | None]:
    """Not UTF-8: Windows-1252 (Excel's "CSV" on Western Windows; a superset of Latin-1) when every
    line reads as Latin-script text in it, else refused with chardet's likeliest encodings.
    Name lists are too short and too multilingual for statistics to tell code pages apart
    (chardet scores Western names about as Windows-1250 as Windows-1252), so the check is what
    a wrong code page does to names: words of nothing but accented letters (Cyrillic, Greek),
    or symbols inside words (Polish ą as ¹, UTF-8 read twice as Ã¼)."""
    utf8_line = other_line = 0
    sample: str | None = None
    evidence = bytearray()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if raw.isascii():
                continue
            try:
                raw.decode("utf-8")
                utf8_line = utf8_line or number
            except UnicodeDecodeError:
                other_line = other_line or number
                if len(evidence) < _CHUNK:
                    evidence += raw
            if utf8_line and other_line:
                # One code page would garble the other half: two files were pasted together.
                raise InvalidSubscriber(f"{path}:{number}: the file mixes encodings: line {utf8_line} is "
                                        f"UTF-8 but line {other_line} is not; save the whole file as UTF-8")
            if utf8_line:
                continue
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                text = ""
            if not text or not _reads_as_latin(text):
                raise InvalidSubscriber(
                    f"{path}:{number}: this line is not UTF-8, and not Windows-1252 (Western) text "
                    f"either; the likeliest encodings are {_likeliest(bytes(evidence), handle)}: name "
                    "the right one with --encoding, or save the file as UTF-8")
            if sample is None:  # the first accented cell, to show what the reading gives
                cells = [c for c in re.split(r"[,;\t]", text) if not c.isascii()]
                sample = clean_text(next((c for c in cells if "@" not in c), cells[0] if cells else text))
    return "cp1252", "Windows-1252", True, sample


def _reads_as_latin(line: str) -> bool:
    for cell in re.split(r"[,;\t]", line):
        if cell.isascii():
            continue
        letters = [c for c in cell if c.isalpha()]
        accented = sum(1 for c in letters if not c.isascii())
        if accented >= 3 and accented * 2 > len(letters):
            return False
    for found in _NON_ASCII.finditer(line):
        i, c = found.start(), found.group()
        if c.isalpha() or c.isspace() or c in "’·–—…":
            continue
        after_letter = i > 0 and line[i - 1].isalpha()
        before_letter = i + 1 < len(line) and line[i + 1].isalpha()
        if c in "¿¡«“‘„":  # opening marks: "¿Qué", but never "Mo¿e" (Polish ż)
            touching = after_letter
        elif c in "»”":
            touching = before_letter
        else:  # £ukasz (Ł), Wiœ¹ (ą), JosÃ© (UTF-8 read as Windows-1252)
            touching = after_letter or before_letter
        if touching:
            return False
    return True


def _likeliest(evidence: bytes, rest: IO[bytes]) -> str:
    import chardet

    evidence += rest.read(_CHUNK)
    names: list[str] = []
    for result in chardet.detect_all(evidence, ignore_threshold=True)[:6]:
        name = result["encoding"]
        if name and name.lower() not in {n.lower() for n in names} and name.lower() != "windows-1252":
            names.append(name)
    # chardet's scores for a few names are close to noise; among its best guesses, the code
    # pages Excel on Windows writes come first, then ISO ones, then the rest (Mac, DOS).
    names.sort(key=lambda n: (not n.lower().startswith("windows"), not n.lower().startswith("iso")))
    return ", ".join(names[:3]) or "unknown"


def _text(path: Path, codec: str) -> IO[str]:
    return path.open(encoding=codec, newline="")


def _delimiter(header: str) -> str:
    """Comma, unless the header row has more semicolons (European Excel) or tabs (Excel's
    "Unicode text") outside quotes."""
    bare = re.sub(r'"[^"]*"', "", header)
    counts = {d: bare.count(d) for d in ",;\t"}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _records(handle: IO[str], delimiter: str, path: Path) -> Iterator[tuple[int, int, list[str] | str]]:
    """(first line, last line, cells) of each record, or (…, why the row is malformed). An
    unclosed quote raises: the csv module ends the cell at the next quote, however many rows
    later, or at the end of the file (strict mode says so)."""
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise _unclosed(path, start, "is never closed (it runs to the end of the file)") from None
            if reader.line_num > start:
                raise _unclosed(path, start, f"runs on to line {reader.line_num}") from None
            yield start, start, (f"a cell longer than {csv.field_size_limit():,} characters"
                                 if "field larger" in str(exc) else
                                 "a quote inside a cell is not doubled, or text follows a closing "
                                 'quote (inside quotes, write a quote as "")')
        else:
            yield start, reader.line_num, [_unescape(c) if c[:1] == "'" else c for c in cells]
        start = reader.line_num + 1


def _unclosed(path: Path, line: int, runs: str) -> InvalidSubscriber:
    return InvalidSubscriber(
        f"{path}:{line}: unclosed quote: a quoted cell that starts on this line {runs}, swallowing "
        "the rows in between; nothing was imported. Close the quote (inside quotes, write a quote as \"\")")


def _check_cells(path: Path, line: int, end: int, cells: list[str], own: set[int], email_at: int,
                 delimiter: str) -> None:
    """A line break inside quotes is valid CSV, and fine in a notes column; in our own columns,
    or when what follows it reads as rows (an address in the email column), it is a quote
    left open."""
    for i, cell in enumerate(cells):
        if "\n" not in cell and "\r" not in cell:
            continue
        if i in own:
            raise _unclosed(path, line, f"runs on to line {end}")
        for later in csv.reader(cell.splitlines()[1:], delimiter=delimiter):
            if len(later) > email_at and _ADDRESS.fullmatch(later[email_at].strip()):
                raise _unclosed(path, line, f"runs on to line {end}")


def _blank(cells: list[str]) -> bool:
    return not any(c.strip() for c in cells)  # a spreadsheet's empty rows are nobody


def _unescape(cell: str) -> str:
    """Undo `export_csv`'s formula guard: a ' before = + - @ tab or CR (or before such a ')
    is the export's, as a spreadsheet means it: "this is text"."""
    if cell[:1] == "'" and (cell[1:2] in FORMULA_START or (cell[1:2] == "'" and cell[2:3] in FORMULA_START)):
        return cell[1:]
    return cell


def _escape(value: str) -> str:
    # OWASP: prefix a ' to a cell a spreadsheet would run. A value that already starts with
    # ' and one of those gets one more, so a re-import gives back exactly what was stored.
    if value[:1] in FORMULA_START or (value[:1] == "'" and value[1:2] in FORMULA_START):
        return "'" + value
    return value


# -- import -------------------------------------------------------------------------------


@dataclass
class ImportReport:
    new: int = 0
    updated: int = 0  # existed before this import
    duplicates: list[tuple[int, int, str]] = field(default_factory=list)  # (line, first line, email)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    columns: dict[str, str] = field(default_factory=dict)  # our field -> its header
    custom_fields: list[str] = field(default_factory=list)  # headers kept as custom fields
    ignored: list[str] = field(default_factory=list)
    encoding_note: str | None = None
    status: str = "active"

    def summary(self) -> str:
        return (f"new {self.new}, updated {self.updated}, duplicate {len(self.duplicates)}, "
                f"rejected {len(self.rejected)}")

    def notes(self) -> list[str]:
        """What the import made of the file, one line each."""
        out = ["columns: " + ", ".join(f"{ours} = {theirs!r}" for ours, theirs in self.columns.items())]
        if self.custom_fields:
            out.append("kept as custom fields: " + ", ".join(self.custom_fields))
        if self.ignored:
            why = " (status and consent come from the import, not the file)" if any(
                not i.startswith("(unnamed") for i in self.ignored) else ""
            out.append("ignored: " + ", ".join(self.ignored) + why)
        if self.encoding_note:
            out.append(self.encoding_note)
        if self.status == "pending" and self.new:
            out.append("imported as pending: they get no mail until they confirm; send them the "
                       "confirmation email with `drip subscribers invite` (or the console's invite button)")
        return out

    def row_lines(self, name: str) -> list[str]:
        """NAME:LINE: duplicate of line N (email) / NAME:LINE: rejected: REASON, by line."""
        lines = [(line, f"{name}:{line}: duplicate of line {first} ({email})")
                 for line, first, email in self.duplicates]
        lines += [(line, f"{name}:{line}: rejected: {reason}") for line, reason in self.rejected]
        return [text for _, text in sorted(lines)]


def import_csv(store: Store, source: Path | CsvSource, *, now: datetime, consent_source: str | None,
               mapping: dict[str, str] | None = None, tags: Sequence[str] = (),
               status: str = "active", encoding: str | None = None,
               progress: Callable[[int], None] | None = None,
               watch: Callable[[ImportReport], None] | None = None) -> ImportReport:
    """Import a CSV file (a `CsvSource` from `open_csv`, or a path with `mapping` and `encoding`
    for it). Columns are found by their usual names (see ALIASES) unless `mapping` names one,
    e.g. {"email": "E-mail address"}; other columns become custom fields. Tags in a tags column
    are split on ; or ,. A row whose address came earlier in the file is a duplicate: it still
    fills in and merges like an update, and is reported with the line it repeats. `progress`
    is called with 1 after each row; `watch` once, with the report this import fills in."""
    src = source if isinstance(source, CsvSource) else open_csv(source, mapping=mapping, encoding=encoding)
    report = ImportReport(status=status, encoding_note=src.note(), ignored=list(src.ignored),
                          custom_fields=[src.headers[i] for i, _ in src.custom],
                          columns={f: src.headers[i] for f, i in src.columns.items()})
    if watch:
        watch(report)  # the console's progress page shows it as it grows
    seen: dict[str, int] = {}
    with _text(src.path, src.codec) as handle:
        records = _records(handle, src.delimiter, src.path)
        next(records)  # the header
        imported_through = 1  # the header's line
        for chunk in _chunks(records, IMPORT_BATCH):
            line = chunk[0][0]
            try:
                with store.begin() as conn:
                    for line, _, cells in chunk:
                        if isinstance(cells, str):
                            report.rejected.append((line, cells))
                        elif not _blank(cells):
                            _import_row(store, src, line, cells, report, seen, now=now, tags=tags,
                                        status=status, consent_source=consent_source, conn=conn)
                        else:
                            continue  # a blank row is nobody
                        if progress:
                            progress(1)
            except sa.exc.SQLAlchemyError as exc:
                why = getattr(exc, "orig", None) or exc
                raise ImportStopped(
                    f"{src.path}: line {line}: the database refused it ({why}); the rows up to line "
                    f"{imported_through} are imported: import the file again to finish (rows already "
                    "imported are updated, not doubled)") from exc
            imported_through = chunk[-1][0]
    return report


# Rows written a transaction: a commit a row was most of an import's time on PostgreSQL (529
# rows/s at a million subscribers), and 200 rows hold SQLite's write lock for a tenth of a second.
IMPORT_BATCH = 200


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def _import_row(store: Store, src: CsvSource, line: int, cells: list[str], report: ImportReport,
                seen: dict[str, int], *, now: datetime, tags: Sequence[str], status: str,
                consent_source: str | None, conn: sa.Connection) -> None:
    def cell(ours: str) -> str:
        i = src.columns.get(ours)
        return cells[i] if i is not None and i < len(cells) else ""

    try:
        if any(c.strip() for c in cells[len(src.headers):]):
            raise InvalidSubscriber("more cells than header columns")
        if not cell("email").strip():
            column = src.headers[src.columns["email"]]
            raise InvalidSubscriber(f"no email address (column {column!r} is empty)")
        email = normalise_email(cell("email"))
        # A full name when there is one, else first + last joined.
        name = cell("name").strip() or f"{cell('first_name')} {cell('last_name')}"
        extra = {key: cells[i] for i, key in src.custom if i < len(cells) and cells[i].strip()}
        _, created = add_subscriber(
            store, email, now=now, name=name, timezone=cell("timezone") or None, fields=extra or None,
            tags=[*tags, *re.split(r"[;,]", cell("tags"))], status=status, consent_source=consent_source,
            conn=conn,
        )
    except InvalidSubscriber as exc:
        report.rejected.append((line, str(exc)))
        return
    if email in seen:
        report.duplicates.append((line, seen[email], email))
    elif created:
        report.new += 1
    else:
        report.updated += 1
    seen.setdefault(email, line)


# -- export -------------------------------------------------------------------------------


EXPORT_COLUMNS = ("email", "name", "timezone", "status", "tags", "consent_source", "consent_at",
                  "created_at")


def export_csv(store: Store, path: Path) -> int:
    """All subscribers with their custom fields as extra columns; returns how many. A cell that
    a spreadsheet would run as a formula gets a ' in front (OWASP); the import takes it off."""
    rows = list(store.iter_subscribers())
    extra = sorted({k for r in rows for k in (r.fields or {})} - set(EXPORT_COLUMNS))
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([_escape(c) for c in (*EXPORT_COLUMNS, *extra)])
        for r in rows:
            values = [
                r.email, r.name, r.timezone or "", r.status, ";".join(r.tags or []),
                r.consent_source or "", r.consent_at.isoformat() if r.consent_at else "",
                r.created_at.isoformat(), *[(r.fields or {}).get(k, "") for k in extra],
            ]
            writer.writerow([_escape(v if isinstance(v, str) else str(v)) for v in values])
    tmp.replace(path)  # a reader never sees half a file
    return len(rows)
