import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sender.store import Store
from sender.subscribers import InvalidSubscriber, export_csv, import_csv

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
    assert (report.accepted, report.updated) == (1, 1)
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
    assert (report.accepted, report.rejected) == (2, [])
    assert store2.subscriber_by_email("a@example.com").fields == {"plan": "gold"}
