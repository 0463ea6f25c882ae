"""Models and migrations agree, and upgrades work from empty and from the previous revision."""

import uuid

import psycopg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from app import migrate
from app.models.base import Base
from tests.conftest import POSTGRES_URL, _postgres_schema_url


@pytest.fixture
def empty_engine(backend, tmp_path):
    if backend == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    schema = f"flokk_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    engine = create_engine(_postgres_schema_url(schema))
    yield engine
    engine.dispose()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


def test_upgrade_on_an_empty_database_creates_every_table(empty_engine):
    migrate.upgrade(empty_engine)
    assert set(Base.metadata.tables) <= set(inspect(empty_engine).get_table_names())
    assert migrate.is_up_to_date(empty_engine)


def test_models_and_migrations_agree(empty_engine):
    migrate.upgrade(empty_engine)
    assert migrate.differences(empty_engine) == []


def test_upgrade_from_the_previous_revision(empty_engine):
    script = ScriptDirectory.from_config(migrate.alembic_config(empty_engine))
    head = script.get_revision(script.get_current_head())
    previous = head.down_revision or "base"
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, previous)
    assert migrate.current_revision(empty_engine) == (None if previous == "base" else previous)
    migrate.upgrade(empty_engine)
    assert migrate.is_up_to_date(empty_engine)
    assert migrate.differences(empty_engine) == []


def test_db_upgrade_command_on_an_empty_database(empty_engine, cli):
    cli.env = {**cli.env, "FLOKK_DATABASE_URL": empty_engine.url.render_as_string(hide_password=False)}
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "(was empty)" in result.output
    assert "already up to date" in cli("db", "upgrade").output


def test_every_revision_has_a_downgrade():
    engine = create_engine("sqlite://")
    script = ScriptDirectory.from_config(migrate.alembic_config(engine))
    for revision in script.walk_revisions():
        assert revision.module.downgrade.__code__.co_code != (lambda: None).__code__.co_code, revision.revision
