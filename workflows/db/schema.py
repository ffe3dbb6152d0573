"""Create or upgrade the schema with Alembic (the migrations are the only way the schema changes).

The migrations are package data of `workflows.db.migrations`, found through importlib.resources,
so that a wheel install upgrades a database without a checkout.
"""
from __future__ import annotations

from importlib.resources import as_file, files
from importlib.resources.abc import Traversable

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS: Traversable = files("workflows.db.migrations")


def alembic_config(url: str, script_location: str) -> Config:
    """An Alembic configuration for `url` whose scripts are in the folder `script_location`."""
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database of `engine` to the newest revision."""
    with as_file(MIGRATIONS) as folder:  # Alembic reads its scripts from a real folder
        config = alembic_config(engine.url.render_as_string(hide_password=False), str(folder))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def schema_problem(engine: Engine) -> str | None:
    """Why this database cannot be served as it is (not initialised, or not upgraded to this
    version's schema), in a sentence with what to run; None when it is at the newest revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with as_file(MIGRATIONS) as folder:
        script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False),
                                                            str(folder)))
        heads = set(script.get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if not current:
        return "the database is not initialised: run `cxp init` (or `cxp demo`) first"
    if current != heads:
        return (f"the database schema is at {', '.join(sorted(current))}, this version needs "
                f"{', '.join(sorted(heads))}: run `cxp init` to upgrade it")
    return None
