"""Cancellation and deletion at every stage leave no residue on the plugins: delete before the
workflow starts, during transient retries, mid-way through qbh-sim's steps, after a failure,
after provisioning, with and without ports, attached then detached. Real processes, slow
plugins (so each stage is really hit), then every plugin must be empty."""

import asyncio
import time

import httpx
import pytest

from devstack.processes import ADMIN_SECRET, ProcessStack
from netprov.settings import Settings
from plugins.registry import plugin_class

pytestmark = pytest.mark.chaos


@pytest.fixture
async def slow_stack(tmp_path):
    stack = ProcessStack(
        tmp_path,
        env={"NETPROV_FAKE_LATENCY_MS": "150", "NETPROV_QBH_SIM_LATENCY_MS": "150", "NETPROV_PLUGIN_INITIAL_BACKOFF_MS": "300"},
    )
    await asyncio.to_thread(stack.start)
    async with httpx.AsyncClient(
        base_url=f"{stack.api_url}/v1.1/tenants/residue", headers={"X-Auth-Token": ADMIN_SECRET}, timeout=30
    ) as http:
        yield stack, http
    await asyncio.to_thread(stack.stop)


async def _network(http, name: str, plugin: str = "fake") -> str:
    response = await http.post("/networks", json={"network": {"name": name, "plugin": plugin}})
    assert response.status_code == 202, response.text
    return response.json()["network"]["id"]


async def _port(http, network_id: str) -> str:
    response = await http.post(f"/networks/{network_id}/ports", json={"port": {"state": "ACTIVE"}})
    assert response.status_code == 202, response.text
    return response.json()["port"]["id"]


async def _until(http, path: str, predicate, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = await http.get(path)
        if predicate(response):
            return response
        assert time.monotonic() < deadline, f"{path}: {response.status_code} {response.text}"
        await asyncio.sleep(0.05)


async def test_delete_at_every_stage_leaves_nothing(slow_stack):
    stack, http = slow_stack
    networks: list[str] = []

    # 1. Deleted before its workflow has done anything.
    networks.append(await _network(http, "at-once"))
    assert (await http.delete(f"/networks/{networks[-1]}")).status_code in (202, 204)

    # 2. Deleted while its create is being retried.
    networks.append(await _network(http, "flaky3-retrying"))
    await _until(http, f"/networks/{networks[-1]}", lambda r: "retrying" in (r.json()["network"]["status_reason"] or ""))
    assert (await http.delete(f"/networks/{networks[-1]}")).status_code in (202, 204)

    # 3. qbh-sim deleted in the middle of its three steps.
    networks.append(await _network(http, "mid-steps", plugin="qbh-sim"))
    await _until(http, f"/networks/{networks[-1]}", lambda r: "step 2 of 3" in (r.json()["network"]["status_reason"] or ""))
    assert (await http.delete(f"/networks/{networks[-1]}")).status_code in (202, 204)

    # 4. qbh-sim failed in step 3 (compensated), then deleted.
    networks.append(await _network(http, "fail3-compensated", plugin="qbh-sim"))
    await _until(http, f"/networks/{networks[-1]}", lambda r: r.json()["network"]["status"] == "ERROR")
    assert (await http.delete(f"/networks/{networks[-1]}")).status_code in (202, 204)

    # 5. A network deleted with ports still provisioning on it (cascade).
    networks.append(await _network(http, "flaky2-cascade"))
    for _ in range(3):
        await _port(http, networks[-1])
    assert (await http.delete(f"/networks/{networks[-1]}")).status_code in (202, 204)

    # 6. Fully provisioned, attached, detached, then port and network deleted.
    networks.append(await _network(http, "full-cycle"))
    port = await _port(http, networks[-1])
    base = f"/networks/{networks[-1]}/ports/{port}"
    assert (await http.put(f"{base}/attachment", json={"attachment": {"id": "vif-residue", "host": "h1"}})).status_code == 202
    await _until(http, base, lambda r: (r.json()["port"]["attachment"] or {}).get("status") == "AVAILABLE")
    assert (await http.delete(f"{base}/attachment")).status_code in (202, 204)
    assert (await http.delete(base)).status_code in (202, 204)
    assert (await http.delete(f"/networks/{networks[-1]}")).status_code in (202, 204)

    # 7. A port deleted while its attach is in flight is refused (PortInUse), so detach first,
    #    at once, without waiting for anything.
    networks.append(await _network(http, "attach-in-flight"))
    port = await _port(http, networks[-1])
    base = f"/networks/{networks[-1]}/ports/{port}"
    assert (await http.put(f"{base}/attachment", json={"attachment": {"id": "vif-flight", "host": "h1"}})).status_code == 202
    assert (await http.delete(base)).status_code == 409
    assert (await http.delete(f"{base}/attachment")).status_code in (202, 204)
    assert (await http.delete(base)).status_code in (202, 204)
    assert (await http.delete(f"/networks/{networks[-1]}")).status_code in (202, 204)

    for network_id in networks:
        await _until(http, f"/networks/{network_id}", lambda r: r.status_code == 404, timeout=60)
    settings = Settings(data_dir=stack.data_dir)
    for plugin in ("fake", "qbh-sim"):
        assert plugin_class(plugin)(settings).residue() == {"networks": 0, "ports": 0, "interfaces": 0}, plugin
