"""The write flow's failure path, for every write: the engine answers the reachability probe but
the delivery fails (it went down in between). The answer is 503 ServiceUnavailable with
Retry-After, and the claim is undone: what GET shows is as before the request, and the same write
succeeds once the engine is back (api/write_flow.write runs this path for every resource)."""

import uuid

import pytest

from api.workflow_gateway import EngineUnavailable

# Not `status`: the withdrawn operation stays in the outbox as a no-op (so the workflow's sequence
# has no gap), and the resource shows PROVISIONING until the engine is back and has it.
SHOWN = ("state", "attachment", "link_status", "link_status_string")


def shown(port: dict, keys=SHOWN) -> dict:
    attachment = port["attachment"] and {k: port["attachment"][k] for k in ("id", "host", "status", "status_reason")}
    return {**{k: port[k] for k in keys}, "attachment": attachment}


def names(networks: list[dict]) -> list[tuple[str, str]]:
    return [(n["id"], n["name"]) for n in networks]


@pytest.fixture
def engine_fails_delivery(stack, monkeypatch):
    """From the first call on, every delivery fails as if the engine had just gone down."""
    gateway = stack.app.state.gateway
    real = gateway.deliver
    failing = {"on": False}

    async def deliver(op_row):
        if failing["on"]:
            raise EngineUnavailable("connection refused (test)")
        return await real(op_row)

    monkeypatch.setattr(gateway, "deliver", deliver)
    return failing


async def settled_world(api):
    network = await api.create_network("undo")
    await api.settle(f"networks/{network['id']}", "network")
    ports = f"networks/{network['id']}/ports"
    loose = await api.create_port(network["id"], state="DOWN")
    attached = await api.create_port(network["id"], state="ACTIVE")
    await api.attach(network["id"], attached["id"], f"vif-{uuid.uuid4().hex[:10]}", host="h1")
    for port in (loose, attached):
        await api.settle(f"{ports}/{port['id']}", "port",
                         until=lambda p: (p["attachment"] or {}).get("status") != "PROVISIONING")  # fmt: skip
    return network, ports, loose, attached


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "ServiceUnavailable"
    assert int(response.headers["retry-after"]) > 0


async def test_every_write_is_undone_when_delivery_fails(api, engine_fails_delivery):
    network, ports, loose, attached = await settled_world(api)
    bare = await api.create_network("bare")  # with one port, no attachment: a DELETE the rules allow
    await api.create_port(bare["id"])
    await api.settle(f"networks/{bare['id']}", "network")
    bare_ports = [p["id"] for p in (await api.get(f"networks/{bare['id']}/ports"))["ports"]]
    before = {p["id"]: (await api.get(f"{ports}/{p['id']}"))["port"] for p in (loose, attached)}
    networks_before = (await api.get("networks"))["networks"]
    engine_fails_delivery["on"] = True

    writes = [
        ("POST", "networks", {"network": {"name": "never"}}, {"Idempotency-Key": "undo-key"}),
        ("POST", ports, {"port": {"state": "ACTIVE"}}, {}),
        ("PUT", f"{ports}/{loose['id']}", {"port": {"state": "ACTIVE"}}, {}),
        ("PUT", f"{ports}/{loose['id']}/attachment", {"attachment": {"id": f"vif-{uuid.uuid4().hex[:10]}"}}, {}),
        ("DELETE", f"{ports}/{attached['id']}/attachment", None, {}),
        ("DELETE", f"{ports}/{loose['id']}", None, {}),
        ("DELETE", f"networks/{bare['id']}", None, {}),
    ]
    for method, path, body, headers in writes:
        assert_unavailable(await api.request(method, path, json=body, headers=headers))

    assert names((await api.get("networks"))["networks"]) == names(networks_before)
    assert sorted(p["id"] for p in (await api.get(ports))["ports"]) == sorted([loose["id"], attached["id"]])
    for port_id, was in before.items():
        assert shown((await api.get(f"{ports}/{port_id}"))["port"]) == shown(was)
    assert [p["id"] for p in (await api.get(f"networks/{bare['id']}/ports"))["ports"]] == bare_ports

    # Once the engine is back, the outbox hands over the withdrawn no-ops: the statuses come back too.
    engine_fails_delivery["on"] = False
    for port_id, was in before.items():
        settled = await api.settle(f"{ports}/{port_id}", "port")
        assert shown(settled, SHOWN + ("status",)) == shown(was, SHOWN + ("status",))
    assert (await api.settle(f"networks/{bare['id']}", "network"))["status"] == "AVAILABLE"

    # Each write now goes through, as if the refused ones had never been asked.
    response = await api.request("POST", "networks", json={"network": {"name": "never"}}, headers={"Idempotency-Key": "undo-key"})
    assert response.status_code in (201, 202), response.text
    response = await api.request("PUT", f"{ports}/{loose['id']}", json={"port": {"state": "ACTIVE"}})
    assert response.status_code == 204, response.text
    assert (await api.settle(f"{ports}/{loose['id']}", "port"))["status"] == "ACTIVE"
    response = await api.request("DELETE", f"{ports}/{attached['id']}/attachment", headers={"Prefer": "wait=20"})
    assert response.status_code == 204, response.text
    response = await api.request("DELETE", f"networks/{bare['id']}", headers={"Prefer": "wait=20"})
    assert response.status_code == 204, response.text
