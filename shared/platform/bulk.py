"""Bulk writes through COPY: rows are copied into a session-local staging table, then merged into
their real table by one INSERT ... SELECT ... ON CONFLICT, so a page of a thousand rows costs a few
round trips and no per-row statement parsing."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import column, table
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import TableClause

# COPY's text format: backslash, tab, newline and carriage return are escaped; \N is NULL.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_field(value: Any) -> str:
    """One value in COPY's text format (dicts and lists as JSON, for jsonb columns)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":")).translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def copy_text(rows: Iterable[Sequence[Any]]) -> str:
    return "".join("\t".join(map(copy_field, row)) + "\n" for row in rows)


def copy_rows(session: Session, table_name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows into a table through the session's own connection (and transaction)."""
    cursor = session.connection().connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN", io.StringIO(copy_text(rows)))
    finally:
        cursor.close()


@dataclass(frozen=True)
class Stage:
    """A temporary table with the columns that vary row by row; constants of a batch (tenant,
    scan, timestamps) are added by the INSERT ... SELECT that reads it."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, PostgreSQL type)

    @cached_property
    def table(self) -> TableClause:
        return table(self.name, *(column(name) for name, _ in self.columns))

    def load(self, session: Session, rows: Iterable[Sequence[Any]]) -> None:
        """Empty the stage (created on first use by this connection) and COPY the rows into it.
        The table lives as long as the pooled connection; it is emptied here rather than at commit,
        so one transaction may load it several times."""
        definition = ", ".join(f"{name} {kind}" for name, kind in self.columns)
        session.connection().exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {self.name} ({definition}); TRUNCATE {self.name}"
        )
        copy_rows(session, self.name, [name for name, _ in self.columns], rows)
