"""The reviewer's question (contract, "QoS policies"): create a network, a port on it, attach an
interface and set a QoS policy right away, all while the network is still PROVISIONING; every
call answers at once and everything ends up as asked, in the order accepted."""

import time

from store import events as store_events
from tests.api.test_qos_ports import LIMIT, MARK, policy, qos_settled, recorded_rules


async def test_four_immediate_calls_answer_at_once_and_end_as_asked(api, stack):
    gold = await policy(api)
    started = time.monotonic()
    # flaky3-: every plugin call for the network fails three times first, so it stays PROVISIONING a while.
    network = await api.create_network("flaky3-reviewer")
    port = (await api.request("POST", f"networks/{network['id']}/ports", json={"port": {"state": "ACTIVE"}})).json()["port"]
    attached = await api.attach(network["id"], port["id"], "vif-ff-1")
    path = f"networks/{network['id']}/ports/{port['id']}"
    qos = await api.request("PUT", path, json={"port": {"qos_policy_id": gold["id"]}})
    answered = time.monotonic() - started

    assert network["status"] == "PROVISIONING"
    assert (attached.status_code, qos.status_code) == (202, 204), (attached.text, qos.text)
    during = (await api.get(path))["port"]
    assert (await api.get(f"networks/{network['id']}"))["network"]["status"] == "PROVISIONING"
    assert during["qos_policy_id"] == gold["id"]
    assert during["qos_status"] == "PROVISIONING"
    assert answered < 2.0, f"the four calls took {answered:.2f}s"

    settled = await api.settle(path, "port", timeout=60, until=qos_settled)

    assert (settled["status"], settled["attachment"]["status"], settled["qos_status"]) == ("ACTIVE", "AVAILABLE", "AVAILABLE")
    assert settled["qos_status_reason"] is None
    assert (await api.get(f"networks/{network['id']}"))["network"]["status"] == "AVAILABLE"
    assert recorded_rules(stack, port["id"]) == LIMIT


async def test_policy_changes_queued_behind_provisioning_apply_in_order(api, stack):
    gold, silver = await policy(api), await policy(api, "silver", MARK)
    network = await api.create_network("flaky3-order")
    port = await api.create_port(network["id"])
    path = f"networks/{network['id']}/ports/{port['id']}"
    for chosen in (gold, silver, gold, silver):
        response = await api.request("PUT", path, json={"port": {"qos_policy_id": chosen["id"]}})
        assert response.status_code == 204, response.text
    new_silver = [{"type": "dscp_marking", "dscp_mark": 46}]
    assert (await api.request("PUT", f"qos_policies/{silver['id']}", json={"qos_policy": {"rules": new_silver}})).status_code == 200

    settled = await api.settle(path, "port", timeout=60, until=qos_settled)

    assert (settled["qos_policy_id"], settled["qos_status"]) == (silver["id"], "AVAILABLE")
    assert recorded_rules(stack, port["id"]) == new_silver


async def test_qos_status_changes_are_events(api, stack):
    gold = await policy(api)
    network = await api.create_network()
    port = await api.create_port(network["id"])
    path = f"networks/{network['id']}/ports/{port['id']}"
    await api.settle(path, "port")
    await api.request("PUT", path, json={"port": {"qos_policy_id": gold["id"]}}, headers={"Prefer": "wait=20"})
    await api.request("PUT", path, json={"port": {"qos_policy_id": None}}, headers={"Prefer": "wait=20"})

    seen = [(e.data["qos_status"], e.data["qos_policy_id"]) for e in store_events.resource_events(stack.app.state.engine, port["id"])
            if e.kind == "qos_status"]  # fmt: skip

    assert seen[0] == ("PROVISIONING", gold["id"])
    assert ("AVAILABLE", gold["id"]) in seen
    assert seen[-1] == (None, None)
