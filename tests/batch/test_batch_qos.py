"""Batch ports and QoS (the contract: "a batch port may carry qos_policy_id (an existing policy of the
tenant); a batch naming an unknown policy is refused whole (404 QosPolicyNotFound), nothing of it
created"); the ports then get the policy that applies to them, as ports created alone do."""

import uuid

import pytest
from batch_helpers import items_by, ledger_counts, post_batch, wait_batch

EMPTY = {"networks": 0, "ports": 0, "operations": 0, "batches": 0, "items": 0}
RULES = [{"type": "bandwidth_limit", "max_kbps": 8000}, {"type": "dscp_marking", "dscp_mark": 26}]


async def _policy(api, name: str, rules=RULES) -> dict:
    response = await api.request("POST", "qos_policies", json={"qos_policy": {"name": name, "rules": rules}})
    assert response.status_code == 201, response.text
    return response.json()["qos_policy"]


def _batch(policy_id: str, tag: str) -> dict:
    return {"batch": {
        "networks": [{"ref": "n1", "name": "web"}],
        "ports": [{"ref": "p1", "network": "n1", "state": "ACTIVE"},
                  {"ref": "p2", "network": "n1", "state": "ACTIVE", "qos_policy_id": policy_id}],
        "attachments": [{"port": "p2", "id": f"vif-{tag}-2", "host": "h1"}],
    }}


@pytest.mark.parametrize("whose", ["unknown", "another tenant's"])
async def test_a_batch_naming_a_policy_the_tenant_lacks_is_refused_whole(api, admin, rows, whose):
    if whose == "unknown":
        policy_id = str(uuid.uuid4())
    else:
        other = admin.__class__(admin.http, admin.headers["X-Auth-Token"], f"t-other-{uuid.uuid4().hex[:6]}")
        policy_id = (await _policy(other, "theirs"))["id"]
    await _policy(api, "ours")  # the tenant has a policy, just not that one
    before = rows(api.tenant)
    response = await api.request("POST", "batches", json=_batch(policy_id, uuid.uuid4().hex[:8]))
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "QosPolicyNotFound" and policy_id in problem["detail"] and "ports[1]" in problem["detail"]
    assert rows(api.tenant) == before == EMPTY


async def test_a_policy_id_that_is_not_a_uuid_is_a_bad_request(api, rows):
    response = await api.request("POST", "batches", json=_batch("gold", uuid.uuid4().hex[:8]))
    assert response.status_code in (400, 422), response.text
    assert response.json()["code"] == "BadRequest" and "qos_policy_id" in response.json()["detail"]
    assert rows(api.tenant) == EMPTY


async def test_batch_ports_get_the_policy_that_applies_to_them(api, settings):
    gold = await _policy(api, "gold")
    silver = await _policy(api, "silver", [{"type": "bandwidth_limit", "max_kbps": 2000, "direction": "ingress"}])
    existing = await api.create_network("existing")
    response = await api.request("PUT", f"networks/{existing['id']}", json={"network": {"qos_policy_id": silver["id"]}})
    assert response.status_code in (202, 204), response.text
    await api.settle(f"networks/{existing['id']}", "network")
    tag = uuid.uuid4().hex[:8]
    body = _batch(gold["id"].upper(), tag)  # any spelling of the UUID
    # On an existing network with a policy: a port without its own uses the network's.
    body["batch"]["ports"].append({"ref": "p3", "network": existing["id"], "state": "ACTIVE"})
    body["batch"]["attachments"].append({"port": "p3", "id": f"vif-{tag}-3", "host": "h1"})
    created = (await post_batch(api, body))["batch"]
    items = items_by(created)
    net = items["network", "n1"]["id"]
    plain, own, inherits = (items["port", ref]["id"] for ref in ("p1", "p2", "p3"))

    # At once: the policy is the port's, and its QoS is on the way.
    shown = (await api.get(f"networks/{net}/ports/{own}"))["port"]
    assert shown["qos_policy_id"] == gold["id"] and shown["qos_status"] == "PROVISIONING" and shown["qos_status_reason"]

    batch = await wait_batch(api, created["id"])
    assert batch["status"] == "COMPLETED", batch["counts"]
    # The batch's operations first, then the QoS, in the port's own workflow (its outbox hands it
    # over once the batch has settled the port).
    own_body = await api.settle(f"networks/{net}/ports/{own}", "port", timeout=30, until=lambda p: p["qos_status"] != "PROVISIONING")
    assert (own_body["qos_status"], own_body["qos_status_reason"], own_body["qos_policy_id"]) == ("AVAILABLE", None, gold["id"])
    assert own_body["status"] == "ACTIVE" and own_body["link_status"] == "UP" and own_body["attachment"]["status"] == "AVAILABLE"
    inherited = await api.settle(f"networks/{existing['id']}/ports/{inherits}", "port", timeout=30,
                                 until=lambda p: p["qos_status"] != "PROVISIONING")
    assert (inherited["qos_status"], inherited["qos_policy_id"], inherited["qos_network_policy_id"]) == ("AVAILABLE", None, silver["id"])
    plain_body = (await api.get(f"networks/{net}/ports/{plain}"))["port"]
    assert (plain_body["qos_status"], plain_body["qos_policy_id"]) == (None, None)
    applied = ledger_counts(settings, {plain, own, inherits})
    assert (applied[(own, "apply_qos")], applied[(inherits, "apply_qos")], applied[(plain, "apply_qos")]) == (1, 1, 0)

    # A batch's port is an ordinary user of its policy: an update reaches it, and the policy is in use.
    response = await api.request("PUT", f"qos_policies/{gold['id']}", json={"qos_policy": {"rules": RULES[:1]}})
    assert response.status_code == 200, response.text
    await api.settle(f"networks/{net}/ports/{own}", "port", timeout=30, until=lambda p: p["qos_status"] == "AVAILABLE" and p["status"] != "PROVISIONING")
    assert ledger_counts(settings, {own})[(own, "apply_qos")] == 2
    assert (await api.request("DELETE", f"qos_policies/{gold['id']}")).json()["code"] == "QosPolicyInUse"


async def test_a_cancelled_batch_removes_the_qos_ports_it_never_provisioned(api):
    """The SET_QOS a batch gives a port is the batch's own operation: cancelling the batch before the
    port was provisioned removes the port (and its QoS operation), and the policy is free again."""
    gold = await _policy(api, "gold")
    body = {"batch": {
        # flaky9-: the network is retried until its attempts run out, so its port is still pending.
        "networks": [{"ref": "n1", "name": "flaky9-cancelled"}],
        "ports": [{"ref": "p1", "network": "n1", "state": "ACTIVE", "qos_policy_id": gold["id"]}],
    }}
    created = (await post_batch(api, body))["batch"]
    port = items_by(created)["port", "p1"]["id"]
    net = items_by(created)["network", "n1"]["id"]
    response = await api.request("DELETE", f"batches/{created['id']}")
    assert response.status_code in (200, 202), response.text
    batch = await wait_batch(api, created["id"])
    assert items_by(batch)["port", "p1"]["status"] == "ERROR", batch["items"]
    await api.gone(f"networks/{net}/ports/{port}")
    response = await api.request("DELETE", f"qos_policies/{gold['id']}")
    assert response.status_code == 204, response.text
