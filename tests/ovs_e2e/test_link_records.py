"""Conditions and the link monitor's writes, on a real SQLite database (no Open vSwitch needed):
what each condition says, when last_transition_time moves, and that the monitor writes only
changes and never over an operation that happened since it read the port."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from activities.link_status import AgentLinkActivities
from netprov.conditions import AgentState, PortFacts, link_reason, port_conditions, while_pending
from netprov.qos import QosDrift
from netprov.settings import Settings
from netprov.status import NO_ATTACHMENT
from netprov.workflow_io import Projection
from plugins.registry import PluginSet, agentless_plugins
from store.engine import engine_for
from store.links import LinkFinding, host_targets, record_findings
from store.projection import apply_projection, set_agentless_plugins
from store.schema import scratch_database
from store.tables import EventRow, NetworkRow, PortRow

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ATTACHED = PortFacts(
    status="ACTIVE", status_reason=None, pending=False, progress=None, attachment_id="vif-1", attachment_host="h1",
    attachment_status="AVAILABLE", attachment_reason=None, link_status="UP", link_status_string=None,
)  # fmt: skip


def by_type(conditions: list[dict]) -> dict[str, dict]:
    return {c["type"]: c for c in conditions}


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        (NO_ATTACHMENT, "NoAttachment"),
        ("port admin DOWN", "AdminDown"),
        ("interface-id vif-1 not found on host h1", "InterfaceNotFound"),
        ("agent on host h1 not running", "AgentNotRunning"),
        ("network not AVAILABLE", "NetworkNotAvailable"),
        ("VLAN tag on host h1 is none, expected 101", "VlanMismatch"),
        ("Open vSwitch on host h1 not reachable", "SwitchUnreachable"),
        ("ovs-vswitchd on host h1 not running", "SwitchNotRunning"),
        ("ovsdb-server on host h1 not running", "SwitchNotRunning"),
        ("switch on host h1 restarting or stuck: ovs-vswitchd does not answer", "SwitchNotForwarding"),
        ("datapath does not forward frames from port tap1 to port tap2 of its network on host h1", "DatapathNotForwarding"),
    ],
)
def test_link_sentences_get_a_reason(sentence, reason):
    assert link_reason("DOWN", sentence) == reason


def test_a_port_without_attachment():
    facts = replace(ATTACHED, attachment_id=None, attachment_host=None, attachment_status=None,
                    link_status="DOWN", link_status_string=NO_ATTACHMENT)  # fmt: skip
    conditions = by_type(port_conditions([], facts, None, T0))
    assert [conditions[t]["status"] for t in ("Provisioned", "AgentAlive", "LinkUp")] == ["True", "Unknown", "False"]
    assert conditions["LinkUp"]["reason"] == conditions["AgentAlive"]["reason"] == "NoAttachment"


def test_last_transition_time_moves_only_with_the_status():
    first = port_conditions([], ATTACHED, AgentState.ALIVE, T0)
    # The reason changes (link DOWN for another cause), the status does not: no transition.
    down = replace(ATTACHED, link_status="DOWN", link_status_string="port admin DOWN")
    second = port_conditions(first, down, None, T0 + timedelta(seconds=5))
    third = port_conditions(
        second, replace(down, link_status_string="interface-id vif-1 not found on host h1"), None, T0 + timedelta(seconds=9)
    )
    assert by_type(second)["LinkUp"]["last_transition_time"] == (T0 + timedelta(seconds=5)).isoformat()
    assert by_type(third)["LinkUp"]["last_transition_time"] == by_type(second)["LinkUp"]["last_transition_time"]
    assert by_type(third)["LinkUp"]["reason"] == "InterfaceNotFound"
    # The agent was not observed by these writes: its condition stands as it was.
    assert by_type(third)["AgentAlive"] == by_type(first)["AgentAlive"]


def test_agent_liveness_and_pending_operations():
    dead = by_type(port_conditions([], ATTACHED, AgentState.DEAD, T0))["AgentAlive"]
    assert (dead["status"], dead["reason"], dead["message"]) == ("False", "AgentNotRunning", "agent on host h1 not running")
    assert by_type(port_conditions([], ATTACHED, AgentState.NOT_REQUIRED, T0))["AgentAlive"]["reason"] == "NotRequired"
    assert by_type(port_conditions([], ATTACHED, None, T0))["AgentAlive"]["reason"] == "NotChecked"
    pending = by_type(port_conditions([], replace(ATTACHED, pending=True, progress="step 2 of 2"), None, T0))
    assert (pending["Provisioned"]["status"], pending["Provisioned"]["message"]) == ("False", "step 2 of 2")


@pytest.fixture(autouse=True)
def agentless_plugins_known():
    """As every process that writes projections does at start (worker/build.py, api/app.py)."""
    set_agentless_plugins(agentless_plugins())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path: Path):
    if request.param == "sqlite":
        yield engine_for(f"sqlite:///{tmp_path / 'links.db'}", True)
        return
    with scratch_database(request.getfixturevalue("postgres_server"), "netprov_links") as url:
        engine = engine_for(url, True)
        yield engine
        engine.dispose()


def _port(engine, plugin: str = "ovs", **fields) -> str:
    network_id, port_id = str(uuid.uuid4()), str(uuid.uuid4())
    with Session(engine) as session:
        session.add(NetworkRow(id=network_id, tenant_id="t", name="n", plugin=plugin, status="AVAILABLE",
                               plugin_data={"vlan": "101"}, accepted_seq=1, applied_seq=1))  # fmt: skip
        values = dict(
            id=port_id, tenant_id="t", network_id=network_id, state="ACTIVE", status="ACTIVE", attachment_id=f"vif-{port_id[:8]}",
            attachment_host="h1", attachment_status="AVAILABLE", link_status="UP", link_status_string=None,
            accepted_seq=2, applied_seq=2,
        )  # fmt: skip
        session.add(PortRow(**{**values, **fields}))
        session.commit()
    return port_id


def _row(engine, port_id: str) -> PortRow:
    with Session(engine) as session:
        return session.get(PortRow, port_id)


def _events(engine, port_id: str) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(EventRow).where(EventRow.resource_id == port_id)).scalar_one()


def test_the_monitor_writes_changes_only(engine):
    port_id = _port(engine)
    [target] = host_targets(engine, "h1", ["ovs"])
    assert target.network_data == {"vlan": "101"} and target.network_available
    assert record_findings(engine, [LinkFinding(target, "UP", None)], AgentState.ALIVE) == [port_id]
    written = _row(engine, port_id)
    assert by_type(written.conditions)["AgentAlive"]["reason"] == "AgentPolling"

    # The same finding again: nothing to write.
    [target] = host_targets(engine, "h1", ["ovs"])
    assert record_findings(engine, [LinkFinding(target, "UP", None)], AgentState.ALIVE) == []
    assert _row(engine, port_id).updated_at == written.updated_at

    events = _events(engine, port_id)
    [target] = host_targets(engine, "h1", ["ovs"])
    record_findings(engine, [LinkFinding(target, "DOWN", "agent on host h1 not running")], AgentState.DEAD)
    dead = _row(engine, port_id)
    assert (dead.link_status, dead.link_status_string) == ("DOWN", "agent on host h1 not running")
    assert by_type(dead.conditions)["AgentAlive"]["status"] == "False"
    assert _events(engine, port_id) == events + 1  # one port.link_status event


def test_the_monitor_does_not_overwrite_what_an_operation_changed_since_it_read(engine):
    port_id = _port(engine)
    [target] = host_targets(engine, "h1", ["ovs"])
    # The port's workflow applies an operation (admin DOWN) between the monitor's read and write.
    apply_projection(
        engine,
        Projection("port", port_id, 3, {"status": "DOWN", "link_status": "DOWN", "link_status_string": "port admin DOWN"}, final=True),
    )
    record_findings(engine, [LinkFinding(target, "UP", None)], AgentState.ALIVE)
    row = _row(engine, port_id)
    assert (row.link_status, row.link_status_string) == ("DOWN", "port admin DOWN")


def test_projections_keep_conditions_and_plugins_without_agents_need_none(engine):
    port_id = _port(engine, plugin="fake")
    apply_projection(engine, Projection("port", port_id, 3, {"status": "ACTIVE", "link_status": "UP"}, final=True))
    conditions = by_type(_row(engine, port_id).conditions)
    assert conditions["AgentAlive"]["reason"] == "NotRequired"
    assert conditions["LinkUp"]["status"] == "True"
    # Ports of plugins without agents are none of the monitor's business.
    assert host_targets(engine, "h1", ["ovs"]) == []


def test_a_port_with_operations_pending_shows_provisioned_false():
    stored = port_conditions([], ATTACHED, AgentState.ALIVE, T0)
    shown = by_type(while_pending(stored, "plugging interface vif-2 on host h1", T0 + timedelta(seconds=3)))
    assert (shown["Provisioned"]["status"], shown["Provisioned"]["reason"]) == ("False", "Provisioning")
    assert shown["Provisioned"]["last_transition_time"] == (T0 + timedelta(seconds=3)).isoformat()
    assert shown["LinkUp"] == by_type(stored)["LinkUp"] and shown["AgentAlive"] == by_type(stored)["AgentAlive"]


def test_a_qos_repair_between_two_read_backs_is_recorded(engine, tmp_path: Path):
    """A limit removed by hand after a check's read-back is repaired by that check's reconcile: the
    repair's QosDrift carries what it found, and the port shows it (ERROR, one event) before the
    read-back after the repair. A port still PROVISIONING only got its first enforcement."""
    plugins = PluginSet(Settings(data_dir=tmp_path))
    agent = AgentLinkActivities(plugins, engine, "h1")
    enforced = _port(engine, qos_status="AVAILABLE")
    waiting = _port(engine, qos_status="PROVISIONING", qos_status_reason="interface-id vif-x not found on host h1")
    targets = {t.port.id: t for t in host_targets(engine, "h1", ["ovs"])}
    found = f"meter for port {enforced} missing on host h1"
    repairs = [
        QosDrift("h1", targets[enforced].port.attachment_id, "meter 3 added: 8000 kbps", found),
        QosDrift("h1", targets[waiting].port.attachment_id, "meter 4 added: 8000 kbps", "meter for port w missing on host h1"),
        QosDrift("h1", None, "stray meter 9 removed"),
    ]
    agent._record_qos_repairs(list(targets.values()), repairs)
    assert (_row(engine, enforced).qos_status, _row(engine, enforced).qos_status_reason) == ("ERROR", found)
    assert _qos_events(engine, enforced) == [("ERROR", found)]
    assert _row(engine, waiting).qos_status == "PROVISIONING" and _qos_events(engine, waiting) == []
    # The same repairs against the rows as read before: nothing written twice.
    agent._record_qos_repairs(list(targets.values()), repairs)
    assert _qos_events(engine, enforced) == [("ERROR", found)]


def _qos_events(engine, port_id: str) -> list[tuple[str, str | None]]:
    with Session(engine) as session:
        rows = session.execute(select(EventRow).where(EventRow.resource_id == port_id, EventRow.kind == "qos_status")
                               .order_by(EventRow.id)).scalars()  # fmt: skip
        return [(row.data["qos_status"], row.data["qos_status_reason"]) for row in rows]
