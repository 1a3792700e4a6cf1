"""The declarative base: constraint naming for Alembic and timezone-aware UTC datetimes."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A datetime stored in UTC that always comes back timezone-aware.

    SQLite keeps no offset, so values are normalised to UTC on the way in and tagged UTC on the way out.
    Naive datetimes are refused: they are a bug waiting to show a time an hour or nine off.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store timezone-aware datetimes only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def enum_column(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, storing the enum's values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Base class of every model."""

    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


@sa.event.listens_for(sa.Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Make SQLite behave: foreign keys on, WAL, a busy timeout, and transactions SQLAlchemy controls."""
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_on_begin) so SAVEPOINTs and locking work as documented.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: Set by ``write_transaction()``: the next SQLite transaction takes the write lock at BEGIN.
_sqlite_immediate: ContextVar[bool] = ContextVar("sqlite_immediate", default=False)


def _writes_expected() -> bool:
    if _sqlite_immediate.get():
        return True
    from flask import has_request_context, request

    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


@contextmanager
def write_transaction() -> Iterator[None]:
    """Transactions begun inside this block take SQLite's write lock at once (BEGIN IMMEDIATE).

    Requests other than GET/HEAD/OPTIONS do so already. Jobs and commands that read, then write under a
    lock (capacity, check-in) use this block: a deferred SQLite transaction that read a snapshot cannot
    safely upgrade to a writer later. PostgreSQL is unaffected; it locks rows (see eventsys.common.locking).
    """
    token = _sqlite_immediate.set(True)
    try:
        yield
    finally:
        _sqlite_immediate.reset(token)


@sa.event.listens_for(sa.Engine, "begin")
def _sqlite_on_begin(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _writes_expected() else "BEGIN")
