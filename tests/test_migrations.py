"""Schema migrations (issue #17): every process brings the project's tables to the
newest revision, the migrations build exactly what clinic_assistant/clinic/db.py describes,
and a database made by the release before migrations is upgraded with its data kept;
each on SQLite and PostgreSQL."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from clinic_assistant.clinic import db

from clinic_assistant import migrations

PROJECT = Path(__file__).resolve().parent.parent
ADDED_SINCE_THE_BASELINE = {"email_outbox", "clinic_detail_versions", "answer_versions",
                            "training_additions", "training_runs", "worker_heartbeats"}  # 0002, 0004-0006
COLUMNS_ADDED_SINCE_THE_BASELINE = {"staff_users": {"role"}}  # 0003


def tables_of_the_release_before_migrations() -> sa.MetaData:
    """db.py's tables as the release before migrations made them (without what was added since)."""
    old = sa.MetaData()
    for name, table in db.metadata.tables.items():
        if name not in ADDED_SINCE_THE_BASELINE:
            dropped = COLUMNS_ADDED_SINCE_THE_BASELINE.get(name, set())
            sa.Table(name, old, *(column.copy() for column in table.columns if column.name not in dropped))
    return old


def revision_of(url: str) -> "str | None":
    engine = sa.create_engine(url, future=True)
    with engine.connect() as connection:
        revision = migrations.current(connection)
    engine.dispose()
    return revision


def test_a_new_database_gets_the_newest_schema(database_url: str) -> None:
    engine = db.engine_for(database_url)
    assert revision_of(database_url) == migrations.head()
    assert set(db.metadata.tables) <= set(sa.inspect(engine).get_table_names())


def test_the_migrations_build_what_db_py_describes(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = sa.create_engine(database_url, future=True)
    migrations.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "include_name": lambda name, kind, parent: kind != "table" or name in db.metadata.tables})
        differences = compare_metadata(context, db.metadata)
    engine.dispose()
    assert differences == [], "db.py changed without a migration: python -m clinic_assistant.migrations --new ..."


def test_a_database_of_the_release_before_migrations_is_upgraded_with_its_data(database_url: str) -> None:
    # the previous release made its tables with create_all and kept no revision; tables
    # added since (by later migrations) did not exist then
    engine = sa.create_engine(database_url, future=True)
    old = tables_of_the_release_before_migrations()
    old.create_all(engine)
    with engine.begin() as connection:  # an account of then: it could do everything
        connection.execute(old.tables["staff_users"].insert().values(
            username="anna", display_name="Anna", password_hash="x", active=True, failed_logins=0,
            created_at=datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)))
    request_id = db.create_booking_request(
        engine, conversation_id="web:abc", channel="socketio", name="Priya Shah", phone="+17805550142",
        email=None, preferred_times="mornings", reason="neck pain", patient_type="new",
        now=datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc))
    engine.dispose()
    assert revision_of(database_url) is None

    db.engine_for.cache_clear()
    upgraded = db.engine_for(database_url)
    assert revision_of(database_url) == migrations.head()
    with upgraded.connect() as connection:
        row = connection.execute(sa.select(db.booking_requests.c.name, db.booking_requests.c.reason)
                                 .where(db.booking_requests.c.id == request_id)).one()
    assert tuple(row) == ("Priya Shah", "neck pain")
    assert "email_outbox" in sa.inspect(upgraded).get_table_names()
    with upgraded.connect() as connection:  # so it is an administrator now (0003)
        assert connection.execute(sa.select(db.staff_users.c.role)).scalars().all() == ["admin"]
    # and a second process starting on it changes nothing
    assert migrations.upgrade(upgraded) == migrations.head()


def test_the_command_says_what_it_did(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(PROJECT)}
    run = [sys.executable, "-m", "clinic_assistant.migrations"]
    first = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    again = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    assert f"new -> {migrations.head()}" in first
    assert "up to date" in again
