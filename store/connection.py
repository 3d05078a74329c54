"""Opening a database: the SQLAlchemy engine for a URL, tuned for SQLite (default) or PostgreSQL.
A leaf: store.schema (migrations) and store.engine (the process's engine) both build on it."""

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

from store.sqlite_writers import connection_factory, writer_lock


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args: dict = {"check_same_thread": False, "timeout": 30}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # Writers queue on a lock that hands over at once, not on SQLite's retry timer (store/sqlite_writers.py).
            connect_args["factory"] = connection_factory(writer_lock(Path(parsed.database)))
        # No cap on connections (max_overflow=-1): the API's handlers check connections out on the event loop
        # while other requests hold theirs across an await, so a full pool would block the loop that alone
        # can free one (bench/: 50 concurrent writes hung for the pool's 30 s timeout, then answered 500).
        engine = create_engine(url, connect_args=connect_args, pool_size=20, max_overflow=-1)
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
