import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sender.store import Store
from sender.subscribers import (
    IMPORT_BATCH,
    ImportStopped,
    InvalidSubscriber,
    add_subscriber,
    clean_name,
    export_csv,
    import_csv,
)

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_rows_are_reported_and_never_stop_the_import(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    store.upsert_subscriber("old@example.com", now=NOW, name="Old", tags=["a"], consent_source="form")
    src = write(tmp_path / "people.csv",
                "E-mail,Full name,timezone,tags,plan\n"
                "maria@example.com,Maria Silva,Europe/Lisbon,vip;beta,gold\n"
                "not-an-address,Bad,UTC,,\n"
                "ken@example.com,Ken,Mars/Olympus,,\n"
                "OLD@example.com,,,b,silver\n"
                "x@example.com,Too,UTC,,many,cells\n")
    report = import_csv(store, src, now=NOW, consent_source="webinar-2026",
                        mapping={"email": "E-mail", "name": "Full name"}, tags=["imported"])
    assert (report.new, report.updated) == (1, 1)
    assert [n for n, _ in report.rejected] == [3, 4, 6]
    assert "email 'not-an-address' is not valid" in report.rejected[0][1]
    assert "unknown time zone 'Mars/Olympus'" in report.rejected[1][1]
    assert report.rejected[2][1] == "more cells than header columns"

    maria = store.subscriber_by_email("maria@example.com")
    assert (maria.name, maria.timezone, maria.fields, maria.tags) == (
        "Maria Silva", "Europe/Lisbon", {"plan": "gold"}, ["beta", "imported", "vip"])
    assert (maria.consent_source, maria.consent_at) == ("webinar-2026", NOW)
    old = store.subscriber_by_email("old@example.com")
    # An update merges: the name stays, tags and fields are added, consent is kept.
    assert (old.name, old.tags, old.fields, old.consent_source) == (
        "Old", ["a", "b", "imported"], {"plan": "silver"}, "form")
    assert store.subscriber_by_email("ken@example.com") is None  # rejected rows write nothing
    store.close()


def test_a_database_failure_mid_import_keeps_the_batches_before_it_and_names_the_line(
        tmp_path: Path, sqlite_url: str) -> None:
    """Rows are written IMPORT_BATCH a transaction: a refusal keeps every batch before the one it
    hit, says where it stopped, and importing the file again finishes the job."""
    store = Store(sqlite_url)
    rows = 2 * IMPORT_BATCH + 100  # the database refuses the row on line 2 * IMPORT_BATCH + 52
    src = write(tmp_path / "big.csv",
                "email,name\n" + "".join(f"p{i}@example.com,P {i}\n" for i in range(rows)))
    with store.begin() as conn:  # what a full disk or a dropped connection would do, on one row
        conn.exec_driver_sql(f"CREATE TRIGGER refuse BEFORE INSERT ON subscribers "
                             f"WHEN NEW.email = 'p{2 * IMPORT_BATCH + 50}@example.com' "
                             "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(ImportStopped) as stopped:
        import_csv(store, src, now=NOW, consent_source="x")
    assert (f"big.csv: line {2 * IMPORT_BATCH + 52}: the database refused it (disk full); "
            f"the rows up to line {2 * IMPORT_BATCH + 1} are imported") in str(stopped.value)
    assert len(store.subscribers()) == 2 * IMPORT_BATCH
    with store.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse")
    report = import_csv(store, src, now=NOW, consent_source="x")
    assert (report.new, report.updated, len(store.subscribers())) == (100, 2 * IMPORT_BATCH, rows)
    store.close()


def test_missing_email_column_is_named(tmp_path: Path, sqlite_url: str) -> None:
    src = write(tmp_path / "p.csv", "mail,name\na@example.com,A\n")
    with pytest.raises(InvalidSubscriber, match=r"p.csv:1: the header row needs an 'email' column"):
        import_csv(Store(sqlite_url), src, now=NOW, consent_source="x")


def test_pending_import_records_no_consent(tmp_path: Path, sqlite_url: str) -> None:
    store = Store(sqlite_url)
    src = write(tmp_path / "p.csv", "email\na@example.com\n")
    import_csv(store, src, now=NOW, consent_source=None, status="pending")
    row = store.subscriber_by_email("a@example.com")
    assert (row.status, row.consent_source, row.consent_at) == ("pending", None, None)


def test_export_round_trips(tmp_path: Path, sqlite_url: str) -> None:
    store = Store(sqlite_url)
    src = write(tmp_path / "in.csv", "email,name,tags,plan\na@example.com,\"Ann, Jr\",x;y,gold\n"
                                     "b@example.com,Bob,,\n")
    import_csv(store, src, now=NOW, consent_source="import")
    out = tmp_path / "out.csv"
    assert export_csv(store, out) == 2
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["email"], r["name"], r["tags"], r["plan"]) for r in rows] == [
        ("a@example.com", "Ann, Jr", "x;y", "gold"), ("b@example.com", "Bob", "", "")]
    store2 = Store(f"sqlite:///{tmp_path / 'again.db'}")
    report = import_csv(store2, out, now=NOW, consent_source="re-import")
    assert (report.new, report.rejected) == (2, [])
    assert store2.subscriber_by_email("a@example.com").fields == {"plan": "gold"}


# -- column names -------------------------------------------------------------------------


def test_usual_column_names_are_found_without_map(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    src = write(tmp_path / "mailchimp.csv",
                "Email Address,First Name,Last Name,TZ,TAGS,Member Rating\n"
                "maria@example.com,Maria,da Silva,Europe/Lisbon,vip;beta,4\n"
                "ken@example.com,Ken,,Asia/Tokyo,,\n")
    report = import_csv(store, src, now=NOW, consent_source="mailchimp")
    assert (report.new, report.rejected) == (2, [])
    maria = store.subscriber_by_email("maria@example.com")
    assert (maria.name, maria.timezone, maria.tags, maria.fields) == (
        "Maria da Silva", "Europe/Lisbon", ["beta", "vip"], {"member rating": "4"})
    assert store.subscriber_by_email("ken@example.com").name == "Ken"
    assert report.notes()[:2] == [
        "columns: email = 'Email Address', first_name = 'First Name', last_name = 'Last Name', "
        "timezone = 'TZ', tags = 'TAGS'",
        "kept as custom fields: Member Rating"]
    store.close()


def test_mapping_the_email_column_keeps_the_other_usual_columns(tmp_path: Path, db_url: str) -> None:
    # The file: with --map email="E-mail", names and zones were empty for everyone.
    store = Store(db_url)
    src = write(tmp_path / "people.csv", "E-mail,Full name,Time zone,City\n"
                                         "ana@example.com,Ana Lima,America/Sao_Paulo,Recife\n")
    report = import_csv(store, src, now=NOW, consent_source="x", mapping={"email": "E-mail"})
    ana = store.subscriber_by_email("ana@example.com")
    assert (ana.name, ana.timezone, ana.fields) == ("Ana Lima", "America/Sao_Paulo", {"city": "Recife"})
    assert "kept as custom fields: City" in report.notes()
    store.close()


def test_a_full_name_column_wins_over_first_and_last(tmp_path: Path, sqlite_url: str) -> None:
    store = Store(sqlite_url)
    src = write(tmp_path / "p.csv", "email,name,first_name,last_name\n"
                                    "a@example.com,Ann Lee-Park,Ann,Lee\nb@example.com,,Bo,Chen\n")
    import_csv(store, src, now=NOW, consent_source="x")
    assert [s.name for s in store.subscribers()] == ["Ann Lee-Park", "Bo Chen"]


def test_a_mapped_column_that_is_not_there_is_named(tmp_path: Path, sqlite_url: str) -> None:
    src = write(tmp_path / "p.csv", "email,Nom\na@example.com,A\n")
    with pytest.raises(InvalidSubscriber,
                       match=r"p.csv:1: --map name: no 'Name' column; its columns: email, Nom"):
        import_csv(Store(sqlite_url), src, now=NOW, consent_source="x", mapping={"name": "Name"})


def test_columns_an_export_writes_are_ignored_and_said_so(tmp_path: Path, sqlite_url: str) -> None:
    store = Store(sqlite_url)
    src = write(tmp_path / "p.csv", "email,status,created_at,plan\na@example.com,unsubscribed,2020-01-01,x\n")
    report = import_csv(store, src, now=NOW, consent_source="x")
    assert store.subscriber_by_email("a@example.com").status == "active"
    assert ("ignored: status, created_at (status and consent come from the import, not the file)"
            in report.notes())


# -- the report ---------------------------------------------------------------------------


def test_duplicates_in_the_file_are_not_updates(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    store.upsert_subscriber("old@example.com", now=NOW, name="Old")
    src = write(tmp_path / "p.csv", "email,name,tags\n"
                                    "ana@example.com,Ana,a\n"      # 2: new
                                    "old@example.com,,\n"          # 3: existed before: updated
                                    "bad,,\n"                      # 4: rejected
                                    "ANA@example.com,Ana Lima,b\n"  # 5: duplicate of 2
                                    "old@example.com,,\n")         # 6: duplicate of 3
    report = import_csv(store, src, now=NOW, consent_source="x")
    assert report.summary() == "new 1, updated 1, duplicate 2, rejected 1"
    assert report.duplicates == [(5, 2, "ana@example.com"), (6, 3, "old@example.com")]
    assert report.row_lines("p.csv") == [
        "p.csv:4: rejected: email 'bad' is not valid: An email address must have an @-sign.",
        "p.csv:5: duplicate of line 2 (ana@example.com)",
        "p.csv:6: duplicate of line 3 (old@example.com)"]
    ana = store.subscriber_by_email("ana@example.com")
    assert (ana.name, ana.tags) == ("Ana Lima", ["a", "b"])  # the later row still fills in and merges
    store.close()


def test_blank_rows_are_nobody_and_an_empty_address_says_so(tmp_path: Path, sqlite_url: str) -> None:
    src = write(tmp_path / "p.csv", "email,name\n\n,\n , \na@example.com,A\n,Bob\n")
    report = import_csv(Store(sqlite_url), src, now=NOW, consent_source="x")
    assert (report.new, report.rejected) == (1, [(6, "no email address (column 'email' is empty)")])


# -- encodings ----------------------------------------------------------------------------

WESTERN = ("email,name,city\n"
           "jose@example.com,José Müller,São Paulo\n"
           "soren@example.com,Søren Ærø,Malmö\n"
           "renee@example.com,Renée O’Brien,Zürich\n")


@pytest.mark.parametrize("codec", ["latin-1", "cp1252"])
def test_a_western_legacy_file_imports(tmp_path: Path, db_url: str, codec: str) -> None:
    text = WESTERN if codec == "cp1252" else WESTERN.replace("’", "'")  # ’ is not in Latin-1
    src = tmp_path / "people.csv"
    src.write_bytes(text.encode(codec))
    store = Store(db_url)
    report = import_csv(store, src, now=NOW, consent_source="x")
    assert (report.new, report.rejected) == (3, [])
    renee = "Renée O’Brien" if codec == "cp1252" else "Renée O'Brien"
    assert [(s.name, s.fields["city"]) for s in store.subscribers()] == [
        ("José Müller", "São Paulo"), ("Søren Ærø", "Malmö"), (renee, "Zürich")]
    assert ("read as Windows-1252 (the file is not UTF-8), e.g. 'José Müller'; if letters look wrong, "
            "import it again with its encoding named (--encoding)") in report.notes()
    store.close()


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_import_with_or_without_a_bom(tmp_path: Path, sqlite_url: str, codec: str) -> None:
    # Excel's "Unicode Text" is UTF-16 with a BOM, and tab-separated.
    src = tmp_path / "people.txt"
    src.write_bytes(WESTERN.replace(",", "\t").encode(codec))
    store = Store(sqlite_url)
    report = import_csv(store, src, now=NOW, consent_source="x")
    assert (report.new, report.rejected, report.encoding_note) == (3, [], None)
    assert store.subscriber_by_email("soren@example.com").name == "Søren Ærø"


CYRILLIC = "email,name\nivan@example.com,Иван Петров\nolga@example.com,Ольга Смирнова\n"


def test_a_file_that_is_not_western_is_refused_with_its_likely_encoding(tmp_path: Path,
                                                                         sqlite_url: str) -> None:
    src = tmp_path / "p.csv"
    src.write_bytes(CYRILLIC.encode("cp1251"))
    store = Store(sqlite_url)
    with pytest.raises(InvalidSubscriber) as refused:
        import_csv(store, src, now=NOW, consent_source="x")
    assert str(refused.value).startswith(
        f"{src}:2: this line is not UTF-8, and not Windows-1252 (Western) text either; the likeliest "
        "encodings are Windows-1251")
    assert str(refused.value).endswith("name the right one with --encoding, or save the file as UTF-8")
    assert store.subscribers() == []
    report = import_csv(store, src, now=NOW, consent_source="x", encoding="windows-1251")
    assert report.new == 2 and store.subscriber_by_email("olga@example.com").name == "Ольга Смирнова"


@pytest.mark.parametrize(("data", "encoding", "message"), [
    ("email,name\na@example.com,José\n".encode() + "b@example.com,José\n".encode("latin-1"), None,
     "p.csv:3: the file mixes encodings: line 2 is UTF-8 but line 3 is not; save the whole file as UTF-8"),
    (WESTERN.encode("cp1252"), "utf-8",
     "p.csv:2: byte 0xe9 is not valid utf-8; the file is in another encoding"),
    (b"email\na@example.com\n", "klingon", "--encoding 'klingon' is not an encoding Python knows"),
    (b"email\na@example.com\n", "rot13", "--encoding 'rot13' is not a text encoding"),
    ("email,name\na@example.com,Łukasz Wiśniewski\n".encode("cp1250"), None,
     "p.csv:2: this line is not UTF-8, and not Windows-1252 (Western) text either; the likeliest "
     "encodings are Windows-1250"),
], ids=["mixed", "named-wrong", "unknown-name", "not-text", "polish"])
def test_encodings_that_cannot_be_read_are_refused_by_line(tmp_path: Path, sqlite_url: str, data: bytes,
                                                          encoding: str | None, message: str) -> None:
    src = tmp_path / "p.csv"
    src.write_bytes(data)
    with pytest.raises(InvalidSubscriber) as refused:
        import_csv(Store(sqlite_url), src, now=NOW, consent_source="x", encoding=encoding)
    assert str(refused.value).removeprefix(f"{tmp_path}/").startswith(message)


def test_a_semicolon_separated_file_is_read_as_such(tmp_path: Path, sqlite_url: str) -> None:
    # European Excel writes ; because , is the decimal mark.
    store = Store(sqlite_url)
    src = write(tmp_path / "p.csv", "E-mail;Name;Score\na@example.com;Ann Lee;4,5\n")
    import_csv(store, src, now=NOW, consent_source="x")
    a = store.subscriber_by_email("a@example.com")
    assert (a.name, a.fields) == ("Ann Lee", {"score": "4,5"})


# -- malformed rows and unclosed quotes ------------------------------------------------------

ROWS = "b@example.com,Bob,UTC\nc@example.com,Cy,UTC\n"
OPEN = 'email,name,timezone\na@example.com,"Ann,UTC\n' + ROWS  # line 2 opens a quote it never closes


@pytest.mark.parametrize(("text", "message"), [
    # The quote runs to the end of the file.
    (OPEN, "is never closed (it runs to the end of the file)"),
    # ...to the next cell that opens a quote properly.
    (OPEN + 'd@example.com,"Di",UTC\n', "runs on to line 5"),
    # ...to a lone quote right before a comma: valid CSV to the csv module, rows swallowed all the same.
    (OPEN + 'd@example.com,Di 6",UTC\n', "runs on to line 5"),
    # ...in a custom column, where a line break is allowed, but what follows it is rows.
    ('email,name,notes\na@example.com,Ann,"likes dogs\n' + ROWS + 'd@example.com,Di,6"\n',
     "runs on to line 5"),
], ids=["to-the-end", "to-a-quoted-cell", "to-a-lone-quote", "in-a-notes-column"])
def test_an_unclosed_quote_imports_nothing_and_names_its_line(tmp_path: Path, db_url: str, text: str,
                                                             message: str) -> None:
    store = Store(db_url)
    src = write(tmp_path / "p.csv", text)
    with pytest.raises(InvalidSubscriber) as refused:
        import_csv(store, src, now=NOW, consent_source="x")
    assert str(refused.value).startswith(f"{src}:2: unclosed quote: a quoted cell that starts on this line ")
    assert message in str(refused.value) and "nothing was imported" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert store.subscribers() == []  # refused before anything was written
    store.close()


def test_a_line_break_inside_a_notes_cell_is_allowed_and_flattened(tmp_path: Path, sqlite_url: str) -> None:
    store = Store(sqlite_url)
    src = write(tmp_path / "p.csv", 'email,name,notes\na@example.com,Ann,"met at the expo,\nlikes dogs"\n'
                                    "b@example.com,Bob,\n")
    report = import_csv(store, src, now=NOW, consent_source="x")
    assert (report.new, report.rejected) == (2, [])
    assert store.subscriber_by_email("a@example.com").fields == {"notes": "met at the expo, likes dogs"}


def test_a_malformed_row_is_rejected_by_line_and_the_rest_import(tmp_path: Path, sqlite_url: str) -> None:
    store = Store(sqlite_url)
    src = write(tmp_path / "p.csv", 'email,name\na@example.com,"Ann" Lee\nb@example.com,Bob\n')
    report = import_csv(store, src, now=NOW, consent_source="x")
    assert report.new == 1 and report.rejected == [
        (2, 'a quote inside a cell is not doubled, or text follows a closing quote (inside quotes, '
            'write a quote as "")')]
    assert [s.email for s in store.subscribers()] == ["b@example.com"]


# -- control characters -------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "clean"), [
    ("Ana\x00 Silva", "Ana Silva"),
    ("Ana\x1b[31m Silva\x07", "Ana[31m Silva"),  # ESC and BEL go; the visible text stays
    ("Ana\r\nBcc:\x00 x@example.com", "Ana Bcc: x@example.com"),  # line breaks are spaces, still
    ("\tAna\x0b\x0cSil\x00va\x85", "Ana Silva"),
    ("Ana\x7f\x9b Silva", "Ana Silva"),
    ("\ufeffAna \u202eavliS\u202c", "Ana avliS"),  # a BOM; a right-to-left override that hides text order
    ("José Müller-Łukasiewicz\x00 山田", "José Müller-Łukasiewicz 山田"),  # letters of any script stay
])
def test_clean_name_leaves_visible_text_only(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_control_characters_in_a_csv_never_reach_the_store(tmp_path: Path, db_url: str) -> None:
    # On PostgreSQL a NUL aborted the import part-way: text and JSON columns refuse it.
    store = Store(db_url)
    src = tmp_path / "p.csv"
    src.write_bytes(b"email,name,city,tags\n"
                    b"a@example.com,An\x00n\x1b,Por\x00to,v\x00ip\n"
                    b"b@example.com,Bob,Lyon,\n")
    report = import_csv(store, src, now=NOW, consent_source="x\x00y")
    assert (report.new, report.rejected) == (2, [])
    a = store.subscriber_by_email("a@example.com")
    assert (a.name, a.fields, a.tags, a.consent_source) == ("Ann", {"city": "Porto"}, ["vip"], "xy")
    store.close()


def test_add_subscriber_cleans_fields_tags_and_zone(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    sid, _ = add_subscriber(store, "a@example.com", now=NOW, name="A\x00", timezone=" UTC\x00 ",
                            fields={"ci\x00ty": "Li\x1bsbon", "n": 3}, tags=["\x00", "x\x07"])
    row = store.subscriber(sid)
    assert (row.name, row.timezone, row.fields, row.tags) == ("A", "UTC", {"city": "Lisbon", "n": 3}, ["x"])


def test_nul_and_esc_in_a_name_never_reach_the_to_header(project: Path, db_url: str) -> None:
    from tests.test_engine import make_engine

    engine, clock = make_engine(project, db_url)
    add_subscriber(engine.store, "ana@example.com", now=clock(), name="Ana\x00\x1b Silva", timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    engine.tick()
    [message] = engine.provider.outbox
    assert message.to == "Ana Silva <ana@example.com>"
    assert message.as_email()["To"] == "Ana Silva <ana@example.com>"


# -- export -------------------------------------------------------------------------------


def test_export_neutralises_formulas_and_a_reimport_gives_back_the_data(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    # Stored as is (upsert, not add_subscriber): data from before cleaning, or another tool.
    values = {"plan": "=HYPERLINK(\"http://evil.example\",\"x\")", "score": "-5", "handle": "@ana",
              "sum": "+1+1", "tabbed": "\t=1", "cr": "\r=1", "quoted": "'=2", "plain": "it's fine"}
    store.upsert_subscriber("-ana@example.com", now=NOW, name="=cmd|' /C calc'!A0", fields=values,
                            tags=["+vip", "x"], consent_source="@form")
    out = tmp_path / "out.csv"
    export_csv(store, out)
    [header, row] = list(csv.reader(out.open(encoding="utf-8", newline="")))
    cells = dict(zip(header, row, strict=True))
    assert cells["email"] == "'-ana@example.com" and cells["name"] == "'=cmd|' /C calc'!A0"
    assert (cells["tags"], cells["consent_source"]) == ("'+vip;x", "'@form")
    assert {k: cells[k] for k in values} == {
        "plan": "'=HYPERLINK(\"http://evil.example\",\"x\")", "score": "'-5", "handle": "'@ana",
        "sum": "'+1+1", "tabbed": "'\t=1", "cr": "'\r=1", "quoted": "''=2", "plain": "it's fine"}
    assert not [c for c in row if c and c[0] in "=+-@\t\r"]

    again = Store(f"sqlite:///{tmp_path / 'again.db'}")
    report = import_csv(again, out, now=NOW, consent_source="re-import")
    assert (report.new, report.rejected) == (1, [])
    back = again.subscriber_by_email("-ana@example.com")
    assert (back.name, back.tags) == ("=cmd|' /C calc'!A0", ["+vip", "x"])
    # Tab and CR at the start are whitespace to the import, which keeps fields to one line.
    assert back.fields == {**values, "tabbed": "=1", "cr": "=1"}
    store.close()
