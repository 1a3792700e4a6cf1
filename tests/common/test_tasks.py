"""The task queue: after-commit enqueueing, a session of its own per task, storage choice, and a real worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from eventsys.common.tasks import after_commit, app_task, configure_tasks, huey, pending_tasks
from eventsys.events.models import Person
from eventsys.extensions import db
from eventsys.registration.models import Mode
from eventsys.registration.notifications import notify_confirmed
from tests import factories

ran: list[object] = []


@app_task()
def record(value: object) -> None:
    """A task that remembers it ran, and what its session could see."""
    ran.append(value)


@app_task()
def look_up_person(person_id: int) -> None:
    person = db.session.get(Person, person_id)
    ran.append((person.name if person else None, id(db.session())))


@app_task()
def rename_person(person_id: int, name: str) -> None:
    db.session.get(Person, person_id).name = name
    db.session.commit()


@pytest.fixture(autouse=True)
def _clear() -> None:
    ran.clear()


def test_tasks_wait_for_the_commit(app: Flask) -> None:
    after_commit(record, "first")
    db.session.flush()
    assert ran == []
    assert [args for _task, args, _kw in pending_tasks()] == [("first",)]
    db.session.commit()
    assert ran == ["first"]
    db.session.commit()
    assert ran == ["first"], "a task runs once, not on every later commit"


def test_rollback_drops_the_tasks(app: Flask) -> None:
    after_commit(record, "never")
    db.session.rollback()
    db.session.commit()
    assert ran == []


def test_released_savepoint_waits_for_the_outer_commit(app: Flask) -> None:
    after_commit(record, "outer")
    with db.session.begin_nested():
        after_commit(record, "inside")
    assert ran == [], "releasing a SAVEPOINT is not a commit"
    db.session.commit()
    assert ran == ["outer", "inside"]


def test_rolled_back_savepoint_drops_only_its_own_tasks(app: Flask) -> None:
    after_commit(record, "kept")
    savepoint = db.session.begin_nested()
    after_commit(record, "dropped")
    savepoint.rollback()
    assert ran == []
    db.session.commit()
    assert ran == ["kept"]


def test_a_closed_session_enqueues_nothing(app: Flask) -> None:
    after_commit(record, "lost")
    db.session.close()
    db.session.commit()
    assert ran == []


def test_a_task_gets_its_own_session_and_sees_committed_rows(app: Flask) -> None:
    person = factories.PersonFactory(name="Oh Se-hoon")
    caller_session = id(db.session())
    after_commit(look_up_person, person.id)
    db.session.commit()
    [(name, task_session)] = ran
    assert name == "Oh Se-hoon"
    assert task_session != caller_session


def test_what_a_task_commits_is_seen_by_the_caller(app: Flask) -> None:
    person = factories.PersonFactory(name="Before")
    after_commit(rename_person, person.id, "After")
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(sa.select(Person.name).where(Person.id == person.id)) == "After"


def test_storage_is_sqlite_by_default_and_redis_with_redis_url(app: Flask, tmp_path: Path) -> None:
    try:
        app.config.update(TASKS_IMMEDIATE=False, TASKS_REDIS_URL=None, TASKS_SQLITE_PATH=str(tmp_path / "q.db"))
        configure_tasks(app)
        assert not huey.immediate
        assert isinstance(huey.storage, SqliteStorage)
        assert (tmp_path / "q.db").exists()
        app.config.update(TASKS_REDIS_URL="redis://127.0.0.1:6399/0")  # not contacted until a task is queued
        configure_tasks(app)
        assert isinstance(huey.storage, RedisStorage)
    finally:
        app.config.update(TASKS_IMMEDIATE=True, TASKS_REDIS_URL=None)
        configure_tasks(app)
    assert huey.immediate and isinstance(huey.storage, MemoryStorage)


def test_a_real_worker_sends_the_confirmation(
    committing_app: Flask, database_url: str, smtp_controller, tmp_path: Path
) -> None:
    """huey_consumer in its own process picks the task from SQLite storage and mails through SMTP."""
    queue_file = tmp_path / "huey.db"
    registration = factories.RegistrationFactory(mode=Mode.ONLINE, person__email="worker@example.org")
    db.session.commit()
    committing_app.config.update(TASKS_IMMEDIATE=False, TASKS_SQLITE_PATH=str(queue_file), TASKS_REDIS_URL=None)
    configure_tasks(committing_app)
    try:
        notify_confirmed(registration)
        db.session.commit()
        assert len(huey) == 1, "the task waits in the SQLite queue"
    finally:
        committing_app.config.update(TASKS_IMMEDIATE=True)
        configure_tasks(committing_app)

    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
        "EVENTSYS_CONFIG": "development",
        "EVENTSYS_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "TASKS_SQLITE_PATH": str(queue_file),
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": smtp_controller.host,
        "MAIL_PORT": str(smtp_controller.port),
        "BASE_URL": "https://events.example.org",
    }
    consumer = Path(sys.executable).parent / "huey_consumer"
    worker = subprocess.Popen(
        [str(consumer), "eventsys.worker.huey", "-n", "-w", "1", "-d", "0.05", "-m", "0.2", "-b", "1.0"],
        env=env,
        cwd=str(Path(__file__).resolve().parents[2]),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        [message] = smtp_controller.wait_for(1, timeout=30)
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            output, _ = worker.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
    assert message["To"].addresses[0].addr_spec == "worker@example.org"
    text = message.get_body(("plain",)).get_content()
    assert f"https://events.example.org/join/{registration.join_token}" in text
    assert b"Traceback" not in output, output.decode(errors="replace")


def test_worker_module_uses_durable_storage(tmp_path: Path) -> None:
    """``eventsys.worker`` builds the app with tasks queued in SQLite, never eagerly, whatever the config says."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import eventsys.worker as w, huey.storage as s; print(isinstance(w.huey.storage, s.SqliteStorage))",
        ],
        env={
            **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
            "EVENTSYS_CONFIG": "development",
            "EVENTSYS_INSTANCE_PATH": str(tmp_path),
            "TASKS_SQLITE_PATH": str(tmp_path / "huey.db"),
        },
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    assert (tmp_path / "huey.db").exists()


def test_the_sqlite_queue_does_not_fsync_on_every_enqueue(tmp_path) -> None:
    """Enqueueing happens inside web requests: WAL with synchronous=NORMAL, like the app's own database."""
    from eventsys.common.tasks import _SqliteStorage

    storage = _SqliteStorage(name="t", filename=str(tmp_path / "q.db"))
    with storage.db() as cursor:
        assert cursor.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL
        assert cursor.execute("pragma journal_mode").fetchone()[0] == "wal"
