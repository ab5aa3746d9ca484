"""Exact counts over big tables without reading their rows: each figure is a range of an
index, counted by the database without evaluating anything per row.

A `GROUP BY` over a million rows costs the database a comparison, an aggregate step (and
on SQLite a temporary b-tree) per row, and a `date()` per row when grouping by day: about
a microsecond each, so a million rows is a second. Counting one range of an index costs
tens of nanoseconds a row. So a grouped count here is two steps: find the groups by
skipping through the index (SQLite's DISTINCT does that by itself; PostgreSQL is walked
with a recursive query, each step one index seek), then count each group as a range.
The columns must lead an index (after the `fixed` ones) and hold no NULLs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

Key = tuple[Any, ...]
CHUNK = 100  # scalar subqueries per statement: one round trip, a statement still quick to plan


def _quoted(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def group_counts(conn: sa.Connection, table: sa.Table, columns: Sequence[str],
                 fixed: Mapping[str, Any] | None = None) -> dict[Key, int]:
    """{values of `columns`: rows} among rows with the `fixed` values, e.g. enrolments per
    (campaign_id, status). `fixed` and then `columns` must lead one of `table`'s indexes."""
    fixed = dict(fixed or {})
    q = {c: _quoted(conn, c) for c in [*fixed, *columns]}
    name = _quoted(conn, table.name)
    params = {f"f{i}": table.c[c].type.bind_processor(conn.dialect)(v)  # type: ignore[misc]
              if table.c[c].type.bind_processor(conn.dialect) else v
              for i, (c, v) in enumerate(fixed.items())}

    def where(alias: str) -> list[str]:
        return [f"{alias}.{q[c]} = :f{i}" for i, c in enumerate(fixed)]

    group = ", ".join(f"g.{q[c]}" for c in columns)
    matches = " AND ".join([*where("x"), *(f"x.{q[c]} = g.{q[c]}" for c in columns)])
    count = f"(SELECT count(*) FROM {name} AS x WHERE {matches})"
    cols = ", ".join(q[c] for c in columns)
    if conn.dialect.name == "postgresql":
        # A loose index scan: the first group, then repeatedly the first one after it.
        base = " AND ".join(where("t")) or "TRUE"
        after = f"({', '.join(f't.{q[c]}' for c in columns)}) > ({group})"
        sql = (f"WITH RECURSIVE g AS ("
               f"(SELECT {', '.join(f't.{q[c]}' for c in columns)} FROM {name} AS t WHERE {base} "
               f"ORDER BY {cols} LIMIT 1) "
               f"UNION ALL SELECT n.* FROM g CROSS JOIN LATERAL ("
               f"SELECT {', '.join(f't.{q[c]}' for c in columns)} FROM {name} AS t "
               f"WHERE {base} AND {after} ORDER BY {cols} LIMIT 1) AS n) "
               f"SELECT {group}, {count} FROM g")
    else:
        # SQLite's DISTINCT on the leading columns of an index seeks from group to group.
        base = " AND ".join(where("t")) or "1"
        sql = (f"SELECT {group}, {count} FROM (SELECT DISTINCT {', '.join(f't.{q[c]}' for c in columns)} "
               f"FROM {name} AS t WHERE {base}) AS g")
    return {tuple(row[:-1]): int(row[-1]) for row in conn.execute(sa.text(sql), params)}


def range_counts(conn: sa.Connection, table: sa.Table, fixed: Mapping[str, Any], column: str,
                 ranges: Sequence[tuple[datetime, datetime]], *, first: bool = False
                 ) -> list[tuple[int, Any]]:
    """For each [start, end) of `ranges`: (rows with the `fixed` values whose `column` lies
    in it, and with `first` the smallest such value, else None). `fixed` and then `column`
    must lead an index."""
    equal = [table.c[c] == v for c, v in fixed.items()]
    col = table.c[column]
    out: list[tuple[int, Any]] = []
    for start in range(0, len(ranges), CHUNK):
        parts: list[Any] = []
        for lo, hi in ranges[start:start + CHUNK]:
            inside = [*equal, col >= lo, col < hi]
            parts.append(sa.select(sa.func.count()).select_from(table).where(*inside).scalar_subquery())
            if first:
                parts.append(sa.select(sa.func.min(col)).where(*inside).scalar_subquery())
        row = conn.execute(sa.select(*parts)).one()
        step = 2 if first else 1
        out += [(int(row[i]), row[i + 1] if first else None) for i in range(0, len(row), step)]
    return out
