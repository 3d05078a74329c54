"""Migration 0004 (Neutron fields) on a database that already holds networks and ports: every
existing port gets its own fa:16:3e MAC, the other new columns their defaults, on both backends."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from store.engine import make_engine
from store.schema import downgrade_schema, scratch_database, upgrade_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'netprov.db'}"
        return
    with scratch_database(request.getfixturevalue("postgres_server"), "netprov_m0004") as url:
        yield url


def test_existing_ports_get_unique_macs(database):
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
