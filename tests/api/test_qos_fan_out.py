"""A policy's new rules fanned out to many ports (contract: "re-applied to every port that uses
the policy"): accepted in one transaction, delivered concurrently, each port applies it once.
NETPROV_QOS_FAN_OUT_PORTS sets the size (default 200; the README's number is 1,000)."""

import asyncio
import os
import time

from tests.api.test_qos_ports import LIMIT, policy, recorded_rules
from plugins.registry import plugin_class

PORTS = int(os.environ.get("NETPROV_QOS_FAN_OUT_PORTS", "200"))


async def batch_ports(api, network_id: str, count: int) -> list[str]:
    """`count` ports on the network, made by one batch; their ids."""
    body = {"batch": {"ports": [{"ref": f"p{i}", "network": network_id, "state": "ACTIVE"} for i in range(count)]}}
    response = await api.request("POST", "batches", json=body)
    assert response.status_code == 202, response.text
    batch_id = response.json()["batch"]["id"]
    done = await api.settle(f"batches/{batch_id}", "batch", timeout=300)
    assert done["status"] == "COMPLETED", done["counts"]
    return [item["id"] for item in done["items"]]


def applies_per_port(stack, port_ids: list[str]) -> dict[str, int]:
    """How many APPLY_QOS requests the fake plugin applied per port: its ledger holds one row per
    request id it applied (a request seen again is not applied again)."""
    fake = plugin_class("fake")(stack.settings)
    counts = dict.fromkeys(port_ids, 0)
    with fake.store.transaction(write=False) as db:
        for (port_id,) in db.execute("SELECT resource_id FROM ledger WHERE action = 'apply_qos'"):
            if port_id in counts:
                counts[port_id] += 1
    return counts


async def fan_out_ports(api, count: int):
    gold = await policy(api)
    network = await api.create_network()
    await api.settle(f"networks/{network['id']}", "network")
    ports = await batch_ports(api, network["id"], count)
    response = await api.request("PUT", f"networks/{network['id']}", json={"network": {"qos_policy_id": gold["id"]}})
    assert response.status_code == 204
    await all_qos_available(api, network["id"], time.monotonic())
    return gold, network, ports


async def all_qos_available(api, network_id: str, started: float, timeout: float = 300) -> float:
    """Wait until every port of the network shows qos AVAILABLE; seconds since `started`."""
    while True:
        bodies = (await api.get(f"networks/{network_id}/ports?detail=true"))["ports"]
        if all(b["qos_status"] == "AVAILABLE" for b in bodies):
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, [b for b in bodies if b["qos_status"] != "AVAILABLE"][:3]
        await asyncio.sleep(0.2)


async def test_new_rules_reach_many_ports_each_once(api, stack):
    gold, network, ports = await fan_out_ports(api, PORTS)
    assert all(recorded_rules(stack, p) == LIMIT for p in ports)
    new_rules = [{"type": "bandwidth_limit", "max_kbps": 3000, "max_burst_kbps": 0, "direction": "egress"}]

    started = time.monotonic()
    response = await api.request("PUT", f"qos_policies/{gold['id']}", json={"qos_policy": {"rules": new_rules}})
    answered = time.monotonic() - started
    assert response.status_code == 200, response.text
    settled = await all_qos_available(api, network["id"], started)
    print(f"\nfan-out to {PORTS} ports: PUT answered in {answered:.2f}s, all AVAILABLE after {settled:.2f}s")

    assert all(recorded_rules(stack, p) == new_rules for p in ports)
    assert set(applies_per_port(stack, ports).values()) == {2}  # the network's policy, then the new rules
