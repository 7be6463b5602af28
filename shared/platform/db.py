"""Database engine, sessions and the declarative base: one Database object per process, built by
the entry point; each domain package declares its own tables on `Base`."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, create_engine
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Public ids look like the API reference's: `scan_1234567890abcdef`."""
    return f"{prefix}_{secrets.token_hex(8)}"


def public_id_default(prefix: str) -> str:
    """SQL for a random public id made by PostgreSQL itself (rows written in bulk get one too)."""
    return f"'{prefix}' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)"


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSONB, list: JSONB, datetime: DateTime(timezone=True)}


class Database:
    """Owns the engine and session factory for one database URL."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 20):
        self.url = url
        self.engine: Engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,  # survive a PostgreSQL restart without a process restart
            pool_timeout=5,
            connect_args={"connect_timeout": 5, "application_name": "policycortex"},
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Drop pooled connections (after fork: a child must not share its parent's sockets)."""
        self.engine.dispose(close=False)


def ensure_database(url: str) -> bool:
    """Create the database named in `url` if it does not exist; True when it was created."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
            return not exists
    finally:
        admin.dispose()
