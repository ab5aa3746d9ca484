"""What every part of `Store` is written against: its SQLAlchemy engine, the dialect,
transactions and the dialect's INSERT. `Store` (sender/store/__init__.py) is made of
parts, one per concern, each a class over this base: the subscriber and suppression
queries, the newsletter queries, the report queries, and in `Store` itself the
claim and record queries that a tick runs."""

from __future__ import annotations

from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

# A result row of any shape. `sa.Row` is generic over its column types (a TypeVarTuple), so
# `sa.Row[Any]` would be a row of exactly one column.
AnyRow: TypeAlias = sa.Row[*tuple[Any, ...]]


class StoreBase:
    url: str
    engine: sa.Engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def begin(self) -> Any:
        return self.engine.begin()

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT that knows ON CONFLICT in this dialect."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)
