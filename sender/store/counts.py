"""Exact counts over big tables without reading their rows: each figure is a range of an
index, counted by the database without evaluating anything per row.

A `GROUP BY` over a million rows costs the database a comparison, an aggregate step (and
on SQLite a temporary b-tree) per row, and a `date()` per row when grouping by day: about
a microsecond each, so a million rows is a second. Counting one range of an index costs
tens of nanoseconds a row. So a grouped count here is two steps: find the groups by
skipping through the index, each step one seek (a recursive query on PostgreSQL, a few
queries on SQLite, whose planner then needs no statistics), then count each group as a
range.
The columns must lead an index (after the `fixed` ones) and hold no NULLs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

Key = tuple[Any, ...]
CHUNK = 100  # scalar subqueries per statement: one round trip, a statement still quick to plan


def _quoted(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def groups(conn: sa.Connection, table: sa.Table, columns: Sequence[str],
           fixed: Mapping[str, Any] | None = None, *, count: bool = True) -> dict[Key, int]:
    """{values of `columns`: rows} among rows with the `fixed` values (ids, statuses), e.g.
    enrolments per (campaign_id, status); with `count=False` only the groups (each 0).
    `fixed` and then `columns` must lead one of `table`'s indexes."""
    fixed = dict(fixed or {})
    q = {c: _quoted(conn, c) for c in [*fixed, *columns]}
    name = _quoted(conn, table.name)
    params = {f"f{i}": v for i, v in enumerate(fixed.values())}

    def where(alias: str) -> list[str]:
        return [f"{alias}.{q[c]} = :f{i}" for i, c in enumerate(fixed)]

    if conn.dialect.name == "postgresql":
        return _pg_groups(conn, name, q, columns, params, count, where)
    keys = _sqlite_groups(conn, name, [q[c] for c in columns], where("t"), params)
    if not count:
        return dict.fromkeys(keys, 0)
    return _sqlite_counts(conn, name, [q[c] for c in columns], keys, where("x"), params)


def _pg_groups(conn: sa.Connection, name: str, q: dict[str, str], columns: Sequence[str],
               params: dict[str, Any], count: bool,
               where: Callable[[str], list[str]]) -> dict[Key, int]:
    """`groups` on PostgreSQL: a loose index scan, the first group, then again and again the
    first one after it."""
    group = ", ".join(f"g.{q[c]}" for c in columns)
    picked = ", ".join(f"t.{q[c]}" for c in columns)
    base = " AND ".join(where("t")) or "TRUE"
    order = ", ".join(q[c] for c in columns)
    sql = (f"WITH RECURSIVE g AS ("
           f"(SELECT {picked} FROM {name} AS t WHERE {base} ORDER BY {order} LIMIT 1) "
           f"UNION ALL SELECT n.* FROM g CROSS JOIN LATERAL ("
           f"SELECT {picked} FROM {name} AS t WHERE {base} AND ({picked}) > ({group}) "
           f"ORDER BY {order} LIMIT 1) AS n) "
           f"SELECT {group} FROM g")
    keys = [tuple(row) for row in conn.execute(sa.text(sql), params)]
    if not count:
        return dict.fromkeys(keys, 0)
    # each group counted on its own: a statement that PostgreSQL may count in parallel,
    # which it never does for a subquery
    each = " AND ".join([*where("x"), *(f"x.{q[c]} = :k{j}" for j, c in enumerate(columns))])
    return {key: int(conn.execute(sa.text(f"SELECT count(*) FROM {name} AS x WHERE {each}"),
                                  {**params, **{f"k{j}": v for j, v in enumerate(key)}}).scalar_one())
            for key in keys}


def _sqlite_counts(conn: sa.Connection, name: str, columns: list[str], keys: list[Key],
                   where: list[str], params: dict[str, Any]) -> dict[Key, int]:
    """Rows of each group in `keys`, CHUNK groups a statement (one count subquery each)."""
    found: dict[Key, int] = {}
    for start in range(0, len(keys), CHUNK):
        part = keys[start:start + CHUNK]
        values = {**params, **{f"k{i}_{j}": v for i, key in enumerate(part) for j, v in enumerate(key)}}
        tallies = ", ".join(
            f"(SELECT count(*) FROM {name} AS x WHERE "
            + " AND ".join([*where, *(f"x.{c} = :k{i}_{j}" for j, c in enumerate(columns))]) + ")"
            for i in range(len(part)))
        found.update(zip(part, conn.execute(sa.text(f"SELECT {tallies}"), values).one(), strict=True))
    return found


def _sqlite_groups(conn: sa.Connection, name: str, columns: list[str], where: list[str],
                   params: dict[str, Any]) -> list[Key]:
    """The distinct values of `columns`, in index order, each found by one seek from the one
    before: the first row whose last column is greater with the others equal, else whose
    last but one is greater, and so on. (SQLite's own DISTINCT skips like this only once
    ANALYZE has counted the index; without statistics it reads every entry.)"""
    cols = ", ".join(f"t.{c}" for c in columns)
    keys: list[Key] = []
    first = " AND ".join(where) or "1"
    # the first group
    row = conn.execute(sa.text(f"SELECT {cols} FROM {name} AS t WHERE {first} ORDER BY {cols} LIMIT 1"),
                       params).first()
    while row is not None:
        keys.append(tuple(row))
        previous = {f"p{j}": v for j, v in enumerate(row)}
        row = None
        for level in range(len(columns) - 1, -1, -1):
            after = [*where, *(f"t.{c} = :p{j}" for j, c in enumerate(columns[:level])),
                     f"t.{columns[level]} > :p{level}"]
            # the next group, after the one before
            row = conn.execute(sa.text(f"SELECT {cols} FROM {name} AS t WHERE {' AND '.join(after)} "
                                       f"ORDER BY {cols} LIMIT 1"), {**params, **previous}).first()
            if row is not None:
                break
    return keys


def range_counts(conn: sa.Connection, table: sa.Table, column: str,
                 ranges: Sequence[tuple[Mapping[str, Any], datetime, datetime]], *, first: bool = False
                 ) -> list[tuple[int, Any]]:
    """For each (fixed values, start, end) of `ranges`: the rows with those values whose
    `column` lies in [start, end), and with `first` the smallest such value as the driver
    gives it (else None). The fixed columns and then `column` must lead an index. Written
    as text: compiling a hundred subqueries with SQLAlchemy took longer than running them."""
    name, col = _quoted(conn, table.name), _quoted(conn, column)
    out: list[tuple[int, Any]] = []
    for start in range(0, len(ranges), CHUNK):
        parts: list[str] = []
        params: list[sa.BindParameter[Any]] = []
        for i, (fixed, lo, hi) in enumerate(ranges[start:start + CHUNK]):
            conditions: list[str] = []
            for c, value in fixed.items():
                conditions.append(f"{_quoted(conn, c)} = :v{i}_{len(conditions)}")
                params.append(sa.bindparam(f"v{i}_{len(conditions) - 1}", value))
            conditions += [f"{col} >= :lo{i}", f"{col} < :hi{i}"]
            params += [sa.bindparam(f"lo{i}", lo, type_=table.c[column].type),
                       sa.bindparam(f"hi{i}", hi, type_=table.c[column].type)]
            where = " AND ".join(conditions)
            parts.append(f"(SELECT count(*) FROM {name} WHERE {where})")
            if first:
                parts.append(f"(SELECT min({col}) FROM {name} WHERE {where})")
        row = conn.execute(sa.text(f"SELECT {', '.join(parts)}").bindparams(*params)).one()
        out += ([(int(row[i]), row[i + 1]) for i in range(0, len(row), 2)] if first
                else [(int(n), None) for n in row])
    return out


def day_ranges(start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    """[start, end) cut at UTC midnights: (from, to, the UTC day "YYYY-MM-DD") each."""
    out = []
    lo = start.astimezone(UTC)
    while lo < end:
        hi = min(end, lo.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
        out.append((lo, hi, lo.strftime("%Y-%m-%d")))
        lo = hi
    return out
