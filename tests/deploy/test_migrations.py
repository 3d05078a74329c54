"""Schema migrations on both backends: the migrations build exactly the tables store/tables.py
declares (a drift test: a table or column added without a migration fails here), go down and
up again, adopt a database made before migrations, and serialize concurrent upgrades.

When `test_migrations_describe_the_tables_exactly` fails after a change to store/tables.py:
`make migration m="what changed"`, review the new file in store/migrations/versions/, commit it."""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel

from store.engine import engine_for, make_engine
from store.schema import (
    SchemaOutOfDate,
    current_revision,
    downgrade_schema,
    head_revision,
    schema_drift,
    scratch_database,
    upgrade_schema,
)
from store.tables import TokenRow

OUR_TABLES = set(SQLModel.metadata.tables)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'netprov.db'}"
        return
    with scratch_database(request.getfixturevalue("postgres_server"), "netprov_migrations") as url:
        yield url


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def test_migrations_describe_the_tables_exactly(empty_database):
    upgrade_schema(empty_database)

    assert current_revision(empty_database) == head_revision()
    assert schema_drift(empty_database) == []
    assert tables(empty_database) == OUR_TABLES | {"alembic_version"}


def test_the_drift_check_sees_a_missing_column_and_an_unknown_table(empty_database):
    upgrade_schema(empty_database)
    execute(empty_database, "ALTER TABLE networks DROP COLUMN progress", "CREATE TABLE stray (id INTEGER PRIMARY KEY)")

    drift = [str(diff) for diff in schema_drift(empty_database)]

    assert any("add_column" in d and "progress" in d for d in drift), drift
    assert any("remove_table" in d and "stray" in d for d in drift), drift


def test_downgrade_to_empty_and_upgrade_again(empty_database):
    upgrade_schema(empty_database)
    downgrade_schema(empty_database, "base")
    assert tables(empty_database) <= {"alembic_version"}
    assert current_revision(empty_database) is None

    upgrade_schema(empty_database)
    assert schema_drift(empty_database) == []


def test_a_database_made_before_migrations_is_adopted_with_its_rows(empty_database):
    engine = make_engine(empty_database)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(TokenRow(id="kept", secret_hash="h", admin=True))
        session.commit()
    engine.dispose()

    upgrade_schema(empty_database)

    assert current_revision(empty_database) == head_revision()
    engine = make_engine(empty_database)
    with Session(engine) as session:
        assert session.get(TokenRow, "kept") is not None
    engine.dispose()


def test_without_auto_migrate_an_old_schema_is_refused(empty_database):
    upgrade_schema(empty_database, "base")
    with pytest.raises(SchemaOutOfDate, match="make migrate"):
        engine_for(empty_database, auto_migrate=False)
    upgrade_schema(empty_database)
    assert engine_for(empty_database, auto_migrate=False) is engine_for(empty_database, auto_migrate=False)


def test_concurrent_upgrades_from_several_processes_apply_the_migrations_once(empty_database):
    env = {**os.environ, "NETPROV_DATABASE_URL": empty_database}
    procs = [
        subprocess.Popen([sys.executable, "-m", "store.schema", "upgrade"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]

    assert [proc.returncode for proc in procs] == [0, 0, 0], outputs
    assert current_revision(empty_database) == head_revision()
    assert schema_drift(empty_database) == []
    # Exactly one process ran the first migration; the others found the schema at head.
    assert sum("Running upgrade  -> 0001" in output for output in outputs) == 1, outputs


def test_0004_gives_existing_ports_unique_macs(empty_database):
    """Migration 0004 (Neutron fields) on a database holding ports: each gets its own fa:16:3e MAC."""
    database = empty_database
    upgrade_schema(database, "0002")
    engine = make_engine(database)
    now = "2026-12-01 10:00:00"
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO networks (id, tenant_id, name, plugin, status, plugin_data, accepted_seq, applied_seq,"
            " deleting, created_at, updated_at) VALUES ('n1', 't', 'net', 'fake', 'AVAILABLE', '{}', 1, 1, false, :now, :now)"
        ), {"now": now})
        for i in range(50):
            connection.execute(text(
                "INSERT INTO ports (id, tenant_id, network_id, state, status, link_status, conditions, accepted_seq,"
                " applied_seq, deleting, created_at, updated_at)"
                " VALUES (:id, 't', 'n1', 'DOWN', 'DOWN', 'DOWN', '[]', 1, 1, false, :now, :now)"
            ), {"id": f"p{i}", "now": now})
    engine.dispose()

    upgrade_schema(database, "0004")

    engine = make_engine(database)
    with engine.connect() as connection:
        ports = connection.execute(text(
            "SELECT mac_address, name, description, device_id, device_owner, tags, revision_number FROM ports"
        )).all()
        network = connection.execute(text("SELECT description, tags, revision_number FROM networks")).one()
    engine.dispose()
    macs = [p.mac_address for p in ports]
    assert len(set(macs)) == 50 and all(re.fullmatch(r"fa:16:3e(:[0-9a-f]{2}){3}", m) for m in macs)
    assert {(p.name, p.description, p.device_id, p.device_owner, p.revision_number) for p in ports} == {("", "", "", "", 1)}
    assert {str(p.tags) for p in ports} == {"[]"}
    assert (network.description, str(network.tags), network.revision_number) == ("", "[]", 1)

    downgrade_schema(database, "0002")
    upgrade_schema(database, "0004")
