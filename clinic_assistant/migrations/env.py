"""Alembic's environment: runs on the connection clinic_assistant.migrations passes in."""
from alembic import context

from clinic_assistant.clinic.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite",
                  include_name=lambda name, kind, parent: kind != "table" or name in metadata.tables)
with context.begin_transaction():
    context.run_migrations()
