"""The task queue (Huey): bulk mail, reminders and PDFs run here, never inside a web request.

Storage is SQLite in ``instance/huey.db`` by default and Redis when ``REDIS_URL`` is set. The worker is
``huey_consumer eventsys.worker.huey`` (``make run`` starts it beside the web server). Tests run tasks
eagerly (``TASKS_IMMEDIATE``).

Every task runs in a fresh application context, so it gets its own database session.
Services never enqueue directly: they call ``after_commit(task, ...)``, and the task is enqueued only
once the current transaction has committed, so a worker never reads rows that were rolled back or not
yet visible.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from sqlalchemy import event
from sqlalchemy.orm import Session

from eventsys.extensions import db

INSTANCE_DIR = str(Path(__file__).resolve().parents[2] / "instance")


def _make_huey() -> Huey:
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return RedisHuey("eventsys", url=redis_url, utc=True)
    os.makedirs(INSTANCE_DIR, exist_ok=True)
    return SqliteHuey("eventsys", filename=os.path.join(INSTANCE_DIR, "huey.db"), utc=True)


huey: Huey = _make_huey()

_worker_app = None


def _app_for_task():  # type: ignore[no-untyped-def]
    """The app a task runs in: the caller's (eager mode), or one built once per worker process."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _worker_app is None:
        from eventsys import create_app

        _worker_app = create_app(os.environ.get("EVENTSYS_CONFIG", "production"))
    return _worker_app


def _in_app_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
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
    db.session.info.setdefault(_PENDING, []).append((task, args, kwargs))


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    for task, args, kwargs in pending:
        task(*args, **kwargs)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def configure_tasks(app: Any) -> None:
    """Run tasks eagerly when the app asks for it (tests)."""
    if app.config.get("TASKS_IMMEDIATE"):
        huey.immediate = True
