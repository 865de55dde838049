"""Schema changes by Alembic migrations: ``studio-ledger db upgrade``.

The migrations live in ``schema/migrations``; they are configured here in code
so that no ``alembic.ini`` has to sit beside the database.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


FOREIGN_TABLES = frozenset({"scheduler_jobs"})
"""Tables other libraries own in our database (APScheduler's job store)."""


def ours(_obj: object, name: str | None, type_: str, _reflected: object, _compare: object) -> bool:
    """Whether a schema object belongs to our migrations (Alembic's include_object)."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database at ``engine`` up to ``revision``, in one transaction."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()
