"""QoS through the REST API on real Open vSwitch (contract, "QoS policies", "Truth"): a port with a
policy and an attachment on a dev VM shows qos AVAILABLE once the host's agent enforces it; the
meter deleted by hand shows in qos_status (ERROR, with the reason) within 30 s and the agent puts it
back (AVAILABLE again), also when the removal falls between a check's read-back and its reconcile
(the repair carries what it found: activities/link_status.py). The cloud's hosts have
session-unique names (ovs_cloud.py), so no other session's namespaces are touched."""

import time

from ovs_cloud import CONTRACT_S, Cloud

from netprov.settings import Settings
from plugins.ovs import linux
from plugins.ovs.hosts import host_files
from plugins.ovs.ofctl import OpenFlowBridge
from plugins.registry import plugin_class
from store import events
from store.connection import make_engine

LIMIT = [{"type": "bandwidth_limit", "max_kbps": 8000, "max_burst_kbps": 0, "direction": "egress"}]


def _qos_events(cloud: Cloud, port_id: str) -> list[tuple[str | None, str | None]]:
    engine = make_engine(Settings(data_dir=cloud.data_dir).resolved_database_url)
    try:
        return [(e.data["qos_status"], e.data["qos_status_reason"]) for e in events.resource_events(engine, port_id)
                if e.kind == "qos_status"]  # fmt: skip
    finally:
        engine.dispose()


def test_meter_deleted_by_hand_shows_in_qos_status_and_is_put_back(cloud: Cloud):
    host = cloud.hosts[0]
    policy = cloud.http.post("/qos_policies", json={"qos_policy": {"name": "truth-gold", "rules": LIMIT}})
    assert policy.status_code == 201, policy.text
    net = cloud.network("qos-truth")
    port = cloud.port(net)
    response = cloud.http.put(f"/networks/{net['id']}/ports/{port['id']}", json={"port": {"qos_policy_id": policy.json()["qos_policy"]["id"]}},
                              headers={"Prefer": "wait=30"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["port"]["qos_status"] == "AVAILABLE"  # recorded; nothing to enforce yet
    iface = cloud.vm(host, cloud.iface("qos1"), "10.46.0.1/24")
    cloud.attach(port, iface, host)
    cloud.wait_port(port, lambda b: b["qos_status"] == "AVAILABLE" and b["attachment"]["status"] == "AVAILABLE",
                    what="qos AVAILABLE on its interface")  # fmt: skip
    slot = plugin_class("ovs")(Settings(data_dir=cloud.data_dir)).iface_qos(host, iface).slot
    bridge = OpenFlowBridge(host, cloud.data_dir)
    assert slot in bridge.meters()

    mgmt = f"unix:{host_files(host, cloud.data_dir).dir / 'br-int.mgmt'}"
    # Only what follows the deletion counts: the first enforcement may have shown a short-lived ERROR
    # (the read-back ran while the workflow's apply was still in flight), which says nothing of this.
    earlier = len(_qos_events(cloud, port["id"]))
    linux.run(["ovs-ofctl", "-O", "OpenFlow13", "del-meter", mgmt, f"meter={slot}"])
    deleted_at = time.monotonic()

    deadline = deleted_at + CONTRACT_S
    while not any(status == "ERROR" and "meter" in (reason or "") for status, reason in _qos_events(cloud, port["id"])[earlier:]):
        assert time.monotonic() < deadline, f"the missing meter never showed in qos_status: {_qos_events(cloud, port['id'])}"
        time.sleep(0.2)
    seen = time.monotonic() - deleted_at
    body = cloud.wait_port(port, lambda b: b["qos_status"] == "AVAILABLE", what="qos AVAILABLE again")
    assert body["qos_status_reason"] is None
    assert slot in OpenFlowBridge(host, cloud.data_dir).meters()
    assert _qos_events(cloud, port["id"])[-1] == ("AVAILABLE", None)
    print(f"\nmeter removed by hand: ERROR seen after {seen:.1f}s, put back")
