"""Bad input: every malformed or invalid request answers its documented 4xx as problem+json
(type, title, status, detail, code) and changes nothing: the tenant's networks, ports and
attachments, and what the plugin applied, are the same before and after."""

import asyncio
import uuid
from dataclasses import dataclass

import httpx
import pytest

from plugins.registry import plugin_class

UNKNOWN = "6b0c1a4e-0000-4000-8000-000000000000"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


class Tenant:
    """A tenant's token on the stack's HTTP client (the conftest's `api` is per test; this is per module)."""

    def __init__(self, http: httpx.AsyncClient, secret: str, tenant: str) -> None:
        self.http, self.headers, self.base = http, {"X-Auth-Token": secret}, f"/v1.1/tenants/{tenant}"

    async def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.http.request(method, f"{self.base}/{path}", headers=headers, **kwargs)

    async def get(self, path: str) -> dict:
        response = await self.request("GET", path)
        assert response.status_code == 200, response.text
        return response.json()

    async def settled(self, path: str, key: str) -> dict:
        for _ in range(300):
            body = (await self.get(path))[key]
            if body["status"] != "PROVISIONING":
                return body
            await asyncio.sleep(0.1)
        raise AssertionError(f"{path} did not settle")


@dataclass
class World:
    api: Tenant
    settings: object
    network: str
    port: str  # ACTIVE, no attachment: a bad PUT attachment that slipped through would show


@pytest.fixture(scope="module")
async def world(stack) -> World:
    """One tenant with a settled network and port, shared by every case of this module."""
    tenant = f"t-bad-{uuid.uuid4().hex[:8]}"
    response = await stack.http.post(
        "/v1.1/tokens", json={"token": {"tenant_id": tenant}}, headers={"X-Auth-Token": stack.settings.admin_token}
    )
    api = Tenant(stack.http, response.json()["token"]["secret"], tenant)
    network = (await api.request("POST", "networks", json={"network": {"name": "reference"}})).json()["network"]
    port = (await api.request("POST", f"networks/{network['id']}/ports", json={"port": {"state": "ACTIVE"}})).json()["port"]
    assert (await api.settled(f"networks/{network['id']}", "network"))["status"] == "AVAILABLE"
    assert (await api.settled(f"networks/{network['id']}/ports/{port['id']}", "port"))["status"] == "ACTIVE"
    return World(api, stack.settings, network["id"], port["id"])


async def snapshot(world: World) -> tuple:
    api = world.api
    fake = plugin_class("fake")(world.settings)
    return (
        (await api.get("networks?detail=true"))["networks"],
        (await api.get(f"networks/{world.network}/ports?detail=true"))["ports"],
        (await api.get(f"networks/{world.network}/ports/{world.port}/attachment"))["attachment"],
        [e for e in fake.ledger() if e.resource_id in (world.network, world.port)],
    )


def paths(world: World) -> dict[str, str]:
    network = f"networks/{world.network}"
    port = f"{network}/ports/{world.port}"
    return {"networks": "networks", "network": network, "ports": f"{network}/ports", "port": port, "attachment": f"{port}/attachment"}


# (id, method, path key or literal path, request kwargs, status, code)
CASES = [
    # Malformed JSON.
    ("json-network", "POST", "networks", {"content": b'{"network": {"name": '}, 400, "BadRequest"),
    ("json-port", "POST", "ports", {"content": b"{port}"}, 400, "BadRequest"),
    ("json-rename", "PUT", "network", {"content": b'{"network": {"name": "x"}'}, 400, "BadRequest"),
    ("json-state", "PUT", "port", {"content": b'{"port": {"state": "ACTIVE",}}'}, 400, "BadRequest"),
    ("json-attach", "PUT", "attachment", {"content": b"not json at all"}, 400, "BadRequest"),
    ("json-bytes", "POST", "networks", {"content": b"\xff\xfe\x00garbage"}, 400, "BadRequest"),
    # Unknown fields.
    ("field-network", "POST", "networks", {"json": {"network": {"name": "x", "color": "red"}}}, 422, "BadRequest"),
    ("field-top", "POST", "networks", {"json": {"network": {"name": "x"}, "extra": 1}}, 422, "BadRequest"),
    ("field-port", "POST", "ports", {"json": {"port": {"state": "ACTIVE", "mac": "x"}}}, 422, "BadRequest"),
    ("field-rename", "PUT", "network", {"json": {"network": {"name": "x", "id": UNKNOWN}}}, 422, "BadRequest"),
    ("field-state", "PUT", "port", {"json": {"port": {"state": "DOWN", "admin": True}}}, 422, "BadRequest"),
    ("field-attach", "PUT", "attachment", {"json": {"attachment": {"id": "vif-x", "mac": "aa"}}}, 422, "BadRequest"),
    # Wrong types and shapes.
    ("type-name-int", "POST", "networks", {"json": {"network": {"name": 5}}}, 422, "BadRequest"),
    ("type-name-null", "POST", "networks", {"json": {"network": {"name": None}}}, 422, "BadRequest"),
    ("type-network-list", "POST", "networks", {"json": {"network": ["x"]}}, 422, "BadRequest"),
    ("type-body-list", "POST", "networks", {"json": [{"network": {"name": "x"}}]}, 422, "BadRequest"),
    ("type-body-string", "POST", "networks", {"json": "network"}, 422, "BadRequest"),
    ("type-missing-name", "POST", "networks", {"json": {"network": {}}}, 422, "BadRequest"),
    ("type-unwrapped", "POST", "networks", {"json": {"name": "x"}}, 422, "BadRequest"),
    ("type-no-body", "POST", "networks", {}, 422, "BadRequest"),
    ("type-plugin-int", "POST", "networks", {"json": {"network": {"name": "x", "plugin": 1}}}, 422, "BadRequest"),
    ("type-state-int", "PUT", "port", {"json": {"port": {"state": 1}}}, 422, "BadRequest"),
    ("type-state-missing", "PUT", "port", {"json": {"port": {}}}, 422, "BadRequest"),
    ("type-port-state-bool", "POST", "ports", {"json": {"port": {"state": True}}}, 422, "BadRequest"),
    ("type-attach-id-int", "PUT", "attachment", {"json": {"attachment": {"id": 7}}}, 422, "BadRequest"),
    ("type-attach-missing-id", "PUT", "attachment", {"json": {"attachment": {"host": "h1"}}}, 422, "BadRequest"),
    ("type-attach-host-list", "PUT", "attachment", {"json": {"attachment": {"id": "v", "host": ["h1"]}}}, 422, "BadRequest"),
    # Lengths and characters.
    ("long-name", "POST", "networks", {"json": {"network": {"name": "n" * 256}}}, 422, "BadRequest"),
    ("empty-name", "POST", "networks", {"json": {"network": {"name": ""}}}, 422, "BadRequest"),
    ("long-rename", "PUT", "network", {"json": {"network": {"name": "n" * 256}}}, 422, "BadRequest"),
    ("long-attach-id", "PUT", "attachment", {"json": {"attachment": {"id": "v" * 256}}}, 422, "BadRequest"),
    ("space-attach-id", "PUT", "attachment", {"json": {"attachment": {"id": "vif 1"}}}, 422, "BadRequest"),
    ("empty-attach-host", "PUT", "attachment", {"json": {"attachment": {"id": "vif-1", "host": ""}}}, 422, "BadRequest"),
    # Unknown plugin.
    ("unknown-plugin", "POST", "networks", {"json": {"network": {"name": "x", "plugin": "nope"}}}, 400, "BadRequest"),
    # Ids in the path that are not UUIDs.
    ("id-get-network", "GET", "networks/not-a-uuid", {}, 400, "BadRequest"),
    ("id-delete-network", "DELETE", "networks/123", {}, 400, "BadRequest"),
    ("id-rename", "PUT", "networks/xyz", {"json": {"network": {"name": "x"}}}, 400, "BadRequest"),
    ("id-ports-of", "POST", "networks/xyz/ports", {}, 400, "BadRequest"),
    ("id-get-port", "GET", "{ports}/not-a-uuid", {}, 400, "BadRequest"),
    ("id-delete-port", "DELETE", "{ports}/12345", {}, 400, "BadRequest"),
    ("id-attach", "PUT", "{ports}/abc/attachment", {"json": {"attachment": {"id": "vif-1"}}}, 400, "BadRequest"),
    # Unknown ids.
    ("unknown-network", "GET", f"networks/{UNKNOWN}", {}, 404, "NetworkNotFound"),
    ("unknown-network-delete", "DELETE", f"networks/{UNKNOWN}", {}, 404, "NetworkNotFound"),
    ("unknown-network-rename", "PUT", f"networks/{UNKNOWN}", {"json": {"network": {"name": "x"}}}, 404, "NetworkNotFound"),
    ("unknown-network-ports", "POST", f"networks/{UNKNOWN}/ports", {}, 404, "NetworkNotFound"),
    ("unknown-network-list", "GET", f"networks/{UNKNOWN}/ports", {}, 404, "NetworkNotFound"),
    ("unknown-port", "GET", f"{{ports}}/{UNKNOWN}", {}, 404, "PortNotFound"),
    ("unknown-port-state", "PUT", f"{{ports}}/{UNKNOWN}", {"json": {"port": {"state": "DOWN"}}}, 404, "PortNotFound"),
    ("unknown-port-delete", "DELETE", f"{{ports}}/{UNKNOWN}", {}, 404, "PortNotFound"),
    ("unknown-port-attach", "PUT", f"{{ports}}/{UNKNOWN}/attachment", {"json": {"attachment": {"id": "v"}}}, 404, "PortNotFound"),
    ("unknown-port-detach", "DELETE", f"{{ports}}/{UNKNOWN}/attachment", {}, 404, "PortNotFound"),
    ("port-under-unknown-network", "GET", f"networks/{UNKNOWN}/ports/{{port_id}}", {}, 404, "NetworkNotFound"),
    # Admin state.
    ("state-create", "POST", "ports", {"json": {"port": {"state": "UP"}}}, 400, "RequestedStateInvalid"),
    ("state-update", "PUT", "port", {"json": {"port": {"state": "BROKEN"}}}, 400, "RequestedStateInvalid"),
    ("state-empty", "PUT", "port", {"json": {"port": {"state": ""}}}, 400, "RequestedStateInvalid"),
    # Exactly ACTIVE or DOWN: case matters (issue 16).
    ("state-lower-update", "PUT", "port", {"json": {"port": {"state": "active"}}}, 400, "RequestedStateInvalid"),
    ("state-mixed-update", "PUT", "port", {"json": {"port": {"state": "Down"}}}, 400, "RequestedStateInvalid"),
    ("state-lower-create", "POST", "ports", {"json": {"port": {"state": "active"}}}, 400, "RequestedStateInvalid"),
    # Query parameters.
    ("query-list", "GET", "networks?foo=1", {}, 400, "BadRequest"),
    ("query-post", "POST", "networks?dry_run=1", {"json": {"network": {"name": "x"}}}, 400, "BadRequest"),
    ("query-detail", "GET", "networks?detail=maybe", {}, 400, "BadRequest"),
    ("query-status", "GET", "networks?status=BOGUS", {}, 400, "BadRequest"),
    ("query-port-status", "GET", "{ports}?status=AVAILABLE", {}, 400, "BadRequest"),
    ("query-put", "PUT", "port?force=true", {"json": {"port": {"state": "DOWN"}}}, 400, "BadRequest"),
    ("query-attach", "PUT", "attachment?x=1", {"json": {"attachment": {"id": "vif-q"}}}, 400, "BadRequest"),
    # Prefer header.
    ("prefer-wait", "POST", "networks", {"json": {"network": {"name": "x"}}, "headers": {"Prefer": "wait=soon"}}, 400, "BadRequest"),
    # Size.
    ("too-large-network", "POST", "networks", {"json": {"network": {"name": "x" * 70_000}}}, 413, "RequestTooLarge"),
    ("too-large-attach", "PUT", "attachment", {"content": b'{"attachment": {"id": "' + b"v" * 70_000 + b'"}}'}, 413, "RequestTooLarge"),
    ("too-large-state", "PUT", "port", {"content": b" " * 65_537}, 413, "RequestTooLarge"),
]


def resolve(world: World, where: str) -> str:
    known = paths(world)
    if where.split("?")[0] in known:
        key, _, query = where.partition("?")
        return known[key] + (f"?{query}" if query else "")
    return where.format(ports=known["ports"], port_id=world.port)


@pytest.mark.parametrize(("method", "where", "kwargs", "status", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_bad_request_is_a_problem_and_changes_nothing(world, method, where, kwargs, status, code):
    before = await snapshot(world)
    headers = dict(kwargs.get("headers", {}))
    if "content" in kwargs:
        headers.setdefault("Content-Type", "application/json")
    request = {k: v for k, v in kwargs.items() if k != "headers"}

    response = await world.api.request(method, resolve(world, where), headers=headers, **request)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert PROBLEM_KEYS <= set(problem)
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["title"] and problem["detail"] and problem["type"]
    assert "Traceback" not in response.text
    assert await snapshot(world) == before


async def test_no_token_and_unknown_token_are_problems(world):
    for headers in ({"X-Auth-Token": ""}, {"X-Auth-Token": "not-a-token"}):
        response = await world.api.http.get(f"{world.api.base}/networks", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "Unauthorized"
    response = await world.api.http.get(f"{world.api.base}/networks")
    assert response.status_code == 401
