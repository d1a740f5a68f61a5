"""Schema migrations of the project's tables (Alembic), on SQLite and PostgreSQL.

    python -m clinic_assistant.migrations            upgrade to the newest (make run does it)
    python -m clinic_assistant.migrations --status   the database's revision and the newest
    python -m clinic_assistant.migrations --new "add a column"   a new revision from db.py

Every process applies them when it first opens the database (``upgrade``, called by
``db.engine_for``), so the servers never run on an older schema; on PostgreSQL an
advisory lock makes replicas starting together take turns. A database made before
migrations existed (tables, no ``alembic_version``) is stamped at the baseline (0001)
and upgraded from there. Rasa's own tables (events) are Rasa's and are left alone.

To change a table: edit ``clinic_assistant/clinic/db.py``, run ``--new "what changed"``, read
the generated file in ``versions/``, and run ``make test`` (tests/test_migrations.py
checks that the migrations build exactly what db.py describes, on both databases, and
upgrade a database of the previous release with data in it).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).resolve().parent
BASELINE = "0001"
_LOCK_ID = 7_805_550_100  # any fixed number: the PostgreSQL advisory lock of migrations


def _config(connection: "sa.engine.Connection | None" = None) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current(connection: sa.engine.Connection) -> "str | None":
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: sa.engine.Engine) -> str:
    """Brings the database to the newest revision; returns it."""
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        revision = current(connection)
        if revision == head():
            return revision
        config = _config(connection)
        if revision is None and sa.inspect(connection).has_table("handoff_tickets"):
            command.stamp(config, BASELINE)  # made by a release before migrations
        command.upgrade(config, "head")
        return str(current(connection))


def main(argv: "list[str] | None" = None) -> int:
    from clinic_assistant.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--status", action="store_true")
    parser.add_argument("--new", metavar="MESSAGE")
    args = parser.parse_args(argv)
    engine = sa.create_engine(Settings.from_env().database.url, future=True)
    if args.status:
        with engine.connect() as connection:
            print(f"database at {current(connection) or 'none'}; newest {head()}")
        return 0
    if args.new:
        from alembic import command

        upgrade(engine)
        with engine.begin() as connection:
            command.revision(_config(connection), message=args.new, autogenerate=True)
        return 0
    with engine.connect() as connection:
        before = current(connection)
        if before is None:
            before = "made before migrations" if sa.inspect(connection).has_table("handoff_tickets") else "new"
    after = upgrade(engine)
    print(f"==> Database schema: {before} -> {after}" if before != after
          else f"==> Database schema up to date ({after})")
    return 0
