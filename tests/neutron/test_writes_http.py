"""The v2.0 writes over HTTP, against the real stack (Temporal dev server, worker, SQLite): codes,
bodies, binding, delete semantics, bulk, tags, and that v1.1 sees the same resources."""

import asyncio
import time
import uuid

from sqlmodel import Session

from store.tables import NetworkRow, PortRow
from tests.neutron.test_read_http import NETWORK_KEYS, PORT_KEYS, neutron_error


async def until(v2, path: str, key: str, check, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = (await v2.request("GET", path)).json()[key]
        if check(body):
            return body
        assert time.monotonic() < deadline, f"{path} never satisfied the check: {body}"
        await asyncio.sleep(0.1)


async def net(v2, **fields) -> dict:
    response = await v2.request("POST", "/v2.0/networks", json={"network": fields})
    assert response.status_code == 201, response.text
    return response.json()["network"]


async def port(v2, network_id: str, **fields) -> dict:
    response = await v2.request("POST", "/v2.0/ports", json={"port": {"network_id": network_id, **fields}})
    assert response.status_code == 201, response.text
    return response.json()["port"]


async def test_network_create_update_delete(v2):
    made = await net(v2, name="blue", description="d1")
    assert set(made) == NETWORK_KEYS and made["status"] == "BUILD" and made["admin_state_up"] is True
    assert made["project_id"] == v2.tenant and made["description"] == "d1" and made["revision_number"] >= 1
    nameless = await net(v2)
    assert nameless["name"] == ""  # name is optional, as in Neutron
    shown = await until(v2, f"/v2.0/networks/{made['id']}", "network", lambda b: b["status"] == "ACTIVE")
    # The same network through v1.1.
    assert (await v2.get(f"networks/{made['id']}"))["network"]["status"] == "AVAILABLE"

    response = await v2.request("PUT", f"/v2.0/networks/{made['id']}", json={"network": {"name": "red", "description": ""}})
    assert response.status_code == 200, response.text
    updated = response.json()["network"]
    assert updated["name"] == "red" and updated["description"] == "" and updated["revision_number"] > shown["revision_number"]
    message = neutron_error(
        await v2.request("PUT", f"/v2.0/networks/{made['id']}", json={"network": {"admin_state_up": False}}), 400, "HTTPBadRequest"
    )
    assert "always up" in message

    assert (await v2.request("DELETE", f"/v2.0/networks/{made['id']}")).status_code == 204
    await v2.gone(f"/v2.0/networks/{made['id']}")


async def test_network_with_ports_is_in_use_on_v2_but_not_on_v1(v2):
    network = await net(v2, name="busy")
    p = await port(v2, network["id"])
    message = neutron_error(await v2.request("DELETE", f"/v2.0/networks/{network['id']}"), 409, "NetworkInUse")
    assert message == (f"Unable to complete operation on network {network['id']}. There are one or more ports still "
                       "in use on the network.")
    # Delete the port, then the network at once (Rally's order): the port being deleted no longer counts.
    assert (await v2.request("DELETE", f"/v2.0/ports/{p['id']}")).status_code == 204
    assert (await v2.request("DELETE", f"/v2.0/networks/{network['id']}")).status_code == 204
    await v2.gone(f"/v2.0/networks/{network['id']}")
    await v2.gone(f"/v2.0/ports/{p['id']}")
    # v1.1 keeps its own rule: an unattached port goes with its network.
    other = await net(v2, name="v1-rule")
    await port(v2, other["id"])
    assert (await v2.request("DELETE", f"networks/{other['id']}")).status_code in (202, 204)
    await v2.gone(f"/v2.0/networks/{other['id']}")


async def test_port_create_defaults_and_fields(v2):
    network = await net(v2, name="ports")
    made = await port(v2, network["id"], name="p1", description="first", device_id="vm-1", device_owner="compute:nova",
                      tags=["b", "a"])  # fmt: skip
    assert set(made) == PORT_KEYS
    assert made["status"] == "BUILD" and made["admin_state_up"] is True  # Neutron's default, not v1.1's DOWN
    assert made["mac_address"].startswith("fa:16:3e:") and made["binding:vif_type"] == "unbound"
    assert (made["name"], made["description"], made["device_id"], made["device_owner"], made["tags"]) == (
        "p1", "first", "vm-1", "compute:nova", ["a", "b"])
    settled = await until(v2, f"/v2.0/ports/{made['id']}", "port", lambda b: b["status"] != "BUILD")
    assert settled["status"] == "DOWN"  # admin up but unbound
    v1 = (await v2.get(f"networks/{network['id']}/ports/{made['id']}"))["port"]
    assert v1["state"] == "ACTIVE"

    down = await port(v2, network["id"], admin_state_up=False)
    assert down["admin_state_up"] is False

    response = await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"admin_state_up": False, "name": "p2"}})
    assert response.status_code == 200, response.text
    body = response.json()["port"]
    assert body["admin_state_up"] is False and body["name"] == "p2" and body["revision_number"] > settled["revision_number"]
    assert (await v2.get(f"networks/{network['id']}/ports/{made['id']}"))["port"]["state"] == "DOWN"
    neutron_error(await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"data_plane_status": "ACTIVE"}}),
                  400, "HTTPBadRequest")  # fmt: skip
    neutron_error(await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"mac_address": "fa:16:3e:00:00:01"}}),
                  400, "HTTPBadRequest")  # fmt: skip


async def test_explicit_mac_address_and_its_clash(v2):
    network = await net(v2, name="macs")
    mac = f"fa:16:3e:{uuid.uuid4().hex[0:2]}:{uuid.uuid4().hex[0:2]}:{uuid.uuid4().hex[0:2]}"
    made = await port(v2, network["id"], mac_address=mac.upper())
    assert made["mac_address"] == mac
    message = neutron_error(await v2.request("POST", "/v2.0/ports", json={"port": {"network_id": network["id"], "mac_address": mac}}),
                            409, "MacAddressInUse")  # fmt: skip
    assert mac in message
    neutron_error(await v2.request("POST", "/v2.0/ports", json={"port": {"network_id": network["id"], "mac_address": "01:00:00:00:00:01"}}),
                  400, "HTTPBadRequest")  # fmt: skip


async def test_binding_attaches_reattaches_and_detaches(v2):
    network = await net(v2, name="bind")
    made = await port(v2, network["id"], **{"binding:host_id": "h1"})
    assert made["binding:host_id"] == "h1" and made["binding:vif_type"] == "ovs" and made["status"] == "BUILD"
    active = await until(v2, f"/v2.0/ports/{made['id']}", "port", lambda b: b["status"] == "ACTIVE")
    assert active["data_plane_status"] == "ACTIVE" and active["netprov:link_status"] == "UP"
    attachment = (await v2.get(f"networks/{network['id']}/ports/{made['id']}/attachment"))["attachment"]
    assert attachment["id"] == made["id"] and attachment["host"] == "h1"  # the Nova/OVS convention

    moved = await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"binding:host_id": "h2"}})
    assert moved.status_code == 200 and moved.json()["port"]["binding:host_id"] == "h2"
    await until(v2, f"/v2.0/ports/{made['id']}", "port", lambda b: b["status"] == "ACTIVE")
    attachment = (await v2.get(f"networks/{network['id']}/ports/{made['id']}/attachment"))["attachment"]
    assert (attachment["id"], attachment["host"]) == (made["id"], "h2")

    cleared = await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"binding:host_id": ""}})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["port"]["binding:host_id"] == "" and cleared.json()["port"]["binding:vif_type"] == "unbound"
    assert (await v2.get(f"networks/{network['id']}/ports/{made['id']}/attachment"))["attachment"] is None
    await until(v2, f"/v2.0/ports/{made['id']}", "port", lambda b: b["status"] == "DOWN")
    rebound = await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"binding:host_id": "h1"}})
    assert rebound.json()["port"]["binding:host_id"] == "h1"
    cleared = await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"binding:host_id": None}})
    assert cleared.json()["port"]["binding:host_id"] == ""


async def test_binding_a_port_attached_through_v1(v2):
    network = await net(v2, name="v1-attached")
    made = await port(v2, network["id"])
    assert (await v2.attach(network["id"], made["id"], "vif-legacy", host="h1")).status_code == 202
    same = await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"binding:host_id": "h1"}})
    assert same.status_code == 200
    attachment = (await v2.get(f"networks/{network['id']}/ports/{made['id']}/attachment"))["attachment"]
    assert attachment["id"] == "vif-legacy"  # same host: kept as it is
    await v2.request("PUT", f"/v2.0/ports/{made['id']}", json={"port": {"binding:host_id": "h2"}})
    attachment = (await v2.get(f"networks/{network['id']}/ports/{made['id']}/attachment"))["attachment"]
    assert (attachment["id"], attachment["host"]) == (made["id"], "h2")  # another host: the binding's own interface


async def test_delete_of_a_bound_port_unplugs_and_deletes(v2):
    network = await net(v2, name="unplug")
    made = await port(v2, network["id"], **{"binding:host_id": "h1"})
    await until(v2, f"/v2.0/ports/{made['id']}", "port", lambda b: b["status"] == "ACTIVE")
    # v1.1 refuses it (PortInUse); v2.0 unplugs and deletes.
    assert (await v2.request("DELETE", f"networks/{network['id']}/ports/{made['id']}")).status_code == 409
    assert (await v2.request("DELETE", f"/v2.0/ports/{made['id']}")).status_code == 204
    await v2.gone(f"/v2.0/ports/{made['id']}")
    assert (await v2.request("DELETE", f"/v2.0/networks/{network['id']}")).status_code == 204
    await v2.gone(f"/v2.0/networks/{network['id']}")


async def test_prefer_wait_and_idempotency_key(v2):
    response = await v2.request("POST", "/v2.0/networks", json={"network": {"name": "waited"}}, headers={"Prefer": "wait=20"})
    assert response.status_code == 201 and response.headers["Preference-Applied"] == "wait=20"
    assert response.json()["network"]["status"] == "ACTIVE"
    network_id = response.json()["network"]["id"]
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    body = {"port": {"network_id": network_id, "name": "once"}}
    first = await v2.request("POST", "/v2.0/ports", json=body, headers=key)
    second = await v2.request("POST", "/v2.0/ports", json=body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json()["port"]["id"] == second.json()["port"]["id"]
    ports = (await v2.request("GET", f"/v2.0/ports?network_id={network_id}")).json()["ports"]
    assert len(ports) == 1
    waited = await v2.request("POST", "/v2.0/ports", json={"port": {"network_id": network_id, "binding:host_id": "h1"}},
                              headers={"Prefer": "wait=20"})  # fmt: skip
    assert waited.status_code == 201 and waited.json()["port"]["status"] == "ACTIVE"


async def test_bulk_create_is_one_batch(v2, stack):
    response = await v2.request("POST", "/v2.0/networks", json={"networks": [{"name": "b1", "tags": ["x"]}, {"name": ""}]})
    assert response.status_code == 201, response.text
    nets = response.json()["networks"]
    assert [n["name"] for n in nets] == ["b1", ""] and nets[0]["tags"] == ["x"] and nets[0]["status"] == "BUILD"
    response = await v2.request("POST", "/v2.0/ports", json={"ports": [
        {"network_id": nets[0]["id"], "name": f"p{i}", "tags": [f"t{i}"], "admin_state_up": i % 2 == 0} for i in range(4)
    ]})  # fmt: skip
    assert response.status_code == 201, response.text
    ports = response.json()["ports"]
    assert [p["name"] for p in ports] == ["p0", "p1", "p2", "p3"]
    assert [p["admin_state_up"] for p in ports] == [True, False, True, False] and ports[2]["tags"] == ["t2"]
    assert len({p["mac_address"] for p in ports}) == 4
    with Session(stack.app.state.engine) as session:
        batch_ids = {session.get(PortRow, p["id"]).batch_id for p in ports}
        assert len(batch_ids) == 1 and None not in batch_ids
        assert session.get(NetworkRow, nets[0]["id"]).batch_id is not None
    for p in ports:
        await until(v2, f"/v2.0/ports/{p['id']}", "port", lambda b: b["status"] != "BUILD")
    # A bad item refuses the whole bulk request, nothing stored.
    response = await v2.request("POST", "/v2.0/ports", json={"ports": [{"network_id": nets[0]["id"]}, {"network_id": str(uuid.uuid4())}]})
    neutron_error(response, 404, "NetworkNotFound")
    unknown_policy = {"network_id": nets[0]["id"], "qos_policy_id": str(uuid.uuid4())}
    neutron_error(await v2.request("POST", "/v2.0/ports", json={"ports": [{"network_id": nets[0]["id"]}, unknown_policy]}),
                  404, "QosPolicyNotFound")  # fmt: skip
    neutron_error(await v2.request("POST", "/v2.0/networks", json={"networks": [{"qos_policy_id": str(uuid.uuid4())}]}),
                  400, "HTTPBadRequest")  # fmt: skip
    assert len((await v2.request("GET", f"/v2.0/ports?network_id={nets[0]['id']}")).json()["ports"]) == 4


async def test_bulk_create_binds_hosts_and_applies_policies(v2):
    network = await net(v2, name="bulk-bound")
    gold = (await v2.request("POST", "/v2.0/qos/policies", json={"policy": {"name": "bulk-gold"}})).json()["policy"]
    rule = {"bandwidth_limit_rule": {"max_kbps": 8000}}
    assert (await v2.request("POST", f"/v2.0/qos/policies/{gold['id']}/bandwidth_limit_rules", json=rule)).status_code == 201
    response = await v2.request("POST", "/v2.0/ports", json={"ports": [
        {"network_id": network["id"], "name": "bound", "binding:host_id": "h1", "qos_policy_id": gold["id"]},
        {"network_id": network["id"], "name": "unbound"},
    ]})  # fmt: skip
    assert response.status_code == 201, response.text
    bound, unbound = response.json()["ports"]
    assert (bound["name"], bound["binding:host_id"], bound["binding:vif_type"], bound["qos_policy_id"]) == ("bound", "h1", "ovs", gold["id"])
    assert (unbound["binding:host_id"], unbound["binding:vif_type"], unbound["qos_policy_id"]) == ("", "unbound", None)
    assert bound["status"] == unbound["status"] == "BUILD"

    bound = await until(v2, f"/v2.0/ports/{bound['id']}", "port",
                        lambda b: b["status"] != "BUILD" and b["netprov:qos_status"] not in (None, "PROVISIONING"))  # fmt: skip
    unbound = await until(v2, f"/v2.0/ports/{unbound['id']}", "port", lambda b: b["status"] != "BUILD")
    assert (bound["status"], bound["netprov:qos_status"], unbound["status"]) == ("ACTIVE", "AVAILABLE", "DOWN")
    # The interface plugged is named by the port's id on that host (the Nova/OVS convention), as on a single create.
    attachment = (await v2.get(f"networks/{network['id']}/ports/{bound['id']}/attachment"))["attachment"]
    assert (attachment["id"], attachment["host"]) == (bound["id"], "h1")


async def test_tags_sub_resource(v2):
    network = await net(v2, name="tagged")
    made = await port(v2, network["id"])
    for collection, item in (("networks", network), ("ports", made)):
        base = f"/v2.0/{collection}/{item['id']}/tags"
        assert (await v2.request("PUT", base, json={"tags": ["b", "a"]})).json() == {"tags": ["a", "b"]}
        assert (await v2.request("PUT", f"{base}/c")).status_code == 201
        assert (await v2.request("GET", base)).json() == {"tags": ["a", "b", "c"]}
        assert (await v2.request("GET", f"{base}/c")).status_code == 204
        neutron_error(await v2.request("GET", f"{base}/zz"), 404, "TagNotFound")
        assert (await v2.request("DELETE", f"{base}/a")).status_code == 204
        neutron_error(await v2.request("DELETE", f"{base}/a"), 404, "TagNotFound")
        filtered = (await v2.request("GET", f"/v2.0/{collection}?tags=b,c")).json()[collection]
        assert [x["id"] for x in filtered] == [item["id"]]
        assert (await v2.request("DELETE", base)).status_code == 204
        assert (await v2.request("GET", base)).json() == {"tags": []}
        neutron_error(await v2.request("PUT", base, json={"tags": "a"}), 400, "HTTPBadRequest")


async def test_strict_handling_refuses_a_bound_create_before_making_anything(v2):
    network = await net(v2, name="strict")
    await until(v2, f"/v2.0/networks/{network['id']}", "network", lambda b: b["status"] == "ACTIVE")
    response = await v2.request("POST", "/v2.0/ports", json={"port": {"network_id": network["id"], "binding:host_id": "h1"}},
                                headers={"Prefer": "handling=strict"})  # fmt: skip
    neutron_error(response, 409, "ResourceNotAvailable")
    assert (await v2.request("GET", f"/v2.0/ports?network_id={network['id']}")).json()["ports"] == []


async def test_bulk_with_idempotency_key_makes_one_batch(v2):
    network = await net(v2, name="bulk-key")
    key = {"Idempotency-Key": f"bulk-{uuid.uuid4().hex}"}
    body = {"ports": [{"network_id": network["id"], "name": "k0"}, {"network_id": network["id"], "name": "k1"}]}
    first = await v2.request("POST", "/v2.0/ports", json=body, headers=key)
    second = await v2.request("POST", "/v2.0/ports", json=body, headers=key)
    assert first.status_code == second.status_code == 201, second.text
    assert [p["id"] for p in first.json()["ports"]] == [p["id"] for p in second.json()["ports"]]
    assert len((await v2.request("GET", f"/v2.0/ports?network_id={network['id']}")).json()["ports"]) == 2
    other = {"ports": [{"network_id": network["id"], "name": "different"}]}
    assert (await v2.request("POST", "/v2.0/ports", json=other, headers=key)).status_code == 422


async def test_policy_tags(v2):
    made = (await v2.request("POST", "/v2.0/qos/policies", json={"policy": {"name": "tagged", "tags": ["x"]}})).json()["policy"]
    assert made["tags"] == ["x"]
    base = f"/v2.0/qos/policies/{made['id']}/tags"
    assert (await v2.request("PUT", f"{base}/y")).status_code == 201
    assert (await v2.request("GET", base)).json() == {"tags": ["x", "y"]}
    assert [p["id"] for p in (await v2.request("GET", "/v2.0/qos/policies?tags=y")).json()["policies"]] == [made["id"]]
