"""POST .../batches is validated whole before anything is stored: a bad item is a 422 naming it,
and the tenant has not a single new row afterwards."""

import uuid

import pytest
from batch_helpers import post_batch, topology, wait_batch

EMPTY = {"networks": 0, "ports": 0, "operations": 0, "batches": 0, "items": 0}


def _good() -> dict:
    return {
        "batch": {
            "networks": [{"ref": "n1", "name": "web"}, {"ref": "n2", "name": "db"}],
            "ports": [
                {"ref": "p1", "network": "n1", "state": "ACTIVE"},
                {"ref": "p2", "network": "n2"},
                {"ref": "p3", "network": "n2", "state": "down"},
            ],
            "attachments": [{"port": "p1", "id": f"vif-{uuid.uuid4().hex[:8]}", "host": "h1"}],
        }
    }


def _with(change) -> dict:
    body = _good()
    change(body["batch"])
    return body


BAD_ITEMS = [
    ("duplicate ref", lambda b: b["ports"].append({"ref": "n1", "network": "n1"}), "ports[3] (ref n1)", "used twice"),
    ("bad state", lambda b: b["ports"][2].update(state="UP"), "ports[2] (ref p3)", "not ACTIVE or DOWN"),
    ("unknown network ref", lambda b: b["ports"][1].update(network="n9"), "ports[1] (ref p2)", "neither a network ref"),
    ("network is a port ref", lambda b: b["ports"][2].update(network="p1"), "ports[2] (ref p3)", "is a port ref"),
    ("unknown network id", lambda b: b["ports"][0].update(network=str(uuid.uuid4())), "ports[0] (ref p1)", "nor a network of this tenant"),
    ("attachment on no port", lambda b: b["attachments"].append({"port": "p7", "id": "vif-x"}), "attachments[1] (port p7)", "not a ref"),
    ("attachment on a network ref", lambda b: b["attachments"].append({"port": "n1", "id": "vif-x"}), "attachments[1] (port n1)", "network ref"),
    ("two attachments on a port", lambda b: b["attachments"].append({"port": "p1", "id": "vif-y"}), "attachments[1] (port p1)", "already has an attachment"),
    (
        "interface twice",
        lambda b: b["attachments"].append({"port": "p2", "id": b["attachments"][0]["id"]}),
        "attachments[1] (port p2)",
        "also attached by attachments[0]",
    ),
    ("unknown plugin", lambda b: b["networks"][1].update(plugin="nosuch"), "networks[1] (ref n2)", "no plugin named"),
    ("name too long", lambda b: b["networks"][0].update(name="x" * 256), "networks[0] (ref n1).name", "at most 255"),
    ("empty name", lambda b: b["networks"][0].update(name=""), "networks[0] (ref n1).name", "at least 1"),
    ("unknown field", lambda b: b["ports"][1].update(color="red"), "ports[1] (ref p2).color", "Extra inputs"),
    ("whitespace in interface id", lambda b: b["attachments"][0].update(id="vif 1"), "attachments[0] (port p1).id", "no whitespace"),
    ("wrong type", lambda b: b["ports"][0].update(state=1), "ports[0] (ref p1).state", "string"),
]


@pytest.mark.parametrize("case,change,name,why", BAD_ITEMS, ids=[case for case, *_ in BAD_ITEMS])
async def test_a_bad_item_is_named_and_nothing_is_stored(api, rows, case, change, name, why):
    response = await api.request("POST", "batches", json=_with(change))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "BadRequest"
    assert problem["detail"].startswith(name), problem["detail"]
    assert why in problem["detail"], problem["detail"]
    assert rows(api.tenant) == EMPTY


async def test_every_bad_item_is_listed(api, rows):
    body = _with(lambda b: (b["ports"][0].update(state="SIDEWAYS"), b["ports"][1].update(network="nope")))
    problem = (await api.request("POST", "batches", json=body)).json()
    assert problem["errors"] == [
        "ports[0] (ref p1): state 'SIDEWAYS' is not ACTIVE or DOWN",
        "ports[1] (ref p2): network 'nope' is neither a network ref of this batch nor a network of this tenant",
    ]
    assert "and 1 more" in problem["detail"] and "nothing was stored" in problem["detail"]
    assert rows(api.tenant) == EMPTY


async def test_batch_level_problems(api, rows):
    assert (await api.request("POST", "batches", json={"batch": {}})).status_code == 422
    assert (await api.request("POST", "batches", json={"networks": []})).status_code == 422
    response = await api.request("POST", "batches", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["code"] == "BadRequest"
    response = await api.request("POST", "batches", content=b'{"batch": {}}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 415 and response.json()["code"] == "UnsupportedMediaType"
    too_many = {"batch": {"networks": [{"ref": f"n{i}", "name": "x"} for i in range(25001)]}}
    response = await api.request("POST", "batches", json=too_many)
    assert response.status_code == 422 and "at most 25000" in response.json()["detail"]
    assert (await api.request("POST", "batches?color=red", json=_good())).status_code == 400
    assert rows(api.tenant) == EMPTY


async def test_an_interface_already_plugged_elsewhere_is_refused(api, rows):
    network = await api.create_network("elsewhere")
    port = await api.create_port(network["id"])
    iface = f"vif-{uuid.uuid4().hex[:8]}"
    assert (await api.attach(network["id"], port["id"], iface)).status_code == 202
    before = rows(api.tenant)
    body = _with(lambda b: b["attachments"][0].update(id=iface))
    response = await api.request("POST", "batches", json=body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"attachments[0] (port p1): interface {iface!r} is already plugged")
    assert rows(api.tenant) == before


async def test_existing_networks_must_be_this_tenants_and_usable(api, admin, rows):
    failed = await api.create_network("fail-existing")
    await api.settle(f"networks/{failed['id']}", "network")
    other = await admin.request("POST", "/v1.1/tokens", json={"token": {"tenant_id": f"other-{uuid.uuid4().hex[:6]}"}})
    other_api = type(api)(api.http, other.json()["token"]["secret"], other.json()["token"]["tenant_id"])
    foreign = await other_api.create_network("theirs")
    before = rows(api.tenant)
    body = {"batch": {"ports": [{"ref": "a", "network": failed["id"]}, {"ref": "b", "network": foreign["id"]}]}}
    problem = (await api.request("POST", "batches", json=body)).json()
    assert problem["errors"][0].startswith(f"ports[0] (ref a): network {failed['id']} is in ERROR")
    assert problem["errors"][1].startswith("ports[1] (ref b): network") and "nor a network of this tenant" in problem["errors"][1]
    assert rows(api.tenant) == before


async def test_bodies_up_to_4_mib_are_accepted_beyond_that_413(api, rows):
    # 300 networks with 255-character names and 300 ports: about 100 KiB, over the usual 64 KiB.
    body = {"batch": {"networks": [{"ref": f"n{i}", "name": f"{i}-" + "x" * 250} for i in range(300)],
                      "ports": [{"ref": f"p{i}", "network": f"n{i}"} for i in range(300)]}}
    created = await post_batch(api, body)
    assert created["batch"]["counts"]["network"]["total"] == 300
    huge = {"batch": {"networks": [{"ref": f"n{i}", "name": "x" * 255} for i in range(17000)]}}
    response = await api.request("POST", "batches", json=huge)
    assert response.status_code == 413 and response.json()["code"] == "RequestTooLarge"
    # Everywhere else the limit stays 64 KiB.
    response = await api.request("POST", "networks", json={"network": {"name": "x" * 70000}})
    assert response.status_code == 413
    await wait_batch(api, created["batch"]["id"])


async def test_idempotency_key_returns_the_same_batch(api, rows):
    body = topology(["idem"], 2)
    first = await post_batch(api, body, headers={"Idempotency-Key": "batch-1"})
    again = await post_batch(api, body, headers={"Idempotency-Key": "batch-1"})
    assert again["batch"]["id"] == first["batch"]["id"]
    assert rows(api.tenant)["batches"] == 1 and rows(api.tenant)["ports"] == 2
    other = topology(["idem-2"], 1)
    response = await api.request("POST", "batches", json=other, headers={"Idempotency-Key": "batch-1"})
    assert response.status_code == 422 and response.json()["code"] == "IdempotencyKeyReused"
    await wait_batch(api, first["batch"]["id"])


async def test_batches_are_tenant_isolated(api, admin):
    created = await post_batch(api, topology(["mine"], 1))
    batch_id = created["batch"]["id"]
    other = await admin.request("POST", "/v1.1/tokens", json={"token": {"tenant_id": f"other-{uuid.uuid4().hex[:6]}"}})
    token = other.json()["token"]
    stranger = type(api)(api.http, token["secret"], token["tenant_id"])
    assert (await stranger.request("GET", f"batches/{batch_id}")).status_code == 404
    assert (await stranger.request("DELETE", f"batches/{batch_id}")).status_code == 404
    assert (await stranger.request("GET", f"/v1.1/tenants/{api.tenant}/batches/{batch_id}")).status_code == 403
    assert (await api.request("GET", "batches/not-a-uuid")).status_code == 400
    assert (await api.request("GET", f"batches/{uuid.uuid4()}")).json()["code"] == "BatchNotFound"
    await wait_batch(api, batch_id)
