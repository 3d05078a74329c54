"""One engine per process, SQLite (default) or PostgreSQL, chosen by NETPROV_DATABASE_URL."""

from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

import store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from store.schema import check_schema, upgrade_schema


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # No cap on connections (max_overflow=-1): the API's handlers check connections out on the event loop
        # while other requests hold theirs across an await, so a full pool would block the loop that alone
        # can free one (bench/: 50 concurrent writes hung for the pool's 30 s timeout, then answered 500).
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20, max_overflow=-1
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Timestamps are UTC whatever the server's TimeZone: naive values read back mean UTC.
    return create_engine(
        url, pool_size=20, max_overflow=20, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"}
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the API read while a worker writes the projection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


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
