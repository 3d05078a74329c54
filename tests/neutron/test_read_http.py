"""The v2.0 read side over HTTP: version document, extensions, bodies and status mapping of
resources made through v1.1, scoping, NeutronError bodies."""

import uuid

from sqlalchemy import update
from sqlmodel import Session

from store.tables import PortRow

NETWORK_KEYS = {
    "id", "name", "status", "admin_state_up", "shared", "subnets", "mtu", "project_id", "tenant_id", "qos_policy_id",
    "description", "tags", "revision_number", "created_at", "updated_at", "netprov:status_reason",
}
PORT_KEYS = {
    "id", "name", "network_id", "admin_state_up", "status", "mac_address", "fixed_ips", "device_id", "device_owner",
    "project_id", "tenant_id", "binding:host_id", "binding:vif_type", "binding:vnic_type", "qos_policy_id",
    "qos_network_policy_id", "data_plane_status", "description", "tags", "revision_number", "created_at", "updated_at",
    "netprov:status_reason", "netprov:link_status", "netprov:link_status_string", "netprov:qos_status",
    "netprov:qos_status_reason",
}
REQUIRED_ALIASES = {
    "binding", "data-plane-status", "qos", "qos-bw-limit-direction", "qos-port-network-policy", "pagination", "sorting",
    "filter-validation", "standard-attr-description", "standard-attr-revisions", "standard-attr-timestamp",
    "standard-attr-tag",
}


def neutron_error(response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"NeutronError"} and body["NeutronError"]["type"] == kind, body
    assert body["NeutronError"]["detail"] == ""
    return body["NeutronError"]["message"]


async def test_version_document_needs_no_token(stack):
    response = await stack.http.get("/")
    assert response.status_code == 200
    (version,) = response.json()["versions"]
    assert version["id"] == "v2.0" and version["status"] == "CURRENT"
    assert version["links"] == [{"href": "http://netprov.test/v2.0/", "rel": "self"}]


async def test_v2_root_lists_resources_and_needs_a_token(stack, v2):
    message = neutron_error(await stack.http.get("/v2.0/"), 401, "HTTPUnauthorized")
    assert "X-Auth-Token" in message
    neutron_error(await stack.http.get("/v2.0/networks", headers={"X-Auth-Token": "nope"}), 401, "HTTPUnauthorized")
    body = (await v2.request("GET", "/v2.0/")).json()
    assert {r["collection"] for r in body["resources"]} == {"networks", "ports", "policies"}


async def test_extensions(v2):
    body = (await v2.request("GET", "/v2.0/extensions")).json()
    served = {e["alias"]: e for e in body["extensions"]}
    assert REQUIRED_ALIASES <= set(served)
    assert served["binding"] == {
        "name": "Port Binding", "alias": "binding", "updated": "2014-02-03T10:00:00-00:00", "links": [],
        "description": "Expose port bindings of a virtual port to external application",
    }
    one = await v2.request("GET", "/v2.0/extensions/data-plane-status")
    assert one.status_code == 200 and one.json()["extension"] == served["data-plane-status"]
    assert "tag-ports-during-bulk-creation" in served  # bulk port create carries tags
    message = neutron_error(await v2.request("GET", "/v2.0/extensions/security-group"), 404, "HTTPNotFound")
    assert "security-group" in message


async def test_network_made_through_v1_is_the_same_network(v2):
    made = await v2.create_network("blue")
    body = (await v2.request("GET", f"/v2.0/networks/{made['id']}")).json()["network"]
    assert set(body) == NETWORK_KEYS
    assert body["id"] == made["id"] and body["name"] == "blue" and body["project_id"] == body["tenant_id"] == v2.tenant
    assert body["status"] in ("BUILD", "ACTIVE")
    await v2.settle(f"networks/{made['id']}", "network")
    body = (await v2.request("GET", f"/v2.0/networks/{made['id']}")).json()["network"]
    assert body["status"] == "ACTIVE" and body["netprov:status_reason"] is None
    assert body | {"created_at": None, "updated_at": None, "revision_number": None} == {
        "id": made["id"], "name": "blue", "status": "ACTIVE", "admin_state_up": True, "shared": False, "subnets": [],
        "mtu": 1500, "project_id": v2.tenant, "tenant_id": v2.tenant, "qos_policy_id": None, "description": "",
        "tags": [], "revision_number": None, "created_at": None, "updated_at": None, "netprov:status_reason": None,
    }
    assert body["created_at"].endswith("Z") and len(body["created_at"]) == 20


async def test_failed_network_is_error_with_reason(v2):
    made = await v2.create_network("fail-red")
    await v2.settle(f"networks/{made['id']}", "network")
    body = (await v2.request("GET", f"/v2.0/networks/{made['id']}")).json()["network"]
    assert body["status"] == "ERROR" and body["netprov:status_reason"]


async def test_port_status_binding_and_data_plane(v2):
    network = await v2.create_network("ports")
    idle = await v2.create_port(network["id"], state="ACTIVE")
    bound = await v2.create_port(network["id"], state="ACTIVE")
    down = await v2.create_port(network["id"])
    assert (await v2.attach(network["id"], bound["id"], f"vif-{uuid.uuid4().hex[:8]}", host="h1")).status_code in (200, 202, 204)
    for port in (idle, bound, down):
        await v2.settle(f"networks/{network['id']}/ports/{port['id']}", "port",
                        until=lambda p: p["status"] != "PROVISIONING" and (p["attachment"] or {}).get("status") != "PROVISIONING")

    async def show(port):
        body = (await v2.request("GET", f"/v2.0/ports/{port['id']}")).json()["port"]
        assert set(body) == PORT_KEYS
        return body

    idle_body, bound_body, down_body = await show(idle), await show(bound), await show(down)
    # Admin up but unbound: DOWN, as Neutron shows a port no host has plugged.
    assert idle_body["status"] == "DOWN" and idle_body["admin_state_up"] is True
    assert idle_body["binding:vif_type"] == "unbound" and idle_body["binding:host_id"] == ""
    assert idle_body["data_plane_status"] == "DOWN" and idle_body["netprov:link_status_string"] == "no attachment"
    assert bound_body["status"] == "ACTIVE" and bound_body["binding:host_id"] == "h1"
    assert bound_body["binding:vif_type"] == "ovs" and bound_body["binding:vnic_type"] == "normal"
    assert down_body["status"] == "DOWN" and down_body["admin_state_up"] is False
    for body in (idle_body, bound_body, down_body):
        assert body["network_id"] == network["id"] and body["fixed_ips"] == [] and body["mac_address"].startswith("fa:16:3e:")
    assert len({b["mac_address"] for b in (idle_body, bound_body, down_body)}) == 3
    assert (await show(idle))["mac_address"] == idle_body["mac_address"]  # stable


async def test_revision_number_grows_on_every_change(v2):
    network = await v2.create_network("rev")
    await v2.settle(f"networks/{network['id']}", "network")
    before = (await v2.request("GET", f"/v2.0/networks/{network['id']}")).json()["network"]["revision_number"]
    assert (await v2.request("PUT", f"networks/{network['id']}", json={"network": {"name": "rev2"}})).status_code == 204
    await v2.settle(f"networks/{network['id']}", "network")
    after = (await v2.request("GET", f"/v2.0/networks/{network['id']}")).json()["network"]
    assert after["name"] == "rev2" and after["revision_number"] > before


async def test_other_projects_and_bad_ids_are_not_found(v2, admin, stack):
    network = await v2.create_network("mine")
    port = await v2.create_port(network["id"])
    other = await admin.request("POST", "/v1.1/tokens", json={"token": {"tenant_id": f"o-{uuid.uuid4().hex[:6]}"}})
    stranger = {"X-Auth-Token": other.json()["token"]["secret"]}
    message = neutron_error(await stack.http.get(f"/v2.0/networks/{network['id']}", headers=stranger), 404, "NetworkNotFound")
    assert message == f"Network {network['id']} could not be found."
    neutron_error(await stack.http.get(f"/v2.0/ports/{port['id']}", headers=stranger), 404, "PortNotFound")
    listed = (await stack.http.get("/v2.0/networks", headers=stranger)).json()["networks"]
    assert network["id"] not in {n["id"] for n in listed}
    neutron_error(await v2.request("GET", "/v2.0/networks/mine"), 404, "NetworkNotFound")
    neutron_error(await v2.request("GET", "/v2.0/ports/%00x"), 404, "PortNotFound")
    # The admin token sees every project.
    seen = (await admin.request("GET", f"/v2.0/networks?project_id={v2.tenant}")).json()["networks"]
    assert [n["id"] for n in seen] == [network["id"]]


async def test_framework_errors_are_neutron_errors(v2):
    neutron_error(await v2.request("POST", "/v2.0/extensions", json={}), 405, "HTTPMethodNotAllowed")
    neutron_error(await v2.request("GET", "/v2.0/no-such-thing"), 404, "HTTPNotFound")
    big = "x" * (70 * 1024)
    neutron_error(await v2.request("POST", "/v2.0/networks", content=big, headers={"Content-Type": "application/json"}),
                  413, "HTTPRequestEntityTooLarge")
    # v1.1 keeps problem+json.
    response = await v2.request("GET", "networks/not-a-uuid")
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_tags_filters(v2, stack):
    network = await v2.create_network("tagged")
    ports = [await v2.create_port(network["id"]) for _ in range(4)]
    tags = [["web", "prod"], ["web"], ['x\\", \\"web', 'a"web'], []]
    with Session(stack.app.state.engine) as session:
        for port, its_tags in zip(ports, tags, strict=True):
            session.execute(update(PortRow).where(PortRow.id == port["id"]).values(tags=its_tags))
        session.commit()

    async def ids(query: str) -> list[int]:
        response = await v2.request("GET", f"/v2.0/ports?network_id={network['id']}&{query}")
        assert response.status_code == 200, response.text
        found = {p["id"] for p in response.json()["ports"]}
        return [i for i, p in enumerate(ports) if p["id"] in found]

    assert await ids("tags=web") == [0, 1]  # not the port whose one tag merely contains `"web`
    assert await ids("tags=web,prod") == [0]
    assert await ids("tags-any=prod&tags-any=nope") == [0]
    assert await ids("not-tags=web") == [2, 3]
    assert await ids("not-tags-any=web,prod") == [2, 3]
    assert await ids('tags=a"web') == [2]  # a comma separates tags in a filter, so no `x", "web`
    body = (await v2.request("GET", f"/v2.0/ports/{ports[0]['id']}")).json()["port"]
    assert body["tags"] == ["prod", "web"]
