"""Ports against the real stack: status by admin state, state changes, ports on networks that fail,
delete, and the list endpoints."""

from plugins.registry import plugin_class

SUMMARY_KEYS = {"id", "state", "status"}
BODY_KEYS = {
    "id",
    "network_id",
    "state",
    "status",
    "status_reason",
    "attachment",
    "link_status",
    "link_status_string",
    "conditions",
    "qos_policy_id",
    "qos_network_policy_id",
    "qos_status",
    "qos_status_reason",
    "created_at",
    "updated_at",
    "links",
}


def fake_port_state(stack, port_id: str) -> str | None:
    """The admin state the fake plugin holds for the port (None when it has no such port)."""
    fake = plugin_class("fake")(stack.settings)
    with fake.store.transaction(write=False) as db:
        row = db.execute("SELECT state FROM ports WHERE port_id = ?", (port_id,)).fetchone()
    return row[0] if row else None


async def ready_network(api, name: str = "net") -> dict:
    network = await api.create_network(name)
    return await api.settle(f"networks/{network['id']}", "network")


async def test_new_port_is_provisioning_then_down_by_default(api, stack):
    network = await ready_network(api)

    response = await api.request("POST", f"networks/{network['id']}/ports")

    assert response.status_code == 202, response.text
    port = response.json()["port"]
    assert set(port) == BODY_KEYS
    assert port["status"] == "PROVISIONING"
    assert port["status_reason"]
    assert port["network_id"] == network["id"]
    assert port["state"] == "DOWN"
    assert port["attachment"] is None
    assert (port["link_status"], port["link_status_string"]) == ("DOWN", "no attachment")
    path = f"{api.base}/networks/{network['id']}/ports/{port['id']}"
    assert response.headers["location"] == path
    assert port["links"]["self"] == path
    assert f"port-{port['id']}" in port["links"]["workflow"]

    settled = await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port")
    assert settled["status"] == "DOWN"
    assert settled["status_reason"] is None
    assert (settled["link_status"], settled["link_status_string"]) == ("DOWN", "no attachment")
    assert fake_port_state(stack, port["id"]) == "DOWN"


async def test_port_created_active_becomes_active(api, stack):
    network = await ready_network(api)

    port = await api.create_port(network["id"], state="ACTIVE")

    assert port["state"] == "ACTIVE"
    settled = await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port")
    assert settled["status"] == "ACTIVE"
    assert fake_port_state(stack, port["id"]) == "ACTIVE"


async def test_state_is_case_sensitive(api):
    # The contract: exactly ACTIVE or DOWN (`active` is refused), on POST and on PUT.
    network = await ready_network(api)
    ports = f"networks/{network['id']}/ports"

    response = await api.request("POST", ports, json={"port": {"state": "active"}})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "RequestedStateInvalid"

    port = await api.create_port(network["id"], state="ACTIVE")
    response = await api.request("PUT", f"{ports}/{port['id']}", json={"port": {"state": "down"}})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "RequestedStateInvalid"
    assert (await api.get(f"{ports}/{port['id']}"))["port"]["state"] == "ACTIVE"


async def test_put_state_flips_status(api, stack):
    network = await ready_network(api)
    port = await api.create_port(network["id"])
    path = f"networks/{network['id']}/ports/{port['id']}"
    await api.settle(path, "port")

    response = await api.request("PUT", path, json={"port": {"state": "ACTIVE"}})
    assert response.status_code == 204, response.text
    assert (await api.get(path))["port"]["state"] == "ACTIVE"  # the admin attribute changes at once
    assert (await api.settle(path, "port"))["status"] == "ACTIVE"
    assert fake_port_state(stack, port["id"]) == "ACTIVE"

    response = await api.request("PUT", path, json={"port": {"state": "DOWN"}}, headers={"Prefer": "wait=10"})
    assert response.status_code == 200, response.text
    assert response.headers["preference-applied"] == "wait=10"
    assert response.json()["port"]["status"] == "DOWN"
    assert response.json()["port"]["state"] == "DOWN"
    assert fake_port_state(stack, port["id"]) == "DOWN"


async def test_port_waits_for_its_network_and_says_so(api):
    network = await api.create_network("flaky1-slow")  # about a second of retry backoff
    port = await api.create_port(network["id"], state="ACTIVE")
    path = f"networks/{network['id']}/ports/{port['id']}"

    waiting = await api.settle(
        path, "port", until=lambda p: "waiting for network" in (p["status_reason"] or "") or p["status"] != "PROVISIONING"
    )

    assert waiting["status"] == "PROVISIONING"
    assert network["id"] in waiting["status_reason"]
    assert (await api.settle(path, "port"))["status"] == "ACTIVE"
    assert (await api.get(f"networks/{network['id']}"))["network"]["status"] == "AVAILABLE"


async def test_port_on_a_network_that_then_fails_goes_to_error_naming_the_failure(api):
    network = await api.create_network("flaky9-doomed")  # fails once its retries are exhausted
    port = await api.create_port(network["id"], state="ACTIVE")

    settled = await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port")
    failed = (await api.get(f"networks/{network['id']}"))["network"]

    assert failed["status"] == "ERROR"
    assert settled["status"] == "ERROR"
    assert network["id"] in settled["status_reason"]
    assert failed["status_reason"] in settled["status_reason"]


async def test_attachment_queued_on_a_port_whose_network_fails_goes_to_error(api):
    network = await api.create_network("flaky9-doomed")
    port = await api.create_port(network["id"], state="ACTIVE")
    response = await api.attach(network["id"], port["id"], f"vif-{port['id'][:8]}")
    assert response.status_code == 202, response.text

    settled = await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port")

    assert settled["status"] == "ERROR"
    assert settled["attachment"]["status"] == "ERROR"
    assert settled["attachment"]["status_reason"]
    assert settled["link_status"] == "DOWN"


async def test_new_port_on_a_network_in_error_is_refused(api):
    network = await api.create_network("fail-broken")
    await api.settle(f"networks/{network['id']}", "network")
    before = (await api.get(f"networks/{network['id']}/ports"))["ports"]

    response = await api.request("POST", f"networks/{network['id']}/ports", json={"port": {"state": "ACTIVE"}})

    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "ResourceNotAvailable"
    assert response.json()["status"] == 409
    assert (await api.get(f"networks/{network['id']}/ports"))["ports"] == before == []


async def test_delete_port_then_it_is_gone(api, stack):
    network = await ready_network(api)
    port = await api.create_port(network["id"], state="ACTIVE")
    path = f"networks/{network['id']}/ports/{port['id']}"
    await api.settle(path, "port")

    response = await api.request("DELETE", path)

    assert response.status_code in (202, 204), response.text
    await api.gone(path)
    missing = await api.request("GET", path)
    assert missing.json()["code"] == "PortNotFound"
    assert (await api.get(f"networks/{network['id']}/ports"))["ports"] == []
    assert fake_port_state(stack, port["id"]) is None
    # The network can go once its ports have.
    assert (await api.request("DELETE", f"networks/{network['id']}", headers={"Prefer": "wait=10"})).status_code == 204


async def test_delete_network_takes_its_unattached_ports(api, stack):
    network = await ready_network(api)
    ports = [await api.create_port(network["id"]) for _ in range(2)]
    for port in ports:
        await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port")

    response = await api.request("DELETE", f"networks/{network['id']}")

    assert response.status_code in (202, 204), response.text
    await api.gone(f"networks/{network['id']}")
    for port in ports:
        assert fake_port_state(stack, port["id"]) is None


async def test_port_of_another_network_is_not_found(api):
    first, second = await ready_network(api, "first"), await ready_network(api, "second")
    port = await api.create_port(first["id"])

    response = await api.request("GET", f"networks/{second['id']}/ports/{port['id']}")

    assert response.status_code == 404
    assert response.json()["code"] == "PortNotFound"


async def test_list_ports_summary_detail_and_status_filter(api):
    network = await ready_network(api)
    down = await api.create_port(network["id"])
    active = await api.create_port(network["id"], state="ACTIVE")
    for port in (down, active):
        await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port")
    base = f"networks/{network['id']}/ports"

    summary = (await api.get(base))["ports"]
    assert summary == [
        {"id": down["id"], "state": "DOWN", "status": "DOWN"},
        {"id": active["id"], "state": "ACTIVE", "status": "ACTIVE"},
    ]
    assert all(set(p) == SUMMARY_KEYS for p in summary)

    detailed = (await api.get(f"{base}?detail=true"))["ports"]
    assert all(set(p) == BODY_KEYS for p in detailed)
    for body in detailed:
        assert body == (await api.get(f"{base}/{body['id']}"))["port"]

    assert [p["id"] for p in (await api.get(f"{base}?status=ACTIVE"))["ports"]] == [active["id"]]
    assert [p["id"] for p in (await api.get(f"{base}?status=down"))["ports"]] == [down["id"]]
    assert (await api.get(f"{base}?status=ERROR,PROVISIONING"))["ports"] == []
