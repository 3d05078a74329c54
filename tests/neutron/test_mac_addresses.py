"""MACs drawn by the column default are unique within one executemany and against the table,
even when the random draws collide (forced here with a tiny space)."""

import itertools

from sqlalchemy import insert, select
from sqlmodel import Session, SQLModel, create_engine

from store import mac_addresses
from store.tables import PortRow


def test_unique_within_a_statement_and_against_the_table(monkeypatch):
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    # Draws cycle through 8 values, each repeated: only the de-duplication keeps the rows unique.
    space = itertools.cycle([f"fa:16:3e:00:00:0{i // 3}" for i in range(24)])
    monkeypatch.setattr(mac_addresses, "random_mac_address", lambda: next(space))
    template = PortRow(id="", tenant_id="t", network_id="n", state="DOWN", status="DOWN").model_dump()
    assert "mac_address" not in template  # or every row made from it would share one MAC
    with Session(engine) as session:
        session.connection().execute(insert(PortRow.__table__), [template | {"id": f"a{i}"} for i in range(5)])
        session.add(PortRow(id="orm", tenant_id="t", network_id="n", state="DOWN", status="DOWN"))
        session.commit()
        session.connection().execute(insert(PortRow.__table__), [template | {"id": "b0"}, template | {"id": "b1"}])
        session.commit()
        macs = session.execute(select(PortRow.mac_address)).scalars().all()
    assert len(macs) == 8 and len(set(macs)) == 8
    assert all(m.startswith("fa:16:3e:") for m in macs)


def test_random_macs_have_neutrons_prefix():
    for _ in range(100):
        mac = mac_addresses.random_mac_address()
        assert len(mac) == 17 and mac.startswith("fa:16:3e:") and mac == mac.lower()
