"""What every benchmark here shares: the repository, a copy of the shipped course,
and a throwaway PostgreSQL schema on the local server."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COURSE = "glute-activation"


def copy_course(root: Path) -> Path:
    """A project folder holding the shipped templates and course."""
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "campaigns" / COURSE, root / "campaigns" / COURSE)
    return root


def pg_available() -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # any failure to connect means "no server here"
        return False


@contextlib.contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """A URL whose tables live in a new schema, dropped afterwards."""
    import sqlalchemy as sa

    schema = f"{prefix}_{int(time.time())}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
