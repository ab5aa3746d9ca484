"""What every benchmark here shares: the repository, a copy of the shipped course,
where to run (a throwaway PostgreSQL schema, or a SQLite file), and the line that
says on what machine, under what load, a figure was taken."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
# Where PostgreSQL runs unless --database-url says otherwise; a schema of the bench's own is
# made in it and dropped afterwards.
PG_URL = os.environ.get("DRIP_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
COURSE = "glute-activation"


def copy_course(root: Path) -> Path:
    """A project folder holding the shipped templates and course."""
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "campaigns" / COURSE, root / "campaigns" / COURSE)
    return root


# -- the machine ----------------------------------------------------------------------------------


def load() -> str:
    """The 1-, 5- and 15-minute load averages, e.g. "1.02 0.87 0.65"."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # no load average on this platform
        return "unknown"


def machine() -> str:
    """One line for the top of a bench's output: cores, load, Python, SQLite."""
    import sqlite3

    return (f"machine: {os.cpu_count()} CPUs, load average {load()} (1, 5, 15 min), "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")


def ratio(value: float, baseline: float) -> str:
    """`value` as a share of `baseline` measured in the same run, e.g. "41% of the floor"."""
    return f"{value / baseline:.0%}" if baseline else "n/a"


# -- where to run --------------------------------------------------------------------------------------


def add_database_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", metavar="URL",
        help="where to run: a PostgreSQL URL (the bench works in a schema of its own there and drops "
             "it afterwards) or sqlite:///FILE (a new file, kept). Given, it picks the backend. "
             f"Default: SQLite in a temporary folder, and PostgreSQL at $DRIP_BENCH_DATABASE_URL "
             f"or {PG_URL.split('?')[0]}")


def dialect_of(url: str) -> str:
    """'sqlite' or 'postgresql' for a database URL; anything else is a usage error."""
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise SystemExit(f"--database-url: {url!r} is neither sqlite:///FILE nor a postgresql:// URL")


def check_sqlite_target(url: str) -> None:
    """A bench fills its store from empty: refuse a SQLite file that exists already."""
    path = url.split("///", 1)[-1]
    if path and path != ":memory:" and Path(path).exists():
        raise SystemExit(f"--database-url: {path} exists; give a new file (the bench fills it from empty)")


def pg_available(url: str = PG_URL) -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # any failure to connect means "no server here"
        return False


def with_search_path(url: str, schema: str) -> str:
    """`url` with the connection option that puts its tables in `schema`."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def pg_schema(prefix: str, url: str = PG_URL, keep: bool = False) -> Iterator[str]:
    """A URL whose tables live in a new schema of `url`'s database, dropped afterwards
    (unless `keep`: then its URL is printed for another run)."""
    import sqlalchemy as sa

    schema = f"{prefix}_{int(time.time())}_{os.getpid()}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_search_path(url, schema)
    finally:
        if keep:
            print(f"kept schema {schema}: {with_search_path(url, schema)}")
        else:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def stores(database_url: str | None, wanted: set[str], tmp: Path, name: str,
           keep: bool = False) -> Iterator[tuple[str, contextlib.AbstractContextManager[str]]]:
    """(dialect, a context giving an empty store's URL) for each backend to run on: the one
    --database-url names, or else SQLite in `tmp` and PostgreSQL at PG_URL (when it answers)."""
    if database_url:
        dialect = dialect_of(database_url)
        if dialect not in wanted:
            raise SystemExit(f"--database-url is {dialect} but the bench was asked for "
                             f"{' and '.join(sorted(wanted))} only")
        if dialect == "sqlite":
            check_sqlite_target(database_url)
            yield dialect, contextlib.nullcontext(database_url)
        elif not pg_available(database_url):
            raise SystemExit(f"--database-url: PostgreSQL did not answer at {database_url.split('?')[0]}")
        else:
            yield dialect, pg_schema(name, database_url, keep)
        return
    if "sqlite" in wanted:
        yield "sqlite", contextlib.nullcontext(f"sqlite:///{tmp / f'{name}.db'}")
    if "postgresql" in wanted:
        if pg_available():
            yield "postgresql", pg_schema(name, PG_URL, keep)
        else:
            print(f"PostgreSQL did not answer at {PG_URL.split('?')[0]}; skipped "
                  "(--database-url or $DRIP_BENCH_DATABASE_URL to point elsewhere)")
