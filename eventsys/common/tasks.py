"""The task queue (Huey): bulk mail, reminders and PDFs run here, never inside a web request.

Storage is Redis when ``REDIS_URL`` is set, else SQLite in ``instance/huey.db`` (``TASKS_SQLITE_PATH``).
``configure_tasks(app)``, called by ``create_app``, points the queue at it. The worker is
``huey_consumer eventsys.worker.huey`` (``make run`` starts it beside the web server); it also runs the
periodic jobs. Tests run tasks eagerly (``TASKS_IMMEDIATE``), or start a real consumer.

Every task runs in a fresh application context, so it gets its own database session (and commits it).
Services never enqueue directly: they call ``after_commit(task, ...)``, and the task is enqueued only
once the current transaction has committed, so a worker never reads rows that were rolled back or not
yet visible. A rollback drops what was queued in it; a SAVEPOINT (``begin_nested``) that is released
keeps its tasks waiting for the outer commit, and one that is rolled back drops only its own.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from eventsys.extensions import db

# Until ``configure_tasks`` runs, tasks go nowhere durable: nothing may be enqueued at import time.
huey: Huey = Huey("eventsys", utc=True, storage_class=MemoryStorage)

_worker_app: Flask | None = None


class _SqliteStorage(SqliteStorage):
    """Huey's SQLite storage with the app database's durability: WAL and synchronous=NORMAL.

    Huey leaves SQLite at synchronous=FULL, an fsync on every enqueue inside web requests. NORMAL in WAL
    mode survives an application crash; only an OS crash or power loss can drop the last commits.
    """

    def _create_connection(self):  # type: ignore[no-untyped-def]
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


def configure_tasks(app: Flask) -> None:
    """Point the queue at the app's storage (Redis, else SQLite), or run tasks eagerly (TASKS_IMMEDIATE)."""
    immediate = bool(app.config.get("TASKS_IMMEDIATE"))
    redis_url = app.config.get("TASKS_REDIS_URL")
    if redis_url:
        storage_class: type = RedisStorage
        storage_kwargs: dict[str, Any] = {"url": redis_url}
    else:
        path = app.config.get("TASKS_SQLITE_PATH") or os.path.join(app.instance_path, "huey.db")
        storage_class, storage_kwargs = _SqliteStorage, {"filename": str(path)}
    if immediate:
        # In-memory storage for results and schedules; each task runs in the caller as it is enqueued.
        storage_class, storage_kwargs = MemoryStorage, {}
    else:
        if storage_class is _SqliteStorage:
            os.makedirs(os.path.dirname(os.path.abspath(storage_kwargs["filename"])), exist_ok=True)
    if huey.immediate != immediate or huey.storage_class is not storage_class or huey.storage_kwargs != storage_kwargs:
        huey.storage_class = storage_class
        huey.storage_kwargs = storage_kwargs
        huey._immediate = immediate  # the setter would rebuild the storage once more
        huey.storage = huey.create_storage()


def set_worker_app(app: Flask) -> None:
    """The app tasks run in when no app context is active (the worker process)."""
    global _worker_app
    _worker_app = app


def _app_for_task() -> Flask:
    """The app a task runs in: the caller's (eager mode), or the worker's."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _worker_app is None:
        from eventsys import create_app

        _worker_app = create_app(os.environ.get("EVENTSYS_CONFIG", "production"), TASKS_IMMEDIATE=False)
    return _worker_app


def _in_app_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        # A new app context gets its own scoped session (Flask-SQLAlchemy scopes sessions by app context).
        with _app_for_task().app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return run


def app_task(**task_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Like ``huey.task``, but the function runs inside a fresh app context with its own DB session."""
    return lambda fn: huey.task(**task_options)(_in_app_context(fn))


def app_periodic_task(validate_datetime: Callable[..., bool], **task_options: Any) -> Callable[..., Any]:
    """Like ``huey.periodic_task``, inside a fresh app context."""
    return lambda fn: huey.periodic_task(validate_datetime, **task_options)(_in_app_context(fn))


_PENDING = "eventsys_after_commit"


def after_commit(task: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Enqueue ``task(*args, **kwargs)`` once the current transaction commits; drop it on rollback."""
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any query still drops the task
    owner = session.get_nested_transaction()  # None: the outermost transaction
    session.info.setdefault(_PENDING, []).append((owner, task, args, kwargs))


def pending_tasks(session: Session | None = None) -> list[tuple[Callable[..., Any], tuple, dict]]:
    """What is waiting for the commit of ``session`` (default: the current one); for tests and debugging."""
    session = session or db.session()
    return [(task, args, kwargs) for _owner, task, args, kwargs in session.info.get(_PENDING, [])]


def discard_pending(task: Callable[..., Any], session: Session | None = None) -> int:
    """Forget the calls of ``task`` waiting for the commit of ``session`` (default: the current one).

    For code that replays the past through the services, such as the demo's 2022 registrations: the services
    queue their emails as usual, and the caller drops them so that nobody is mailed about a past event.
    Returns how many calls were dropped.
    """
    session = session or db.session()
    pending = session.info.get(_PENDING, [])
    kept = [item for item in pending if item[1] is not task]
    session.info[_PENDING] = kept
    return len(pending) - len(kept)


def _nearest_savepoint(transaction: SessionTransaction | None) -> SessionTransaction | None:
    while transaction is not None and not transaction.nested:
        transaction = transaction.parent
    return transaction


def _inside(owner: SessionTransaction | None, transaction: SessionTransaction) -> bool:
    while owner is not None:
        if owner is transaction:
            return True
        owner = owner.parent
    return False


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is not None:  # a released SAVEPOINT: its tasks now wait for the enclosing transaction
        parent = _nearest_savepoint(savepoint.parent)
        session.info[_PENDING] = [
            (parent if owner is savepoint else owner, task, args, kwargs)
            for owner, task, args, kwargs in session.info.get(_PENDING, [])
        ]
        return
    pending = session.info.pop(_PENDING, [])
    for _owner, task, args, kwargs in pending:
        task(*args, **kwargs)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is None:
        session.info.pop(_PENDING, None)
        return
    session.info[_PENDING] = [item for item in session.info.get(_PENDING, []) if not _inside(item[0], savepoint)]


@event.listens_for(Session, "after_transaction_end")
def _drop_unfinished(session: Session, transaction: SessionTransaction) -> None:
    """A session closed without commit (e.g. removed at the end of a request) enqueues nothing."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
