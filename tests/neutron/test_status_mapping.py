"""The status rules of api/neutron/status.py exist in Python (a row in hand) and in SQL (filters,
sorting): for every combination of their inputs the two must give the same answer."""

import itertools

import pytest
from sqlalchemy import select
from sqlmodel import Session, SQLModel, create_engine

from api.neutron import status
from store.tables import NetworkRow, PortRow

PORT_CASES = list(itertools.product(
    ["PROVISIONING", "DOWN", "ACTIVE", "ERROR"],  # status
    [False, True],  # an operation pending
    ["ACTIVE", "DOWN"],  # admin state
    [None, "none-yet", "PROVISIONING", "AVAILABLE", "ERROR"],  # attachment ("none-yet": accepted, no status)
    ["UP", "DOWN", "UNKNOWN"],  # link
))


@pytest.fixture(scope="module")
def engine():
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        for i, (port_status, pending, state, attachment, link) in enumerate(PORT_CASES):
            session.add(PortRow(
                id=f"p{i}", tenant_id="t", network_id="n", state=state, status=port_status,
                accepted_seq=2 if pending else 1, applied_seq=1,
                attachment_id=None if attachment is None else f"vif-{i}",
                attachment_status=None if attachment in (None, "none-yet") else attachment, link_status=link,
            ))
        for i, (network_status, pending) in enumerate(itertools.product(["PROVISIONING", "AVAILABLE", "ERROR"], [False, True])):
            session.add(NetworkRow(id=f"n{i}", tenant_id="t", name="n", plugin="fake", status=network_status,
                                   accepted_seq=2 if pending else 1, applied_seq=1))
        session.commit()
    return engine


@pytest.mark.parametrize("python, sql", [
    (status.port_status, status.port_status_column),
    (status.vif_type, status.vif_type_column),
    (status.data_plane_status, status.data_plane_status_column),
    (lambda row: int(status.admin_state_up(row)), status.admin_state_up_column),
])
def test_port_rules_agree(engine, python, sql):
    with Session(engine) as session:
        rows = session.execute(select(PortRow, sql())).all()
        assert len(rows) == len(PORT_CASES)
        for row, in_sql in rows:
            assert python(row) == in_sql, (row, python(row), in_sql)


def test_network_rule_agrees(engine):
    with Session(engine) as session:
        for row, in_sql in session.execute(select(NetworkRow, status.network_status_column())).all():
            assert status.network_status(row) == in_sql


def test_port_status_as_the_contract_says(engine):
    with Session(engine) as session:
        by_case = {row.id: status.port_status(row) for row in session.execute(select(PortRow)).scalars()}
    for i, (port_status, pending, state, attachment, _) in enumerate(PORT_CASES):
        attached = {"none-yet": "PROVISIONING"}.get(attachment, attachment)
        if port_status == "ERROR" and not pending or attached == "ERROR":
            expected = "ERROR"
        elif pending or port_status == "PROVISIONING" or attached == "PROVISIONING":
            expected = "BUILD"
        elif state == "DOWN" or attached is None:
            expected = "DOWN"
        else:
            expected = "ACTIVE"
        assert by_case[f"p{i}"] == expected, PORT_CASES[i]
