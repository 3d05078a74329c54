"""Alembic environment for netprov's tables (store/tables.py).

Run through store.schema (which passes an open connection, under the migration lock) or the
`alembic` command with alembic.ini at the project root (which connects to `sqlalchemy.url` when set,
else to NETPROV_DATABASE_URL / the default SQLite file). Migrations are rendered in batch mode so
that column changes also work on SQLite, which cannot ALTER most things in place.
"""

from alembic import context
from sqlmodel import SQLModel

import store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata
OPTIONS = {
    "target_metadata": target_metadata,
    "render_as_batch": True,
    "compare_type": True,
    "compare_server_default": True,
}


def _url() -> str:
    from netprov.settings import Settings

    return config.get_main_option("sqlalchemy.url") or Settings().resolved_database_url


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    context.configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"}, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
        return
    from store.engine import make_engine

    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            context.configure(connection=connection, **OPTIONS)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
