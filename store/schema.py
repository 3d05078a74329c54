"""Schema migrations (Alembic, `store/migrations/`), applied the same way on SQLite and PostgreSQL.

`upgrade_schema(url)` brings a database to the newest revision. It is safe to run from several
processes at once (two API replicas starting together): on PostgreSQL the whole upgrade runs in one
transaction under an advisory lock, on SQLite under a lock file next to the database. A database
made before migrations existed (tables present, no `alembic_version`) is adopted: missing tables are
created, as the code did before, and it is stamped at the newest revision.

Command line (`python -m store.schema`, or `make migrate` / `make migration m="..."`)::

    python -m store.schema upgrade [REV]       # NETPROV_DATABASE_URL, default the SQLite file
    python -m store.schema downgrade REV
    python -m store.schema current             # revision the database is at
    python -m store.schema check               # exit 1 when the database and the tables differ
    python -m store.schema revision -m MSG     # autogenerate a migration from store/tables.py

`revision` diffs store/tables.py against a scratch SQLite database upgraded to the newest revision,
so no running database is needed; review the generated file before committing it.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import SQLModel

import store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from store.connection import make_engine

# Autogenerate announces each of its plugins at INFO on every comparison: noise in our logs.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
# pg_advisory_xact_lock key: any constant shared by every netprov process ("netprov" in ASCII).
_PG_LOCK_KEY = 0x6E657470726F76


class SchemaOutOfDate(RuntimeError):
    """The database is not at the revision this code expects; the message says what to run."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for our migrations; with `connection`, env.py migrates through it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS_DIR}"
    return head


def _engine(url: str) -> Engine:
    return make_engine(url)


@contextlib.contextmanager
def _migration_connection(url: str) -> Iterator[Connection]:
    """A connection in one transaction, held under the migration lock of this database."""
    engine = _engine(url)
    try:
        with _sqlite_file_lock(url), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            yield connection
    finally:
        engine.dispose()


@contextlib.contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        yield
        return
    lock_path = Path(parsed.database).with_suffix(".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade_schema(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (default: the newest)."""
    with _migration_connection(url) as connection:
        tables = set(inspect(connection).get_table_names())
        if VERSION_TABLE not in tables and tables & set(SQLModel.metadata.tables):
            # Made by create_all before migrations existed: keep what is there, as create_all did.
            SQLModel.metadata.create_all(connection)
            command.stamp(alembic_config(connection), "head")
            return
        command.upgrade(alembic_config(connection), revision)


def downgrade_schema(url: str, revision: str) -> None:
    with _migration_connection(url) as connection:
        command.downgrade(alembic_config(connection), revision)


def current_revision(url: str) -> str | None:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def check_schema(url: str) -> None:
    """Raise SchemaOutOfDate unless the database is at the newest revision."""
    current, head = current_revision(url), head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"the database is at schema revision {current or 'none'}, this code needs {head}; "
            "run `python -m store.schema upgrade` (make migrate) or set NETPROV_AUTO_MIGRATE=true"
        )


def schema_drift(url: str) -> list:
    """What differs between the database at `url` and store/tables.py (alembic's diff ops); [] when
    the migrations describe the tables exactly."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
            return [diff for diff in compare_metadata(context, SQLModel.metadata) if not _ignored(diff)]
    finally:
        engine.dispose()


def _ignored(diff) -> bool:
    # Alembic's own bookkeeping table is not one of ours.
    return isinstance(diff, tuple) and diff[0] == "remove_table" and diff[1].name == VERSION_TABLE


def autogenerate_revision(message: str) -> bool:
    """Write a new migration with what store/tables.py has and the migrations do not; False (and
    no file) when they already agree."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'scratch.db'}"
        upgrade_schema(url)
        if not schema_drift(url):
            return False
        engine = _engine(url)
        try:
            with engine.begin() as connection:
                command.revision(alembic_config(connection), message=message, autogenerate=True, rev_id=_next_rev_id())
        finally:
            engine.dispose()
    return True


def _next_rev_id() -> str:
    """Revisions are numbered 0001, 0002, ...: their order is visible in the file names."""
    revisions = list(ScriptDirectory.from_config(alembic_config()).walk_revisions())
    return f"{len(revisions) + 1:04d}"


# --- scratch PostgreSQL databases (tests, benchmarks) ---


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str = "netprov_test") -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of `server_url`, dropped afterwards; yields
    its URL. Raises sqlalchemy.exc.OperationalError when the server cannot be reached."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url, name)
    try:
        yield url
    finally:
        drop_database(server_url, name)


def create_database(server_url: str, name: str) -> str:
    """Create database `name` on the PostgreSQL server of `server_url`; return its URL."""
    _server_command(server_url, f'CREATE DATABASE "{_checked_name(name)}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    _server_command(server_url, f'DROP DATABASE IF EXISTS "{_checked_name(name)}" WITH (FORCE)')


def _checked_name(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"database name {name!r} must be letters, digits and underscores")
    return name


def _server_command(server_url: str, statement: str) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m store.schema", description="netprov schema migrations")
    sub = parser.add_subparsers(dest="action", required=True)
    up = sub.add_parser("upgrade", help="migrate the database to REV (default: the newest)")
    up.add_argument("revision", nargs="?", default="head")
    down = sub.add_parser("downgrade", help="migrate the database back to REV (base: empty)")
    down.add_argument("revision")
    sub.add_parser("current", help="print the revision the database is at")
    sub.add_parser("check", help="exit 1 when the database is not at the newest revision or differs from the tables")
    rev = sub.add_parser("revision", help="autogenerate a migration from store/tables.py")
    rev.add_argument("-m", "--message", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    if args.action == "revision":
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
        if not autogenerate_revision(args.message):
            print("store/tables.py and the migrations agree: no migration written", file=sys.stderr)
            return 1
        return 0
    from netprov.logging_setup import configure_logging
    from netprov.settings import Settings

    settings = Settings()
    configure_logging("migrate", settings)
    url = settings.resolved_database_url
    shown = make_url(url).render_as_string(hide_password=True)
    if args.action == "upgrade":
        upgrade_schema(url, args.revision)
        print(f"{shown}: at revision {current_revision(url)}")
    elif args.action == "downgrade":
        downgrade_schema(url, args.revision)
        print(f"{shown}: at revision {current_revision(url)}")
    elif args.action == "current":
        print(current_revision(url) or "none")
    else:
        try:
            check_schema(url)
        except SchemaOutOfDate as error:
            print(f"{shown}: {error}", file=sys.stderr)
            return 1
        drift = schema_drift(url)
        if drift:
            print(f"{shown}: differs from store/tables.py:", *drift, sep="\n  ", file=sys.stderr)
            return 1
        print(f"{shown}: at revision {head_revision()}, matches store/tables.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
