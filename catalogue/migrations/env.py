"""Alembic environment: always run with a connection handed over by `apply_migrations`."""

from alembic import context
from sqlmodel import SQLModel

import catalogue.tables  # noqa: F401  (registers every table on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through catalogue.database.apply_migrations")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
