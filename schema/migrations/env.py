"""Alembic environment: runs migrations on the connection handed in by schema.migrate."""

from alembic import context

from schema.migrate import ours
from schema.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `studio-ledger db upgrade` (schema.migrate)")


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=ours,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
