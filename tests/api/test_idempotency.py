"""`Idempotency-Key` on POST: a retried POST returns the same resource, never a second one, even
when the retries race each other or the API restarted in between; the same key with another
body is refused with 422 IdempotencyKeyReused."""

import asyncio
import uuid

import httpx

from api.app import create_app

PROBLEM = "application/problem+json"


def key() -> str:
    return f"key-{uuid.uuid4()}"


async def post(api, path: str, body: dict | None, idempotency_key: str, **headers) -> httpx.Response:
    return await api.request("POST", path, json=body, headers={"Idempotency-Key": idempotency_key, **headers})


async def test_same_key_and_body_gives_the_same_network(api):
    k = key()
    first = await post(api, "networks", {"network": {"name": "once"}}, k)
    assert first.status_code == 202, first.text
    network = first.json()["network"]
    await api.settle(f"networks/{network['id']}", "network")
    again = await post(api, "networks", {"network": {"name": "once"}}, k)
    assert again.status_code in (201, 202) and again.json()["network"]["id"] == network["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.json()["network"]["status"] == "AVAILABLE"
    assert [n["id"] for n in (await api.get("networks"))["networks"]] == [network["id"]]
    # Without a key, the same body is a new network.
    other = await api.request("POST", "networks", json={"network": {"name": "once"}})
    assert other.json()["network"]["id"] != network["id"]


async def test_same_key_and_body_gives_the_same_port(api):
    network = await api.create_network("ports")
    k = key()
    first = await post(api, f"networks/{network['id']}/ports", {"port": {"state": "ACTIVE"}}, k)
    assert first.status_code == 202, first.text
    again = await post(api, f"networks/{network['id']}/ports", {"port": {"state": "ACTIVE"}}, k)
    assert again.status_code in (201, 202) and again.json()["port"]["id"] == first.json()["port"]["id"]
    ports = (await api.get(f"networks/{network['id']}/ports"))["ports"]
    assert [p["id"] for p in ports] == [first.json()["port"]["id"]]


async def test_same_key_with_another_body_is_refused(api):
    k = key()
    first = await post(api, "networks", {"network": {"name": "a"}}, k)
    assert first.status_code == 202
    for path, body in [
        ("networks", {"network": {"name": "b"}}),
        (f"networks/{first.json()['network']['id']}/ports", {"port": {"state": "DOWN"}}),  # another route
    ]:
        response = await post(api, path, body, k)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["code"] == "IdempotencyKeyReused" and k in problem["detail"]
    assert len((await api.get("networks"))["networks"]) == 1
    # Port keys: the state is part of the request.
    network_id = first.json()["network"]["id"]
    k2 = key()
    assert (await post(api, f"networks/{network_id}/ports", {"port": {"state": "ACTIVE"}}, k2)).status_code == 202
    response = await post(api, f"networks/{network_id}/ports", {"port": {"state": "DOWN"}}, k2)
    assert response.status_code == 422 and response.json()["code"] == "IdempotencyKeyReused"


async def test_concurrent_posts_with_one_key_make_one_resource(api):
    k = key()
    responses = await asyncio.gather(*(post(api, "networks", {"network": {"name": "raced"}}, k) for _ in range(8)))
    assert {r.status_code // 100 for r in responses} == {2}, [r.text for r in responses]
    ids = {r.json()["network"]["id"] for r in responses}
    assert len(ids) == 1
    assert [n["id"] for n in (await api.get("networks"))["networks"]] == list(ids)

    network_id = ids.pop()
    k = key()
    responses = await asyncio.gather(*(post(api, f"networks/{network_id}/ports", None, k) for _ in range(8)))
    assert {r.status_code // 100 for r in responses} == {2}, [r.text for r in responses]
    assert len({r.json()["port"]["id"] for r in responses}) == 1
    assert len((await api.get(f"networks/{network_id}/ports"))["ports"]) == 1
    # Every racer's request was applied once: the one network ends AVAILABLE, its port DOWN.
    await api.settle(f"networks/{network_id}", "network")
    port = (await api.get(f"networks/{network_id}/ports"))["ports"][0]
    assert (await api.settle(f"networks/{network_id}/ports/{port['id']}", "port"))["status"] == "DOWN"


async def test_keys_are_per_tenant(api, admin):
    k = key()
    mine = await post(api, "networks", {"network": {"name": "n"}}, k)
    theirs = await post(admin, "/v1.1/tenants/t-else-" + uuid.uuid4().hex[:6] + "/networks", {"network": {"name": "n"}}, k)
    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["network"]["id"] != theirs.json()["network"]["id"]


async def test_keys_survive_an_api_restart(api, stack):
    k = key()
    first = await post(api, "networks", {"network": {"name": "durable"}}, k, Prefer="wait=10")
    assert first.status_code == 201, first.text
    # A second API process on the same database: nothing of the first one's memory is shared.
    app = create_app(stack.settings, stack.client, sweeper=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://restarted.test") as http:
            url = f"{api.base}/networks"
            again = await http.post(url, json={"network": {"name": "durable"}}, headers={**api.headers, "Idempotency-Key": k})
            assert again.status_code == 201, again.text
            assert again.json()["network"]["id"] == first.json()["network"]["id"]
            other = await http.post(url, json={"network": {"name": "changed"}}, headers={**api.headers, "Idempotency-Key": k})
            assert other.status_code == 422 and other.json()["code"] == "IdempotencyKeyReused"
    assert len((await api.get("networks"))["networks"]) == 1


async def test_bad_keys_are_refused(api):
    for bad in ("", "x" * 256):
        response = await post(api, "networks", {"network": {"name": "n"}}, bad)
        assert response.status_code == 400 and response.headers["content-type"] == PROBLEM, (bad, response.text)
    assert (await api.get("networks"))["networks"] == []
