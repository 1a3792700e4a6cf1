"""The declarative base: constraint naming for Alembic and timezone-aware UTC datetimes."""

from __future__ import annotations

import enum
import fcntl
import os
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


# --- SQLite writers queue on a lock file ----------------------------------------------------------------
# SQLite lets one writer in at a time; the others retry in its busy handler, which sleeps 1, 2, 5, 10 ... 100 ms
# between tries, so a burst of writes waits far longer than the writes take (a long p99). Writers on a
# database file therefore first take an exclusive flock on "<database>-writers": the kernel wakes the next
# waiter the moment the lock is released. The flock is taken at BEGIN IMMEDIATE and released when the
# transaction ends (commit, rollback, or the pool resetting or closing the connection); a process that dies
# releases it too. Readers never touch it.

_WRITER_FD = "eventsys_writer_fd"
_WRITER_LOCKED = "eventsys_writer_locked"


def _writer_lock_path(conn: sa.Connection) -> str | None:
    database = conn.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writers"


def _acquire_writer_lock(conn: sa.Connection) -> None:
    path = _writer_lock_path(conn)
    if path is None:
        return
    info = conn.info
    fd = info.get(_WRITER_FD)
    if fd is None:
        fd = info[_WRITER_FD] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    info[_WRITER_LOCKED] = True


def _release_writer_lock(info: dict[Any, Any]) -> None:
    if info.pop(_WRITER_LOCKED, False):
        fcntl.flock(info[_WRITER_FD], fcntl.LOCK_UN)


@sa.event.listens_for(sa.Engine, "begin")
def _sqlite_on_begin(conn: sa.Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    if not _writes_expected():
        conn.exec_driver_sql("BEGIN")
        return
    _acquire_writer_lock(conn)
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        _release_writer_lock(conn.info)
        raise


@sa.event.listens_for(sa.Engine, "commit")
@sa.event.listens_for(sa.Engine, "rollback")
def _sqlite_on_transaction_end(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":
        _release_writer_lock(conn.info)


@sa.event.listens_for(sa.pool.Pool, "reset")
def _sqlite_on_reset(_dbapi_connection: Any, record: Any, _state: Any = None) -> None:
    _release_writer_lock(record.info)


@sa.event.listens_for(sa.pool.Pool, "close")
@sa.event.listens_for(sa.pool.Pool, "invalidate")
def _sqlite_on_close(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
    _release_writer_lock(record.info)
    fd = record.info.pop(_WRITER_FD, None)
    if fd is not None:
        os.close(fd)
