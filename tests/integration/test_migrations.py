"""The Alembic migrations build exactly the schema the typed models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from schema.migrate import current_revision, head_revision, ours
from schema.tables import Base


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": ours}
        )
        assert compare_metadata(context, Base.metadata) == []
