"""Attachments against the real stack: plugging, link status and its reasons, the conflicts
(AlreadyAttached, PortInUse, NetworkInUse), detach, and delete after detach."""

import uuid

from plugins.registry import plugin_class


def plugged(stack, port_id: str) -> tuple[str, str] | None:
    """(iface_id, host) the fake plugin has plugged into the port, or None."""
    fake = plugin_class("fake")(stack.settings)
    with fake.store.transaction(write=False) as db:
        return db.execute("SELECT iface_id, host FROM interfaces WHERE port_id = ?", (port_id,)).fetchone()


def ledger_actions(stack, port_id: str) -> list[str]:
    fake = plugin_class("fake")(stack.settings)
    return [e.action for e in fake.ledger() if e.resource_id == port_id]


def iface() -> str:
    return f"vif-{uuid.uuid4().hex[:12]}"


async def port_on_ready_network(api, state: str = "ACTIVE") -> tuple[dict, dict, str]:
    network = await api.create_network("net")
    await api.settle(f"networks/{network['id']}", "network")
    port = await api.create_port(network["id"], state=state)
    path = f"networks/{network['id']}/ports/{port['id']}"
    await api.settle(path, "port")
    return network, port, path


def attachment_settled(port: dict) -> bool:
    return port["status"] != "PROVISIONING" and (port["attachment"] or {}).get("status") != "PROVISIONING"


async def test_attach_then_available_and_link_up(api, stack):
    network, port, path = await port_on_ready_network(api)
    vif = iface()

    response = await api.attach(network["id"], port["id"], vif, host="h2")

    assert response.status_code == 202, response.text
    answered = response.json()["attachment"]
    assert {k: answered[k] for k in ("id", "host", "status")} == {"id": vif, "host": "h2", "status": "PROVISIONING"}
    assert answered["status_reason"] == f"attachment {vif} on host h2 is being plugged"
    # Accepted means part of the port at once.
    shown = (await api.get(f"{path}/attachment"))["attachment"]
    assert shown["id"] == vif and shown["host"] == "h2"
    # The port is PROVISIONING until the plug is applied; the fake plugin may already have applied it by the
    # time this second GET is answered, and then the same body shows it AVAILABLE (never a port that is ACTIVE
    # with its attachment still being plugged).
    body = (await api.get(path))["port"]
    assert (body["status"], body["attachment"]["status"]) in (("PROVISIONING", "PROVISIONING"), ("ACTIVE", "AVAILABLE"))

    settled = await api.settle(path, "port", until=attachment_settled)
    assert settled["status"] == "ACTIVE"
    shown = settled["attachment"]
    assert {k: shown[k] for k in ("id", "host", "status", "status_reason")} == {"id": vif, "host": "h2", "status": "AVAILABLE", "status_reason": None}
    assert (settled["link_status"], settled["link_status_string"]) == ("UP", None)
    assert (await api.get(f"{path}/attachment"))["attachment"]["status"] == "AVAILABLE"
    assert plugged(stack, port["id"]) == (vif, "h2")


async def test_host_defaults_to_the_plugins_default_host(api, stack):
    network, port, path = await port_on_ready_network(api)
    vif = iface()

    response = await api.request("PUT", f"{path}/attachment", json={"attachment": {"id": vif}})

    assert response.status_code == 202, response.text
    assert response.json()["attachment"]["host"] == stack.settings.default_host
    await api.settle(path, "port", until=attachment_settled)
    assert plugged(stack, port["id"]) == (vif, stack.settings.default_host)


async def test_link_status_follows_admin_state_and_attachment(api):
    network, port, path = await port_on_ready_network(api, state="DOWN")
    assert (await api.get(path))["port"]["link_status_string"] == "no attachment"
    assert (await api.get(f"{path}/attachment"))["attachment"] is None
    vif = iface()

    await api.attach(network["id"], port["id"], vif)
    down = await api.settle(path, "port", until=attachment_settled)
    assert down["status"] == "DOWN"
    assert down["attachment"]["status"] == "AVAILABLE"
    assert (down["link_status"], down["link_status_string"]) == ("DOWN", "port admin DOWN")

    await api.request("PUT", path, json={"port": {"state": "ACTIVE"}})
    up = await api.settle(path, "port")
    assert up["status"] == "ACTIVE"
    assert (up["link_status"], up["link_status_string"]) == ("UP", None)

    await api.request("PUT", path, json={"port": {"state": "DOWN"}})
    down = await api.settle(path, "port")
    assert (down["status"], down["link_status"], down["link_status_string"]) == ("DOWN", "DOWN", "port admin DOWN")


async def test_same_attachment_again_is_a_no_op(api, stack):
    network, port, path = await port_on_ready_network(api)
    vif = iface()
    await api.attach(network["id"], port["id"], vif)
    await api.settle(path, "port", until=attachment_settled)

    again = await api.attach(network["id"], port["id"], vif)

    assert again.status_code == 200, again.text
    assert again.json()["attachment"]["status"] == "AVAILABLE"
    assert ledger_actions(stack, port["id"]).count("plug_interface") == 1
    assert (await api.get(path))["port"]["status"] == "ACTIVE"


async def test_same_attachment_again_while_provisioning_is_a_no_op(api, stack):
    network, port, path = await port_on_ready_network(api)
    vif = iface()

    first = await api.attach(network["id"], port["id"], vif)
    again = await api.attach(network["id"], port["id"], vif)

    assert first.status_code == 202
    assert 200 <= again.status_code < 300, again.text
    await api.settle(path, "port", until=attachment_settled)
    assert ledger_actions(stack, port["id"]).count("plug_interface") == 1


async def test_another_attachment_is_refused_with_already_attached(api):
    network, port, path = await port_on_ready_network(api)
    vif = iface()
    await api.attach(network["id"], port["id"], vif)

    other = await api.attach(network["id"], port["id"], iface())
    same_iface_other_host = await api.attach(network["id"], port["id"], vif, host="h9")

    for response in (other, same_iface_other_host):
        assert response.status_code == 409, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "AlreadyAttached"
    settled = await api.settle(path, "port", until=attachment_settled)
    assert settled["attachment"]["id"] == vif and settled["attachment"]["host"] == "h1"


async def test_interface_plugged_elsewhere_is_refused_with_port_in_use(api, stack):
    network, port, _ = await port_on_ready_network(api)
    second = await api.create_port(network["id"], state="ACTIVE")
    vif = iface()
    await api.attach(network["id"], port["id"], vif)

    response = await api.attach(network["id"], second["id"], vif)

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "PortInUse"
    second_path = f"networks/{network['id']}/ports/{second['id']}"
    assert (await api.get(f"{second_path}/attachment"))["attachment"] is None
    settled = await api.settle(second_path, "port")
    assert settled["attachment"] is None
    assert plugged(stack, second["id"]) is None


async def test_attached_port_and_its_network_cannot_be_deleted_until_detached(api, stack):
    network, port, path = await port_on_ready_network(api)
    vif = iface()
    await api.attach(network["id"], port["id"], vif)

    port_delete = await api.request("DELETE", path)
    network_delete = await api.request("DELETE", f"networks/{network['id']}")

    assert port_delete.status_code == 409 and port_delete.json()["code"] == "PortInUse"
    assert network_delete.status_code == 409 and network_delete.json()["code"] == "NetworkInUse"
    for response in (port_delete, network_delete):
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await api.get(path))["port"]["attachment"]["id"] == vif

    detach = await api.request("DELETE", f"{path}/attachment")
    assert detach.status_code in (202, 204), detach.text
    assert (await api.get(f"{path}/attachment"))["attachment"] is None
    detached = await api.settle(path, "port")
    assert detached["status"] == "ACTIVE"
    assert (detached["link_status"], detached["link_status_string"]) == ("DOWN", "no attachment")
    assert plugged(stack, port["id"]) is None

    # Detaching again is a no-op.
    assert (await api.request("DELETE", f"{path}/attachment")).status_code == 204

    assert (await api.request("DELETE", path, headers={"Prefer": "wait=10"})).status_code == 204
    assert (await api.request("GET", path)).status_code == 404
    assert (await api.request("GET", f"{path}/attachment")).json()["code"] == "PortNotFound"
    assert (await api.request("DELETE", f"networks/{network['id']}", headers={"Prefer": "wait=10"})).status_code == 204
    assert (await api.request("GET", f"networks/{network['id']}")).json()["code"] == "NetworkNotFound"
    assert ledger_actions(stack, port["id"]) == ["create_port", "plug_interface", "unplug_interface", "delete_port"]


async def test_detach_right_after_attach_ends_detached(api, stack):
    network, port, path = await port_on_ready_network(api)

    await api.attach(network["id"], port["id"], iface())
    detach = await api.request("DELETE", f"{path}/attachment")

    assert detach.status_code in (202, 204)
    settled = await api.settle(path, "port")
    assert settled["attachment"] is None
    assert (settled["link_status"], settled["link_status_string"]) == ("DOWN", "no attachment")
    assert plugged(stack, port["id"]) is None


async def test_interface_can_move_to_another_port_after_detach(api, stack):
    network, port, path = await port_on_ready_network(api)
    second = await api.create_port(network["id"], state="ACTIVE")
    vif = iface()
    await api.attach(network["id"], port["id"], vif)
    await api.request("DELETE", f"{path}/attachment")

    response = await api.attach(network["id"], second["id"], vif)

    assert response.status_code == 202, response.text
    moved = await api.settle(f"networks/{network['id']}/ports/{second['id']}", "port", until=attachment_settled)
    assert moved["attachment"]["status"] == "AVAILABLE"
    assert moved["link_status"] == "UP"
    await api.settle(path, "port")
    assert plugged(stack, port["id"]) is None
    assert plugged(stack, second["id"])[0] == vif


async def test_attach_with_prefer_wait_answers_200_settled(api):
    network, port, _ = await port_on_ready_network(api)

    response = await api.request(
        "PUT",
        f"networks/{network['id']}/ports/{port['id']}/attachment",
        json={"attachment": {"id": iface(), "host": "h1"}},
        headers={"Prefer": "wait=10"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["attachment"]["status"] == "AVAILABLE"
    assert response.headers["preference-applied"] == "wait=10"


async def test_accepted_attachment_says_what_it_waits_on(api):
    # issue 16: an attachment accepted but not plugged yet is part of the port at once, so its
    # link_status_string cannot be "no attachment"; it (and the attachment's status_reason, in the
    # PUT's own answer too) names what the port waits on. `flaky3-`: the plug fails three times first.
    network = await api.create_network("flaky3-waits")
    await api.settle(f"networks/{network['id']}", "network")
    port = await api.create_port(network["id"], state="ACTIVE")
    path = f"networks/{network['id']}/ports/{port['id']}"
    await api.settle(path, "port")
    vif = iface()

    response = await api.attach(network["id"], port["id"], vif, host="h1")

    assert response.status_code == 202, response.text
    answered = response.json()["attachment"]
    assert answered["status"] == "PROVISIONING"
    assert answered["status_reason"] == f"attachment {vif} on host h1 is being plugged"
    shown = (await api.get(path))["port"]
    assert shown["attachment"]["status"] == "PROVISIONING"
    assert (shown["link_status"], shown["link_status_string"]) == ("DOWN", f"attachment {vif} on host h1 is being plugged")
    settled = await api.settle(path, "port", until=attachment_settled)
    assert settled["attachment"]["status_reason"] is None
    assert (settled["link_status"], settled["link_status_string"]) == ("UP", None)


async def test_attachment_on_a_provisioning_network_waits_for_the_network(api):
    network = await api.create_network("flaky3-slow-net")  # about three seconds of retries
    port = await api.create_port(network["id"], state="ACTIVE")
    path = f"networks/{network['id']}/ports/{port['id']}"
    vif = iface()

    response = await api.attach(network["id"], port["id"], vif, host="h1")

    assert response.status_code == 202, response.text
    waiting = f"waiting for network {network['id']} to be provisioned"
    assert response.json()["attachment"]["status_reason"] == waiting
    shown = (await api.get(path))["port"]
    assert (shown["link_status"], shown["link_status_string"]) == ("DOWN", waiting)
    settled = await api.settle(path, "port", timeout=60, until=attachment_settled)
    assert (settled["link_status"], settled["link_status_string"]) == ("UP", None)


async def test_detach_says_no_attachment_at_once(api):
    network, port, path = await port_on_ready_network(api)
    vif = iface()
    await api.attach(network["id"], port["id"], vif, host="h1")
    await api.settle(path, "port", until=lambda p: attachment_settled(p) and p["link_status"] == "UP")

    response = await api.request("DELETE", f"{path}/attachment")

    assert response.status_code in (202, 204), response.text
    shown = (await api.get(path))["port"]
    assert shown["attachment"] is None
    assert (shown["link_status"], shown["link_status_string"]) == ("DOWN", "no attachment")


async def test_attachment_body_carries_the_common_fields(api):
    # The contract: the attachment body carries created_at, updated_at and links (self: the
    # attachment's path; workflow: its port's workflow) as every resource body does.
    from datetime import datetime

    network, port, path = await port_on_ready_network(api)
    vif = iface()

    response = await api.attach(network["id"], port["id"], vif, host="h1")

    answered = response.json()["attachment"]
    settled = await api.settle(path, "port", until=attachment_settled)
    for body in (answered, settled["attachment"], (await api.get(f"{path}/attachment"))["attachment"]):
        created, updated = datetime.fromisoformat(body["created_at"]), datetime.fromisoformat(body["updated_at"])
        assert created.tzinfo is not None and created <= updated
        assert body["links"]["self"] == f"/v1.1/tenants/{api.tenant}/{path}/attachment"
        assert body["links"]["workflow"] == settled["links"]["workflow"]
    # Made when accepted (not when the port was), updated when plugged.
    assert datetime.fromisoformat(answered["created_at"]) >= datetime.fromisoformat(settled["created_at"])
    assert settled["attachment"]["created_at"] == answered["created_at"]
    assert datetime.fromisoformat(settled["attachment"]["updated_at"]) > datetime.fromisoformat(answered["updated_at"])
