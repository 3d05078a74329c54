"""One engine per process, SQLite (default) or PostgreSQL, chosen by NETPROV_DATABASE_URL."""

from functools import lru_cache

from sqlalchemy.engine import Engine

import store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from store.connection import make_engine
from store.schema import check_schema, upgrade_schema

__all__ = ["create_schema", "engine_for", "make_engine"]


def create_schema(engine: Engine) -> None:
    """Apply the schema migrations (store/migrations) to the engine's database."""
    upgrade_schema(engine.url.render_as_string(hide_password=False))


def engine_for(url: str, auto_migrate: bool | None = None) -> Engine:
    """The process's one engine for `url`. On first use, with `auto_migrate` (default:
    NETPROV_AUTO_MIGRATE) the schema is migrated to the newest revision; without, a database that
    is not at the newest revision raises SchemaOutOfDate, so no process runs on a schema it does
    not know."""
    if auto_migrate is None:
        from netprov.settings import get_settings

        auto_migrate = get_settings().auto_migrate
    return _ready_engine(url, auto_migrate)


@lru_cache
def _engine(url: str) -> Engine:
    return make_engine(url)


@lru_cache
def _ready_engine(url: str, auto_migrate: bool) -> Engine:
    if auto_migrate:
        upgrade_schema(url)
    else:
        check_schema(url)
    return _engine(url)
