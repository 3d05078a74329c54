"""A QoS fan-out on real Open vSwitch, through the REST API with real processes: a network policy
reaching 16 idle ovs ports (the batch path's threshold, NETPROV_QOS_FAN_OUT_BATCH_MIN_PORTS) is
applied by one QoS fan-out batch whose chunks for attached ports run on their hosts' agents, and
the meters are really on both switches afterwards."""

from sqlalchemy import select
from sqlmodel import Session

from ovs_cloud import Cloud

from netprov.batch import BatchPurpose
from netprov.settings import Settings
from plugins.ovs.ofctl import OpenFlowBridge
from plugins.registry import plugin_class
from store.connection import make_engine
from store.tables import BatchItemRow, BatchRow

LIMIT = [{"type": "bandwidth_limit", "max_kbps": 8000, "max_burst_kbps": 0, "direction": "egress"}]
PORTS = 16


def fan_out_items(cloud: Cloud, port_ids: list[str]) -> list[BatchItemRow]:
    engine = make_engine(Settings(data_dir=cloud.data_dir).resolved_database_url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(BatchItemRow).join(BatchRow, BatchRow.id == BatchItemRow.batch_id)
                .where(BatchRow.purpose == BatchPurpose.QOS_FAN_OUT.value, BatchItemRow.resource_id.in_(port_ids))
            ).scalars().all()
            session.expunge_all()
            return list(rows)
    finally:
        engine.dispose()


def test_network_policy_reaches_idle_ports_through_one_batch_run_on_both_agents(cloud: Cloud):
    policy = cloud.http.post("/qos_policies", json={"qos_policy": {"name": "fan-out-gold", "rules": LIMIT}})
    assert policy.status_code == 201, policy.text
    net = cloud.network("qos-fan-out")
    ports = [cloud.port(net) for _ in range(PORTS)]
    ifaces = {}
    for port, host, index in ((ports[0], cloud.hosts[0], 1), (ports[1], cloud.hosts[1], 2)):
        ifaces[host] = cloud.vm(host, cloud.iface(f"fo{index}"), f"10.47.0.{index}/24")
        cloud.attach(port, ifaces[host], host)
        cloud.wait_port(port, lambda b: b["attachment"]["status"] == "AVAILABLE", what="attachment AVAILABLE")

    response = cloud.http.put(f"/networks/{net['id']}", json={"network": {"qos_policy_id": policy.json()["qos_policy"]["id"]}})
    assert response.status_code == 204, response.text
    for port in ports:
        body = cloud.wait_port(port, lambda b: b["qos_status"] == "AVAILABLE", what="qos AVAILABLE")
        assert body["qos_status_reason"] is None

    items = fan_out_items(cloud, [p["id"] for p in ports])
    assert len({item.batch_id for item in items}) == 1 and len(items) == PORTS
    assert {item.status for item in items} == {"AVAILABLE"}
    # Unattached ports ran centrally (nothing to enforce); each attached one on its host's agent.
    assert sorted(item.host or "" for item in items) == sorted([""] * (PORTS - 2) + cloud.hosts)
    ovs = plugin_class("ovs")(Settings(data_dir=cloud.data_dir))
    for host, iface in ifaces.items():
        assert ovs.iface_qos(host, iface).slot in OpenFlowBridge(host, cloud.data_dir).meters()
