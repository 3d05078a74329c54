"""Fire-and-forget: writes on resources still PROVISIONING are accepted and applied in the order
accepted, after the provisioning they depend on; a DELETE cancels provisioning and undoes it.

The fake plugin's own SQLite file is read to prove what the device ends up holding.
"""

import uuid

from plugins.registry import plugin_class


def fake_rows(stack, table: str, column: str, resource_id: str) -> int:
    """Rows the fake plugin still holds for one resource (its `residue()`, for one id)."""
    fake = plugin_class("fake")(stack.settings)
    with fake.store.transaction(write=False) as db:
        return db.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", (resource_id,)).fetchone()[0]


def fake_actions(stack, resource_id: str) -> list[str]:
    fake = plugin_class("fake")(stack.settings)
    return [e.action for e in fake.ledger() if e.resource_id == resource_id]


def fake_port_state(stack, port_id: str) -> str | None:
    fake = plugin_class("fake")(stack.settings)
    with fake.store.transaction(write=False) as db:
        row = db.execute("SELECT state FROM ports WHERE port_id = ?", (port_id,)).fetchone()
    return row[0] if row else None


async def test_network_port_state_and_attach_in_immediate_calls_all_end_as_asked(api, stack):
    vif = f"vif-{uuid.uuid4().hex[:12]}"

    network = await api.create_network("flaky2-fire")
    port = await api.create_port(network["id"])  # DOWN, then set ACTIVE below
    path = f"networks/{network['id']}/ports/{port['id']}"
    update = await api.request("PUT", path, json={"port": {"state": "ACTIVE"}})
    attach = await api.attach(network["id"], port["id"], vif)

    assert (network["status"], port["status"]) == ("PROVISIONING", "PROVISIONING")
    assert update.status_code == 204, update.text
    assert attach.status_code == 202, attach.text
    assert (await api.get(f"networks/{network['id']}"))["network"]["status"] == "PROVISIONING"
    settled = await api.settle(
        path, "port", until=lambda p: p["status"] != "PROVISIONING" and p["attachment"]["status"] != "PROVISIONING"
    )
    assert (await api.get(f"networks/{network['id']}"))["network"]["status"] == "AVAILABLE"
    assert settled["state"] == "ACTIVE"
    assert settled["status"] == "ACTIVE"
    assert settled["status_reason"] is None
    assert settled["attachment"]["status"] == "AVAILABLE"
    assert (settled["link_status"], settled["link_status_string"]) == ("UP", None)
    assert fake_port_state(stack, port["id"]) == "ACTIVE"
    # Applied in the order accepted, each once.
    assert fake_actions(stack, port["id"]) == ["create_port", "update_port", "plug_interface"]


async def test_several_updates_in_a_row_end_in_the_last_state(api, stack):
    network = await api.create_network("rapid")
    port = await api.create_port(network["id"])
    path = f"networks/{network['id']}/ports/{port['id']}"
    states = ["ACTIVE", "DOWN", "ACTIVE", "DOWN", "ACTIVE", "DOWN", "ACTIVE"]

    for state in states:
        response = await api.request("PUT", path, json={"port": {"state": state}})
        assert response.status_code == 204, response.text

    settled = await api.settle(path, "port")
    assert (settled["state"], settled["status"]) == ("ACTIVE", "ACTIVE")
    assert fake_port_state(stack, port["id"]) == "ACTIVE"
    assert fake_actions(stack, port["id"]) == ["create_port"] + ["update_port"] * len(states)


async def test_updates_ending_down_end_down(api, stack):
    network = await api.create_network("rapid")
    port = await api.create_port(network["id"], state="ACTIVE")
    path = f"networks/{network['id']}/ports/{port['id']}"

    for state in ["DOWN", "ACTIVE", "DOWN"]:
        await api.request("PUT", path, json={"port": {"state": state}})

    settled = await api.settle(path, "port")
    assert (settled["state"], settled["status"]) == ("DOWN", "DOWN")
    assert fake_port_state(stack, port["id"]) == "DOWN"


async def test_deleting_a_provisioning_network_cancels_it_and_leaves_nothing(api, stack):
    network = await api.create_network("flaky3-cancelled")  # about three seconds of retries

    response = await api.request("DELETE", f"networks/{network['id']}")

    assert response.status_code in (202, 204), response.text
    await api.gone(f"networks/{network['id']}", timeout=20)
    assert fake_rows(stack, "networks", "network_id", network["id"]) == 0
    # Provisioning was cancelled before it succeeded: nothing was created, only the delete ran.
    assert fake_actions(stack, network["id"]) == ["delete_network"]


async def test_deleting_a_network_with_queued_ports_cancels_them_all(api, stack):
    network = await api.create_network("flaky2-cancelled")
    ports = [await api.create_port(network["id"], state="ACTIVE") for _ in range(2)]

    response = await api.request("DELETE", f"networks/{network['id']}")

    assert response.status_code in (202, 204), response.text
    await api.gone(f"networks/{network['id']}", timeout=20)
    for port in ports:
        assert (await api.request("GET", f"networks/{network['id']}/ports/{port['id']}")).status_code == 404
        assert fake_rows(stack, "ports", "port_id", port["id"]) == 0
    assert fake_rows(stack, "networks", "network_id", network["id"]) == 0


async def test_deleting_a_provisioning_port_cancels_it_and_leaves_nothing(api, stack):
    network = await api.create_network("flaky2-slow-port")
    await api.settle(f"networks/{network['id']}", "network")
    port = await api.create_port(network["id"], state="ACTIVE")  # its create_port retries too
    path = f"networks/{network['id']}/ports/{port['id']}"
    await api.settle(path, "port", until=lambda p: "retrying" in (p["status_reason"] or ""))

    response = await api.request("DELETE", path)

    assert response.status_code in (202, 204), response.text
    await api.gone(path, timeout=20)
    assert fake_rows(stack, "ports", "port_id", port["id"]) == 0
    assert fake_actions(stack, port["id"]) == ["delete_port"]
    # The network is untouched and can go now.
    assert (await api.get(f"networks/{network['id']}"))["network"]["status"] == "AVAILABLE"
    assert (await api.request("DELETE", f"networks/{network['id']}", headers={"Prefer": "wait=15"})).status_code == 204


async def test_deleting_a_port_waiting_for_its_network_cancels_it(api, stack):
    network = await api.create_network("flaky1-slow-net")
    port = await api.create_port(network["id"])
    path = f"networks/{network['id']}/ports/{port['id']}"

    response = await api.request("DELETE", path)

    assert response.status_code in (202, 204), response.text
    await api.gone(path, timeout=20)
    assert fake_rows(stack, "ports", "port_id", port["id"]) == 0
    # The network's provisioning is not disturbed by the port that stopped waiting for it.
    assert (await api.settle(f"networks/{network['id']}", "network"))["status"] == "AVAILABLE"
