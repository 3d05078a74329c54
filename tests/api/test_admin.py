"""Operator actions through the API: retry a resource in ERROR, cancel the operation in flight,
read a resource's history (operations, workflow runs, events); and the CLI that calls them."""

import asyncio
import time
import uuid

import httpx
import pytest

from api.app import create_app
from netprov.naming import network_workflow_id


@pytest.fixture
async def patient(stack, api):
    """The API of a server whose plugin retry budget is 50 attempts from 1 s apart: a `flaky40-`
    network stays PROVISIONING for minutes, retrying (same database, engine and worker)."""
    settings = stack.settings.model_copy(update={"plugin_max_attempts": 50, "plugin_initial_backoff_ms": 1000})
    app = create_app(settings, stack.client, sweeper=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://patient.test", timeout=60) as http:
        yield lambda method, path, **kw: http.request(method, f"{api.base}/{path}", headers=api.headers, **kw)


async def _wait(api, path: str, key: str, status: str, timeout: float = 30.0) -> dict:
    return await api.settle(path, key, timeout, until=lambda body: body["status"] == status)


async def _runs(stack, workflow_id: str, at_least: int, timeout: float = 10.0) -> list:
    deadline = time.monotonic() + timeout
    while True:
        runs = [w async for w in stack.client.list_workflows(f'WorkflowId = "{workflow_id}"')]
        if len(runs) >= at_least or time.monotonic() > deadline:
            return runs
        await asyncio.sleep(0.2)


async def test_retry_a_failed_network_then_its_port(api, stack):
    network = await api.create_network("fail-retry-me")
    port = await api.create_port(network["id"], state="ACTIVE")  # queued on a network that will fail
    net_path, port_path = f"networks/{network['id']}", f"networks/{network['id']}/ports/{port['id']}"
    failed = await _wait(api, net_path, "network", "ERROR")
    assert "permanent fault" in failed["status_reason"]
    port_failed = await _wait(api, port_path, "port", "ERROR")
    assert network["id"] in port_failed["status_reason"]

    # The port cannot be retried while its network is in ERROR; nothing settled can be retried.
    response = await api.request("POST", f"{port_path}/actions/retry")
    assert (response.status_code, response.json()["code"]) == (409, "ResourceNotAvailable")

    # The operator fixes the cause (the fake plugin fails `fail-` names) and retries.
    assert (await api.request("PUT", net_path, json={"network": {"name": "retry-me"}})).status_code == 204
    response = await api.request("POST", f"{net_path}/actions/retry", headers={"Prefer": "wait=20"})
    assert response.status_code == 200, response.text
    assert response.json()["network"]["status"] == "AVAILABLE"
    assert response.headers["Preference-Applied"] == "wait=20"

    again = await api.request("POST", f"{net_path}/actions/retry")
    assert (again.status_code, again.json()["code"]) == (409, "NothingToRetry")

    response = await api.request("POST", f"{port_path}/actions/retry", headers={"Prefer": "wait=20"})
    assert response.status_code == 200, response.text
    assert response.json()["port"]["status"] == "ACTIVE" and response.json()["port"]["status_reason"] is None

    history = (await api.get(f"{net_path}/history"))["history"]
    assert [(op["seq"], op["kind"], op["applied"]) for op in history["operations"]] == [(1, "create", True), (2, "retry", True)]
    assert history["status"] == "AVAILABLE"
    statuses = [e["data"]["status"] for e in history["events"]]
    assert "ERROR" in statuses and statuses[-1] == "AVAILABLE"
    # The run stayed open in ERROR (workflows/resource_loop.py): the retry was applied in it.
    runs = await _runs(stack, network_workflow_id(network["id"]), at_least=1)
    assert len(runs) == 1
    history = (await api.get(f"{net_path}/history"))["history"]
    assert {r["run_id"] for r in history["workflow_runs"]} == {r.run_id for r in runs}
    assert all(r["link"].endswith(f"/workflows/network-{network['id']}/{r['run_id']}/history") for r in history["workflow_runs"])
    assert [r["status"] for r in history["workflow_runs"]] == ["COMPLETED"] * len(runs)


async def test_cancel_stops_provisioning_in_flight(api, patient):
    # A network that keeps failing transiently (retried for minutes), and a port waiting for it.
    response = await patient("POST", "networks", json={"network": {"name": "flaky40-stuck"}})
    assert response.status_code == 202
    network = response.json()["network"]
    net_path = f"networks/{network['id']}"
    await api.settle(net_path, "network", until=lambda n: "retrying" in (n["status_reason"] or ""))
    first = await api.create_port(network["id"], state="ACTIVE")
    second = await api.create_port(network["id"], state="ACTIVE")
    first_path = f"{net_path}/ports/{first['id']}"
    await api.settle(first_path, "port", until=lambda p: "waiting for network" in (p["status_reason"] or ""))

    # Cancel one waiting port: it alone ends in ERROR; the network goes on retrying.
    response = await api.request("POST", f"{first_path}/actions/cancel", headers={"Prefer": "wait=10"})
    assert response.status_code == 200, response.text
    port = response.json()["port"]
    assert port["status"] == "ERROR" and port["status_reason"].startswith("cancelled by operator")
    assert (await api.get(net_path))["network"]["status"] == "PROVISIONING"
    again = await api.request("POST", f"{first_path}/actions/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "NothingToCancel")

    # Cancel the network: its retrying create stops, it is in ERROR, and the port still waiting fails with it.
    response = await api.request("POST", f"{net_path}/actions/cancel", headers={"Prefer": "wait=10"})
    assert response.status_code == 200, response.text
    cancelled = response.json()["network"]
    assert cancelled["status"] == "ERROR" and "cancelled by operator" in cancelled["status_reason"]
    waiting = await _wait(api, f"{net_path}/ports/{second['id']}", "port", "ERROR")
    assert "cancelled by operator" in waiting["status_reason"]

    # Repair: rename (the fake plugin fails `flaky` names), retry the network, then the ports.
    await api.request("PUT", net_path, json={"network": {"name": "steady"}})
    response = await api.request("POST", f"{net_path}/actions/retry", headers={"Prefer": "wait=20"})
    assert response.json()["network"]["status"] == "AVAILABLE", response.text
    for port in (first, second):
        response = await api.request("POST", f"{net_path}/ports/{port['id']}/actions/retry", headers={"Prefer": "wait=20"})
        assert response.json()["port"]["status"] == "ACTIVE", response.text

    history = (await api.get(f"{first_path}/history"))["history"]
    assert [op["kind"] for op in history["operations"]] == ["create", "retry"]
    assert [e["data"]["status"] for e in history["events"] if e["type"] == "port.status"][-1] == "ACTIVE"


async def test_operator_actions_are_tenant_isolated_and_checked(api, admin):
    network = await api.create_network("mine")
    await api.settle(f"networks/{network['id']}", "network")
    other = f"t-{uuid.uuid4().hex[:8]}"
    response = await api.request("GET", f"/v1.1/tenants/{other}/networks/{network['id']}/history")
    assert response.status_code == 403
    # Another tenant's id under one's own path is "not found", as for any endpoint.
    response = await admin.request("POST", f"/v1.1/tenants/{other}/networks/{network['id']}/actions/retry")
    assert (response.status_code, response.json()["code"]) == (404, "NetworkNotFound")
    response = await api.request("GET", f"networks/{network['id']}/ports/{uuid.uuid4()}/history")
    assert (response.status_code, response.json()["code"]) == (404, "PortNotFound")
    response = await api.request("POST", f"networks/{network['id']}/actions/cancel")
    assert (response.status_code, response.json()["code"]) == (409, "NothingToCancel")
    response = await api.request("POST", f"networks/{network['id']}/actions/retry", params={"force": "1"})
    assert response.status_code == 400
    # An admin token may act on any tenant's resources.
    response = await admin.request("GET", f"/v1.1/tenants/{api.tenant}/networks/{network['id']}/history")
    assert response.status_code == 200 and response.json()["history"]["id"] == network["id"]

