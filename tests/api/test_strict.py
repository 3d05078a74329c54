"""Reject mode: the server setting (`strict`) and `Prefer: handling=strict` per request refuse
POST and PUT on (or under) a resource that is PROVISIONING or in ERROR with 409
ResourceNotAvailable; DELETE is always accepted. `Prefer: handling=lenient` lifts the setting.

Resources that stay PROVISIONING come from an API whose workflows go to a task queue no worker
polls (its own database and queue, the session's Temporal server); ERROR ones from the fake
plugin's `fail-` names on the session stack."""

import uuid
from contextlib import asynccontextmanager

import httpx
import pytest

from api.app import create_app

PROBLEM = "application/problem+json"
STRICT = {"Prefer": "handling=strict"}
LENIENT = {"Prefer": "handling=lenient"}


def refused(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "ResourceNotAvailable"


class Client:
    def __init__(self, http: httpx.AsyncClient, secret: str, tenant: str) -> None:
        self.http, self.headers, self.base = http, {"X-Auth-Token": secret}, f"/v1.1/tenants/{tenant}"

    async def __call__(self, method: str, path: str, headers: dict | None = None, **kwargs) -> httpx.Response:
        return await self.http.request(method, f"{self.base}/{path}", headers={**self.headers, **(headers or {})}, **kwargs)


@asynccontextmanager
async def unworked_api(stack, tmp_path, strict: bool):
    """An API whose writes are accepted and delivered, but never applied: nothing leaves PROVISIONING."""
    settings = stack.settings.model_copy(
        update={
            "data_dir": tmp_path,
            "database_url": f"sqlite:///{tmp_path / f'netprov-{strict}.db'}",
            "task_queue": f"nobody-{uuid.uuid4().hex[:8]}",
            "strict": strict,
        }
    )
    app = create_app(settings, stack.client, sweeper=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://unworked.test") as http:
            client = Client(http, settings.admin_token, f"t-{uuid.uuid4().hex[:8]}")
            try:
                yield client
            finally:
                # Their workflows would wait forever for a worker: end them.
                async for execution in stack.client.list_workflows(f'TaskQueue = "{settings.task_queue}"'):
                    await stack.client.get_workflow_handle(execution.id).terminate("test over")


async def provisioning_resources(client: Client) -> tuple[str, str, str]:
    """A network and a port on it, both PROVISIONING (accepted leniently), and the port's path."""
    response = await client("POST", "networks", json={"network": {"name": "stuck"}}, headers=LENIENT)
    assert response.status_code == 202 and response.json()["network"]["status"] == "PROVISIONING", response.text
    network_id = response.json()["network"]["id"]
    response = await client("POST", f"networks/{network_id}/ports", headers=LENIENT)
    assert response.status_code == 202 and response.json()["port"]["status"] == "PROVISIONING", response.text
    port_id = response.json()["port"]["id"]
    return network_id, port_id, f"networks/{network_id}/ports/{port_id}"


async def check_refusals(client: Client, headers: dict) -> None:
    network_id, port_id, port = await provisioning_resources(client)
    refused(await client("POST", f"networks/{network_id}/ports", headers=headers))
    refused(await client("PUT", f"networks/{network_id}", json={"network": {"name": "renamed"}}, headers=headers))
    refused(await client("PUT", port, json={"port": {"state": "ACTIVE"}}, headers=headers))
    refused(await client("PUT", f"{port}/attachment", json={"attachment": {"id": "vif-strict", "host": "h1"}}, headers=headers))
    # Refused means untouched.
    body = (await client("GET", port)).json()["port"]
    assert (body["state"], body["attachment"]) == ("DOWN", None)
    assert (await client("GET", f"networks/{network_id}")).json()["network"]["name"] == "stuck"
    assert len((await client("GET", f"networks/{network_id}/ports")).json()["ports"]) == 1
    # New networks have nothing to wait for; reads are never refused; DELETE is always accepted.
    assert (await client("POST", "networks", json={"network": {"name": "fresh"}}, headers=headers)).status_code == 202
    assert (await client("GET", f"networks/{network_id}", headers=headers)).status_code == 200
    assert (await client("DELETE", port, headers=headers)).status_code in (202, 204)
    assert (await client("DELETE", f"networks/{network_id}", headers=headers)).status_code in (202, 204)


async def test_strict_setting_refuses_writes_on_provisioning_resources(stack, tmp_path):
    async with unworked_api(stack, tmp_path, strict=True) as client:
        await check_refusals(client, headers={})
        await check_refusals(client, headers=STRICT)
        # Prefer: handling=lenient lifts the setting for one request.
        network_id, _, port = await provisioning_resources(client)
        assert (await client("POST", f"networks/{network_id}/ports", headers=LENIENT)).status_code == 202
        assert (await client("PUT", port, json={"port": {"state": "ACTIVE"}}, headers=LENIENT)).status_code == 204
        response = await client("PUT", f"{port}/attachment", json={"attachment": {"id": "vif-lenient"}}, headers=LENIENT)
        assert response.status_code == 202, response.text


async def test_prefer_strict_refuses_writes_on_provisioning_resources(stack, tmp_path):
    async with unworked_api(stack, tmp_path, strict=False) as client:
        await check_refusals(client, headers=STRICT)
        # Without the preference the same writes are accepted (fire-and-forget).
        network_id, _, port = await provisioning_resources(client)
        assert (await client("POST", f"networks/{network_id}/ports")).status_code == 202
        assert (await client("PUT", port, json={"port": {"state": "ACTIVE"}})).status_code == 204


@pytest.mark.parametrize("preference", ["strict", "lenient"])
async def test_writes_on_resources_in_error(api, preference):
    headers = {"Prefer": f"handling={preference}"}
    network = await api.create_network("fail-strict")
    port = await api.create_port(network["id"])  # queued on a network that then fails: ERROR too
    path = f"networks/{network['id']}/ports/{port['id']}"
    assert (await api.settle(f"networks/{network['id']}", "network"))["status"] == "ERROR"
    assert (await api.settle(path, "port"))["status"] == "ERROR"

    # New ports on a network in ERROR are refused in every mode.
    refused(await api.request("POST", f"networks/{network['id']}/ports", headers=headers))
    rename = await api.request("PUT", f"networks/{network['id']}", json={"network": {"name": "fail-renamed"}}, headers=headers)
    update = await api.request("PUT", path, json={"port": {"state": "ACTIVE"}}, headers=headers)
    attach = await api.request("PUT", f"{path}/attachment", json={"attachment": {"id": f"vif-{uuid.uuid4().hex[:8]}"}}, headers=headers)
    if preference == "strict":
        for response in (rename, update, attach):
            refused(response)
        assert (await api.get(path))["port"]["attachment"] is None
        assert (await api.get(f"networks/{network['id']}"))["network"]["name"] == "fail-strict"
    else:
        assert (rename.status_code, update.status_code, attach.status_code) == (204, 204, 202), (rename.text, update.text, attach.text)
        await api.request("DELETE", f"{path}/attachment", headers={"Prefer": "wait=10"})
    # DELETE is always accepted and removes both.
    assert (await api.request("DELETE", path, headers={**headers})).status_code in (202, 204)
    assert (await api.request("DELETE", f"networks/{network['id']}", headers=headers)).status_code in (202, 204)
    await api.gone(f"networks/{network['id']}")
