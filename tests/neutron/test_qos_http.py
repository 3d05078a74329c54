"""/v2.0/qos over HTTP against the real stack: policies through the generic controller, rule
sub-resources, qos_policy_id on networks and ports, qos_network_policy_id, QosPolicyInUse, and the
same policy through v1.1."""

import uuid

from tests.neutron.test_read_http import neutron_error
from tests.neutron.test_writes_http import net, port, until


async def policy(v2, **fields) -> dict:
    response = await v2.request("POST", "/v2.0/qos/policies", json={"policy": fields})
    assert response.status_code == 201, response.text
    return response.json()["policy"]


async def test_policy_crud_and_rules(v2):
    made = await policy(v2, name="gold", description="fast")
    assert made["rules"] == [] and made["shared"] is False and made["is_default"] is False
    assert made["project_id"] == v2.tenant and made["description"] == "fast"
    assert (await policy(v2))["name"] == ""  # optional, as in Neutron
    base = f"/v2.0/qos/policies/{made['id']}"

    bw = await v2.request("POST", f"{base}/bandwidth_limit_rules", json={"bandwidth_limit_rule": {"max_kbps": 8000}})
    assert bw.status_code == 201, bw.text
    rule = bw.json()["bandwidth_limit_rule"]
    assert (rule["max_kbps"], rule["max_burst_kbps"], rule["direction"], rule["type"]) == (8000, 0, "egress", "bandwidth_limit")
    message = neutron_error(await v2.request("POST", f"{base}/bandwidth_limit_rules",
                                             json={"bandwidth_limit_rule": {"max_kbps": 5}}), 409, "NeutronDbObjectDuplicateEntry")  # fmt: skip
    assert "duplicate QosBandwidthLimitRule" in message
    ingress = await v2.request("POST", f"{base}/bandwidth_limit_rules",
                               json={"bandwidth_limit_rule": {"max_kbps": 4000, "direction": "ingress"}})  # fmt: skip
    assert ingress.status_code == 201, ingress.text
    dscp = await v2.request("POST", f"{base}/dscp_marking_rules", json={"dscp_marking_rule": {"dscp_mark": 26}})
    assert dscp.status_code == 201, dscp.text
    neutron_error(await v2.request("POST", f"{base}/dscp_marking_rules", json={"dscp_marking_rule": {"dscp_mark": 27}}),
                  400, "HTTPBadRequest")  # fmt: skip
    neutron_error(await v2.request("POST", f"{base}/bandwidth_limit_rules", json={"bandwidth_limit_rule": {}}),
                  400, "HTTPBadRequest")  # fmt: skip

    shown = (await v2.request("GET", base)).json()["policy"]
    assert {(r["type"], r["id"]) for r in shown["rules"]} == {
        ("bandwidth_limit", rule["id"]), ("bandwidth_limit", ingress.json()["bandwidth_limit_rule"]["id"]),
        ("dscp_marking", dscp.json()["dscp_marking_rule"]["id"])}  # fmt: skip
    listed = (await v2.request("GET", f"{base}/bandwidth_limit_rules")).json()["bandwidth_limit_rules"]
    assert len(listed) == 2

    updated = await v2.request("PUT", f"{base}/bandwidth_limit_rules/{rule['id']}", json={"bandwidth_limit_rule": {"max_kbps": 9000}})
    assert updated.status_code == 200 and updated.json()["bandwidth_limit_rule"]["max_kbps"] == 9000
    assert updated.json()["bandwidth_limit_rule"]["id"] == rule["id"]
    one = (await v2.request("GET", f"{base}/bandwidth_limit_rules/{rule['id']}")).json()["bandwidth_limit_rule"]
    assert one["max_kbps"] == 9000
    missing = str(uuid.uuid4())
    neutron_error(await v2.request("GET", f"{base}/bandwidth_limit_rules/{missing}"), 404, "QosRuleNotFound")
    neutron_error(await v2.request("DELETE", f"{base}/dscp_marking_rules/{rule['id']}"), 404, "QosRuleNotFound")
    assert (await v2.request("DELETE", f"{base}/dscp_marking_rules/{dscp.json()['dscp_marking_rule']['id']}")).status_code == 204

    renamed = await v2.request("PUT", base, json={"policy": {"name": "platinum", "description": "faster"}})
    assert renamed.status_code == 200 and renamed.json()["policy"]["name"] == "platinum"
    # The same policy through v1.1.
    v1 = (await v2.get(f"qos_policies/{made['id']}"))["qos_policy"]
    assert v1["name"] == "platinum" and {r["type"] for r in v1["rules"]} == {"bandwidth_limit"}
    neutron_error(await v2.request("POST", "/v2.0/qos/policies", json={"policy": {"shared": True}}), 400, "HTTPBadRequest")
    neutron_error(await v2.request("GET", "/v2.0/qos/policies/platinum"), 404, "QosPolicyNotFound")
    assert [p["id"] for p in (await v2.request("GET", "/v2.0/qos/policies?name=platinum")).json()["policies"]] == [made["id"]]
    assert (await v2.request("DELETE", base)).status_code == 204
    neutron_error(await v2.request("GET", base), 404, "QosPolicyNotFound")


async def test_policies_on_networks_and_ports(v2):
    gold = await policy(v2, name="gold-net")
    await v2.request("POST", f"/v2.0/qos/policies/{gold['id']}/bandwidth_limit_rules", json={"bandwidth_limit_rule": {"max_kbps": 1000}})
    silver = await policy(v2, name="silver-port")
    network = await net(v2, name="qos", qos_policy_id=gold["id"])
    assert network["qos_policy_id"] == gold["id"]
    made = await port(v2, network["id"], **{"binding:host_id": "h1"})
    assert made["qos_policy_id"] is None and made["qos_network_policy_id"] == gold["id"]
    settled = await until(v2, f"/v2.0/ports/{made['id']}", "port", lambda b: b["netprov:qos_status"] == "AVAILABLE" and b["status"] == "ACTIVE")
    assert settled["status"] == "ACTIVE"

    response = await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"qos_policy_id": silver["id"]}})
    assert response.status_code == 200 and response.json()["port"]["qos_policy_id"] == silver["id"]
    assert (await v2.get(f"networks/{network['id']}/ports/{made['id']}"))["port"]["qos_policy_id"] == silver["id"]
    message = neutron_error(await v2.request("DELETE", f"/v2.0/qos/policies/{silver['id']}"), 409, "QosPolicyInUse")
    assert silver["id"] in message
    neutron_error(await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"qos_policy_id": str(uuid.uuid4())}}),
                  404, "QosPolicyNotFound")  # fmt: skip
    cleared = await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"qos_policy_id": None}})
    assert cleared.json()["port"]["qos_policy_id"] is None
    assert (await v2.request("DELETE", f"/v2.0/qos/policies/{silver['id']}")).status_code == 204

    response = await v2.request("PUT", f"/v2.0/networks/{network['id']}", json={"network": {"qos_policy_id": None}})
    assert response.status_code == 200 and response.json()["network"]["qos_policy_id"] is None
    assert (await v2.request("GET", f"/v2.0/ports/{made['id']}")).json()["port"]["qos_network_policy_id"] is None
    assert (await v2.request("DELETE", f"/v2.0/qos/policies/{gold['id']}")).status_code == 204
    neutron_error(await v2.request("POST", "/v2.0/networks", json={"network": {"qos_policy_id": str(uuid.uuid4())}}),
                  404, "QosPolicyNotFound")  # fmt: skip
