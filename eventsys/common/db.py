"""The declarative base: constraint naming for Alembic and timezone-aware UTC datetimes."""

from __future__ import annotations

import enum
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import MANYTOONE, DeclarativeBase, Session, make_transient_to_detached, registry
from sqlalchemy.orm.attributes import set_committed_value

F = TypeVar("F")

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


#: Set by ``write_transaction()``: how the next SQLite transaction begins ("immediate" or "late"; "" = by request).
_sqlite_begin: ContextVar[str] = ContextVar("sqlite_begin", default="")

#: Attribute of a view function whose writing requests begin late (see ``late_write_lock``).
LATE_ATTR = "sqlite_late_write_lock"


def _begin_mode() -> str:
    """How an SQLite transaction begins: "deferred" (reads), "immediate" (writes) or "late" (reads, then writes)."""
    mode = _sqlite_begin.get()
    if mode:
        return mode
    from flask import current_app, has_request_context, request

    if not has_request_context() or request.method in ("GET", "HEAD", "OPTIONS"):
        return "deferred"
    view = current_app.view_functions.get(request.endpoint or "")
    return "late" if getattr(view, LATE_ATTR, False) else "immediate"


@contextmanager
def write_transaction(*, late: bool = False) -> Iterator[None]:
    """Transactions begun inside this block take SQLite's write lock at once (BEGIN IMMEDIATE).

    Requests other than GET/HEAD/OPTIONS do so already. Jobs and commands that read, then write under a
    lock (capacity, check-in) use this block: a deferred SQLite transaction that read a snapshot cannot
    safely upgrade to a writer later. PostgreSQL is unaffected; it locks rows (see eventsys.common.locking).

    ``late=True`` begins them late instead (see ``late_write_lock``): for code whose services call
    ``claim_write_lock`` before they decide.
    """
    token = _sqlite_begin.set("late" if late else "immediate")
    try:
        yield
    finally:
        _sqlite_begin.reset(token)


def late_write_lock(view: F) -> F:
    """Mark a view whose writing requests take SQLite's write lock late, when their service is about to decide.

    SQLite has one writer at a time, and a writing request normally holds the write lock from its first query
    (BEGIN IMMEDIATE) to its commit: form validation, signature checks and lookups all run while every other
    writer waits. A marked view's transaction begins without BEGIN instead: until its service calls
    ``claim_write_lock``, each query reads the latest committed data on its own (as PostgreSQL's READ COMMITTED
    does). ``claim_write_lock`` takes the writers' queue and BEGIN IMMEDIATE; everything the service decides
    on is read after it. A statement that writes before the claim claims first, so nothing is ever written
    outside the lock. Only views whose services claim before deciding (registration, a door scan) are marked;
    every other writing request keeps BEGIN IMMEDIATE. PostgreSQL is unaffected.
    """
    setattr(view, LATE_ATTR, True)
    return view


def claim_write_lock(session: Session) -> bool:
    """Take SQLite's write lock now if this transaction began late; True if it did (what it read may be stale).

    A no-op elsewhere: on PostgreSQL, and in SQLite transactions that hold the lock from BEGIN IMMEDIATE.
    """
    connection = session.connection()
    if not connection.info.get(_LATE):
        return False
    _claim(connection)
    return True


def commit_last(session: Session) -> None:
    """Commit a request's transaction when nothing will read its objects again (the answer is already built).

    As ``session.commit()``, without expiring every object the session holds (a walk over their attributes
    that only pays off when they are read after the commit). The session's setting is restored afterwards.
    """
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


# --- one row at once, without the unit of work ------------------------------------------------------

_INSERTS: dict[sa.Table, sa.Insert] = {}


def insert_now(session: Session, obj: object) -> None:
    """INSERT the new object ``obj`` at once with one statement, without the unit of work; it joins ``session``.

    For the hottest write paths (a registration, a door scan), where the unit of work's bookkeeping for one
    new row costs more than the INSERT. ``obj`` must be transient; its many-to-one relationships must point
    at rows that have their ids (they give its foreign keys); columns it leaves unset take their defaults.
    Afterwards ``obj`` is persistent with every column as stored, as if it had been flushed and read back.
    Raises what the database raises (IntegrityError ...) with ``obj`` still transient.
    """
    state = sa.inspect(obj)
    if not state.transient:
        raise ValueError("insert_now() takes a new object")
    mapper = state.mapper
    table = mapper.local_table
    values: dict[str, Any] = {}
    for relationship in mapper.relationships:
        if relationship.direction is MANYTOONE and relationship.key in state.dict:
            target = state.dict[relationship.key]
            for local, remote in relationship.local_remote_pairs:
                key = relationship.mapper.get_property_by_column(remote).key
                values[local.key] = None if target is None else getattr(target, key)
    for prop in mapper.column_attrs:
        if prop.key in state.dict:
            values[prop.columns[0].key] = state.dict[prop.key]
    statement = _INSERTS.get(table)  # type: ignore[arg-type]
    if statement is None:
        statement = _INSERTS[table] = sa.insert(table).returning(*table.c)  # type: ignore[arg-type]
    row = session.execute(statement, values).one()._mapping
    for prop in mapper.column_attrs:
        set_committed_value(obj, prop.key, row[prop.columns[0]])
    make_transient_to_detached(obj)
    session.add(obj)


#: A column whose value on insert comes from the database (a server default, or a default computed per row).
_FROM_DATABASE = object()

#: Per mapper: its INSERT, its (attribute, column, value when unset) triples and its primary key's attribute.
_INSERT_PLANS: dict[Any, tuple[sa.Insert, list[tuple[str, str, Any]], str]] = {}


def _unset_value(column: sa.Column[Any]) -> Any:
    """What a column left unset holds once inserted, if known in Python: None, or its constant default."""
    default = column.default
    if column.server_default is not None or (default is not None and not default.is_scalar):  # type: ignore[attr-defined]
        return _FROM_DATABASE
    return None if default is None else default.arg  # type: ignore[attr-defined]


def _insert_plan(mapper: Any) -> tuple[sa.Insert, list[tuple[str, str, Any]], str]:
    if len(mapper.primary_key) != 1:
        raise ValueError("insert_complete() takes a single-column primary key")
    key_column = mapper.primary_key[0]
    columns = [
        (
            prop.key,
            prop.columns[0].key,
            _FROM_DATABASE if prop.columns[0] is key_column else _unset_value(prop.columns[0]),
        )
        for prop in mapper.column_attrs
    ]
    plan = (sa.insert(mapper.local_table), columns, mapper.get_property_by_column(key_column).key)
    _INSERT_PLANS[mapper] = plan
    return plan


def insert_complete(session: Session, obj: object) -> None:
    """INSERT the new object ``obj`` with one statement, knowing its values in Python; it joins ``session``.

    Cheaper than ``insert_now`` for a hot write path (a registration): the statement runs on the session's
    connection without the ORM's execution, and only the new primary key is read back. A column left unset
    holds None, or its constant default (both set on ``obj`` too); one whose default is computed per row or by
    the database is read when first used. Foreign keys must be set as columns: relationships are never written,
    only kept as loaded (set them afterwards with ``set_committed_value``). Afterwards ``obj`` is persistent.
    Raises what the database raises (IntegrityError ...) with ``obj`` still transient.
    """
    state = sa.inspect(obj)
    if not state.transient:
        raise ValueError("insert_complete() takes a new object")
    statement, columns, key = _INSERT_PLANS.get(state.mapper) or _insert_plan(state.mapper)
    values = state.dict
    params = {}
    for attr, column, unset in columns:
        if attr in values:
            params[column] = values[attr]
        elif unset is not _FROM_DATABASE:
            params[column] = values[attr] = unset
    values[key] = session.connection().execute(statement, params).inserted_primary_key[0]  # type: ignore[index]
    make_transient_to_detached(obj)
    session.add(obj)


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


#: In conn.info: the transaction began late and has not claimed the write lock yet (no BEGIN was sent).
_LATE = "eventsys_sqlite_late"


def _claim(conn: sa.Connection) -> None:
    late = conn.info.pop(_LATE, False)
    _acquire_writer_lock(conn)
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        _release_writer_lock(conn.info)
        if late:  # still no transaction: the next write must claim again, never run outside one
            conn.info[_LATE] = True
        raise


@sa.event.listens_for(sa.Engine, "begin")
def _sqlite_on_begin(conn: sa.Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    mode = _begin_mode()
    if mode == "deferred":
        conn.exec_driver_sql("BEGIN")
    elif mode == "late":
        conn.info[_LATE] = True  # no BEGIN: SQLite runs each read on its own until the claim
    else:
        _claim(conn)


@sa.event.listens_for(sa.Engine, "before_cursor_execute")
def _sqlite_claim_before_writing(
    conn: sa.Connection, _cursor: Any, statement: str, _parameters: Any, _context: Any, _executemany: bool
) -> None:
    """A late transaction that writes (or opens a SAVEPOINT) before claiming the write lock claims it first."""
    if conn.info.get(_LATE) and statement.lstrip()[:6].upper() not in ("SELECT", "PRAGMA"):
        _claim(conn)


@sa.event.listens_for(sa.Engine, "commit")
def _sqlite_on_commit(conn: sa.Connection) -> None:
    """COMMIT before handing the writers' queue on: the next writer must not find SQLite still locked.

    (This event runs before SQLAlchemy's own commit, which then has nothing left to do.) A next writer woken
    before the COMMIT would hit SQLite's lock and sleep in its busy handler while holding the queue.
    """
    if conn.dialect.name != "sqlite":
        return
    conn.info.pop(_LATE, None)
    if not conn.info.get(_WRITER_LOCKED):
        return
    import sqlite3

    try:
        conn.connection.dbapi_connection.commit()  # type: ignore[union-attr]
    except sqlite3.Error as error:
        raise sa.exc.DBAPIError.instance("COMMIT", None, error, sqlite3.Error) from error
    finally:
        _release_writer_lock(conn.info)


@sa.event.listens_for(sa.Engine, "rollback")
def _sqlite_on_rollback(conn: sa.Connection) -> None:
    """ROLLBACK before handing the writers' queue on, for the same reason as COMMIT."""
    if conn.dialect.name != "sqlite":
        return
    conn.info.pop(_LATE, None)
    if not conn.info.get(_WRITER_LOCKED):
        return
    if conn.invalidated or conn.closed:  # nothing to roll back here; SQLAlchemy skips it too
        _release_writer_lock(conn.info)
        return
    import sqlite3

    try:
        conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
    except sqlite3.Error as error:
        raise sa.exc.DBAPIError.instance("ROLLBACK", None, error, sqlite3.Error) from error
    finally:
        _release_writer_lock(conn.info)


@sa.event.listens_for(sa.pool.Pool, "reset")
def _sqlite_on_reset(_dbapi_connection: Any, record: Any, _state: Any = None) -> None:
    record.info.pop(_LATE, None)
    _release_writer_lock(record.info)


@sa.event.listens_for(sa.pool.Pool, "close")
@sa.event.listens_for(sa.pool.Pool, "invalidate")
def _sqlite_on_close(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
    _release_writer_lock(record.info)
    fd = record.info.pop(_WRITER_FD, None)
    if fd is not None:
        os.close(fd)
