"""qos_policy_id on ports and networks, qos_status on ports, QosPolicyInUse, and the fan-out of a
policy's new rules, against the real stack (fake plugin: it records what it applied)."""

import asyncio
import uuid

import pytest
from temporalio.client import WorkflowExecutionStatus

from netprov.naming import port_workflow_id
from plugins.registry import plugin_class

LIMIT = [{"type": "bandwidth_limit", "max_kbps": 8000, "max_burst_kbps": 0, "direction": "egress"}]
MARK = [{"type": "dscp_marking", "dscp_mark": 26}]


async def policy(api, name="gold", rules=LIMIT) -> dict:
    response = await api.request("POST", "qos_policies", json={"qos_policy": {"name": name, "rules": rules}})
    assert response.status_code == 201, response.text
    return response.json()["qos_policy"]


def recorded_rules(stack, port_id: str):
    """The rules the fake plugin holds for the port (None: no record)."""
    from netprov.qos import rule_to_dict
    from plugins.qos_records import read_qos

    fake = plugin_class("fake")(stack.settings)
    with fake.store.transaction(write=False) as db:
        recorded = read_qos(db, port_id)
    return None if recorded is None else [rule_to_dict(r) for r in recorded[0]]


def qos_settled(body: dict) -> bool:
    return body["status"] != "PROVISIONING" and body["qos_status"] != "PROVISIONING"


async def port_with(api, network_id: str, **fields) -> dict:
    response = await api.request("POST", f"networks/{network_id}/ports", json={"port": fields})
    assert response.status_code == 202, response.text
    return response.json()["port"]


async def test_port_created_with_policy_gets_it_applied(api, stack):
    gold = await policy(api)
    network = await api.create_network()
    port = await port_with(api, network["id"], qos_policy_id=gold["id"], state="ACTIVE")
    assert port["qos_policy_id"] == gold["id"]
    assert port["qos_network_policy_id"] is None
    assert port["qos_status"] == "PROVISIONING" and port["qos_status_reason"]

    settled = await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port", until=qos_settled)

    assert (settled["status"], settled["qos_status"], settled["qos_status_reason"]) == ("ACTIVE", "AVAILABLE", None)
    assert recorded_rules(stack, port["id"]) == LIMIT


async def test_port_without_policy_has_null_qos_status(api):
    network = await api.create_network()
    port = await api.create_port(network["id"])
    settled = await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port")

    assert (settled["qos_policy_id"], settled["qos_network_policy_id"]) == (None, None)
    assert (settled["qos_status"], settled["qos_status_reason"]) == (None, None)


async def test_network_policy_applies_to_ports_without_their_own(api, stack):
    gold, silver = await policy(api), await policy(api, "silver", MARK)
    response = await api.request("POST", "networks", json={"network": {"name": "n", "qos_policy_id": gold["id"]}})
    assert response.status_code == 202, response.text
    network = response.json()["network"]
    assert network["qos_policy_id"] == gold["id"]
    inherits = await port_with(api, network["id"])
    own = await port_with(api, network["id"], qos_policy_id=silver["id"])

    inherits = await api.settle(f"networks/{network['id']}/ports/{inherits['id']}", "port", until=qos_settled)
    own = await api.settle(f"networks/{network['id']}/ports/{own['id']}", "port", until=qos_settled)

    assert (inherits["qos_policy_id"], inherits["qos_network_policy_id"], inherits["qos_status"]) == (None, gold["id"], "AVAILABLE")
    assert (own["qos_policy_id"], own["qos_network_policy_id"], own["qos_status"]) == (silver["id"], gold["id"], "AVAILABLE")
    assert recorded_rules(stack, inherits["id"]) == LIMIT
    assert recorded_rules(stack, own["id"]) == MARK


async def test_put_port_policy_applies_and_null_clears(api, stack):
    gold = await policy(api)
    network = await api.create_network()
    port = await api.create_port(network["id"])
    path = f"networks/{network['id']}/ports/{port['id']}"

    response = await api.request("PUT", path, json={"port": {"qos_policy_id": gold["id"]}}, headers={"Prefer": "wait=20"})
    assert response.status_code == 200, response.text
    body = response.json()["port"]
    assert (body["qos_policy_id"], body["qos_status"], body["state"]) == (gold["id"], "AVAILABLE", "DOWN")
    assert recorded_rules(stack, port["id"]) == LIMIT

    response = await api.request("PUT", path, json={"port": {"qos_policy_id": None}}, headers={"Prefer": "wait=20"})
    assert response.status_code == 200, response.text
    body = response.json()["port"]
    assert (body["qos_policy_id"], body["qos_status"], body["qos_status_reason"]) == (None, None, None)
    assert recorded_rules(stack, port["id"]) is None


async def test_put_state_alone_leaves_the_policy(api):
    gold = await policy(api)
    network = await api.create_network()
    port = await port_with(api, network["id"], qos_policy_id=gold["id"])
    path = f"networks/{network['id']}/ports/{port['id']}"

    response = await api.request("PUT", path, json={"port": {"state": "ACTIVE"}}, headers={"Prefer": "wait=20"})

    assert response.status_code == 200, response.text
    assert response.json()["port"]["qos_policy_id"] == gold["id"]
    assert (await api.settle(path, "port", until=qos_settled))["qos_status"] == "AVAILABLE"


async def test_put_state_and_policy_together(api, stack):
    gold = await policy(api)
    network = await api.create_network()
    port = await api.create_port(network["id"])
    path = f"networks/{network['id']}/ports/{port['id']}"

    response = await api.request("PUT", path, json={"port": {"state": "ACTIVE", "qos_policy_id": gold["id"]}},
                                 headers={"Prefer": "wait=20"})  # fmt: skip

    assert response.status_code == 200, response.text
    body = response.json()["port"]
    assert (body["status"], body["qos_status"]) == ("ACTIVE", "AVAILABLE")


@pytest.mark.parametrize("where", ["port create", "port update", "network create", "network update"])
async def test_naming_an_unknown_or_other_tenants_policy_is_404(api, admin, where):
    other_tenant = admin.__class__(admin.http, admin.headers["X-Auth-Token"], f"{admin.tenant}-other")
    foreign = await policy(other_tenant)
    network = await api.create_network()
    port = await api.create_port(network["id"])
    for policy_id in (str(uuid.uuid4()), foreign["id"]):
        if where == "port create":
            response = await api.request("POST", f"networks/{network['id']}/ports", json={"port": {"qos_policy_id": policy_id}})
        elif where == "port update":
            response = await api.request("PUT", f"networks/{network['id']}/ports/{port['id']}", json={"port": {"qos_policy_id": policy_id}})
        elif where == "network create":
            response = await api.request("POST", "networks", json={"network": {"name": "n", "qos_policy_id": policy_id}})
        else:
            response = await api.request("PUT", f"networks/{network['id']}", json={"network": {"qos_policy_id": policy_id}})
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "QosPolicyNotFound"
    response = await api.request("POST", f"networks/{network['id']}/ports", json={"port": {"qos_policy_id": "gold"}})
    assert (response.status_code, response.json()["code"]) == (400, "BadRequest")
    # Nothing was made or changed by the refused requests.
    assert len((await api.get(f"networks/{network['id']}/ports"))["ports"]) == 1
    assert len((await api.get("networks"))["networks"]) == 1


async def test_delete_in_use_is_409_until_cleared(api):
    gold, silver = await policy(api), await policy(api, "silver")
    response = await api.request("POST", "networks", json={"network": {"name": "n", "qos_policy_id": silver["id"]}})
    network = response.json()["network"]
    port = await port_with(api, network["id"], qos_policy_id=gold["id"])

    for used in (gold, silver):
        response = await api.request("DELETE", f"qos_policies/{used['id']}")
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "QosPolicyInUse"

    await api.request("PUT", f"networks/{network['id']}/ports/{port['id']}", json={"port": {"qos_policy_id": None}})
    await api.request("PUT", f"networks/{network['id']}", json={"network": {"qos_policy_id": None}})
    for used in (gold, silver):
        assert (await api.request("DELETE", f"qos_policies/{used['id']}")).status_code == 204


async def test_new_rules_reach_every_port_using_the_policy(api, stack):
    gold = await policy(api)
    other = await policy(api, "other", MARK)
    response = await api.request("POST", "networks", json={"network": {"name": "n", "qos_policy_id": gold["id"]}})
    network = response.json()["network"]
    inheriting = [await port_with(api, network["id"]) for _ in range(3)]
    own = [await port_with(api, network["id"], qos_policy_id=gold["id"]) for _ in range(2)]
    elsewhere = await port_with(api, network["id"], qos_policy_id=other["id"])
    for port in inheriting + own + [elsewhere]:
        await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port", until=qos_settled)
    new_rules = [{"type": "bandwidth_limit", "max_kbps": 2000, "max_burst_kbps": 100, "direction": "ingress"}]

    response = await api.request("PUT", f"qos_policies/{gold['id']}", json={"qos_policy": {"rules": new_rules}},
                                 headers={"Prefer": "wait=30"})  # fmt: skip

    assert response.status_code == 200, response.text
    assert response.headers["preference-applied"] == "wait=30"
    for port in inheriting + own:
        body = (await api.get(f"networks/{network['id']}/ports/{port['id']}"))["port"]
        assert body["qos_status"] == "AVAILABLE", body
        assert recorded_rules(stack, port["id"]) == new_rules
    assert recorded_rules(stack, elsewhere["id"]) == MARK


async def test_name_only_put_applies_nothing(api, stack):
    gold = await policy(api)
    network = await api.create_network()
    port = await port_with(api, network["id"], qos_policy_id=gold["id"])
    path = f"networks/{network['id']}/ports/{port['id']}"
    before = await api.settle(path, "port", until=qos_settled)

    response = await api.request("PUT", f"qos_policies/{gold['id']}", json={"qos_policy": {"name": "renamed", "rules": LIMIT}})

    assert response.status_code == 200
    after = (await api.get(path))["port"]
    assert after["qos_status"] == "AVAILABLE"
    assert after["updated_at"] == before["updated_at"]


async def test_changing_the_network_policy_fans_out_to_inheriting_ports(api, stack):
    gold, silver = await policy(api), await policy(api, "silver", MARK)
    network = await api.create_network()
    inheriting = await api.create_port(network["id"])
    own = await port_with(api, network["id"], qos_policy_id=silver["id"])

    response = await api.request("PUT", f"networks/{network['id']}", json={"network": {"qos_policy_id": gold["id"]}},
                                 headers={"Prefer": "wait=30"})  # fmt: skip

    assert response.status_code == 204, response.text
    assert recorded_rules(stack, inheriting["id"]) == LIMIT
    body = await api.settle(f"networks/{network['id']}/ports/{own['id']}", "port", until=qos_settled)
    assert recorded_rules(stack, own["id"]) == MARK and body["qos_network_policy_id"] == gold["id"]
    assert (await api.get(f"networks/{network['id']}"))["network"]["qos_policy_id"] == gold["id"]

    response = await api.request("PUT", f"networks/{network['id']}", json={"network": {"qos_policy_id": None}},
                                 headers={"Prefer": "wait=30"})  # fmt: skip
    assert response.status_code == 204
    assert recorded_rules(stack, inheriting["id"]) is None
    assert (await api.get(f"networks/{network['id']}/ports/{inheriting['id']}"))["port"]["qos_status"] is None


async def test_failing_policy_puts_qos_in_error_not_the_port(api):
    bad = await policy(api, "fail-gold")
    network = await api.create_network()
    port = await port_with(api, network["id"], qos_policy_id=bad["id"], state="ACTIVE")

    settled = await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port", until=qos_settled)

    assert settled["status"] == "ACTIVE"
    assert settled["qos_status"] == "ERROR"
    assert "fail-gold" in settled["qos_status_reason"]


async def test_attaching_makes_qos_provisioning_until_plugged(api, stack):
    gold = await policy(api)
    network = await api.create_network()
    port = await port_with(api, network["id"], qos_policy_id=gold["id"], state="ACTIVE")
    path = f"networks/{network['id']}/ports/{port['id']}"
    await api.settle(path, "port", until=qos_settled)

    response = await api.attach(network["id"], port["id"], "vif-qos-1")
    assert response.status_code == 202, response.text
    during = (await api.get(path))["port"]
    assert during["qos_status"] == "PROVISIONING"
    assert "vif-qos-1" in during["qos_status_reason"]

    settled = await api.settle(path, "port", until=qos_settled)
    assert (settled["attachment"]["status"], settled["qos_status"]) == ("AVAILABLE", "AVAILABLE")


def ledger_actions(stack, port_id: str) -> list[str]:
    """The fake plugin's actions applied to the port, in the order applied."""
    return [e.action for e in plugin_class("fake")(stack.settings).ledger() if e.resource_id == port_id]


async def test_apply_qos_runs_after_the_provisioning_and_the_plug_it_depends_on(api, stack):
    gold = await policy(api)
    network = await api.create_network("flaky2-order")
    port = await port_with(api, network["id"], qos_policy_id=gold["id"], state="ACTIVE")
    await api.attach(network["id"], port["id"], "vif-order-1")
    path = f"networks/{network['id']}/ports/{port['id']}"
    await api.settle(path, "port", timeout=60, until=lambda b: qos_settled(b) and b["attachment"]["status"] == "AVAILABLE")

    assert ledger_actions(stack, port["id"]) == ["create_port", "apply_qos", "plug_interface", "apply_qos"]


async def test_retry_of_a_failed_port_puts_its_policy_back_on(api, admin, stack):
    gold = await policy(api)
    network = await api.create_network()
    await api.settle(f"networks/{network['id']}", "network")
    port = await port_with(api, network["id"], qos_policy_id=gold["id"])
    path = f"networks/{network['id']}/ports/{port['id']}"
    await api.settle(path, "port", until=qos_settled)
    # The port fails (an operator cancels an operation in flight is slow to arrange): mark it ERROR directly,
    # once its workflow run has closed (an open run would keep the status it holds, not the row's).
    await run_closed(stack, port["id"])
    from sqlmodel import Session

    from store.tables import PortRow

    with Session(stack.app.state.engine) as session:
        row = session.get(PortRow, port["id"])
        row.status, row.status_reason = "ERROR", "broken on purpose"
        session.add(row)
        session.commit()

    response = await admin.request("POST", f"{path}/actions/retry", headers={"Prefer": "wait=20"})

    assert response.status_code in (200, 202), response.text
    body = await api.settle(path, "port", until=qos_settled)
    assert (body["status"], body["qos_status"]) == ("DOWN", "AVAILABLE")
    assert ledger_actions(stack, port["id"]).count("apply_qos") == 2


async def test_strict_handling_refuses_qos_changes_on_what_is_not_settled(api):
    gold = await policy(api)
    network = await api.create_network("flaky3-strict")
    port = await api.create_port(network["id"])
    strict = {"Prefer": "handling=strict"}

    on_port = await api.request("PUT", f"networks/{network['id']}/ports/{port['id']}", json={"port": {"qos_policy_id": gold["id"]}}, headers=strict)
    on_network = await api.request("PUT", f"networks/{network['id']}", json={"network": {"qos_policy_id": gold["id"]}}, headers=strict)
    created = await api.request("POST", "qos_policies", json={"qos_policy": {"name": "fine", "rules": []}}, headers=strict)

    for response in (on_port, on_network):
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "ResourceNotAvailable"
    assert created.status_code == 201  # a policy is a definition: nothing to wait for
    body = (await api.get(f"networks/{network['id']}/ports/{port['id']}"))["port"]
    assert (body["qos_policy_id"], body["qos_status"]) == (None, None)


async def run_closed(stack, port_id: str, timeout: float = 30) -> None:
    """Wait until the port's workflow has no open run."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    handle = stack.client.get_workflow_handle(port_workflow_id(port_id))
    while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        assert loop.time() < deadline, "the port's workflow run did not close"
        await asyncio.sleep(0.1)
