"""The migrations and the models agree, and the migrations run up, down and up again on an empty database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from eventsys.extensions import db
from tests.conftest import make_app


@pytest.fixture
def empty_database_url(database_url: str, tmp_path) -> Iterator[str]:
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL schema."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    schema = f"migrations_{secrets.token_hex(4)}"
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _diff(app) -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrations_match_the_models(empty_database_url: str) -> None:
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade(revision="heads")
        assert _diff(app) == []
        db.engine.dispose()


def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database_url: str) -> None:
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade(revision="heads")
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade(revision="heads")
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"event", "person", "organization", "user_account", "event_role"} <= tables
        db.engine.dispose()


def test_the_migrations_form_one_line(app) -> None:
    """One head: work done on parallel branches is put in a line before it lands."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}; set each new migration's down_revision in turn"
