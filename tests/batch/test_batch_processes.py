"""Batches through real processes (Temporal dev server, `python -m worker`, `python -m api`): the
worker killed with SIGKILL in the middle of a batch, and a batch cancelled while it runs.

The fake plugin is slowed down (NETPROV_FAKE_LATENCY_MS per call; a chunk is one call) and the
chunks are small, so a batch of a few dozen items takes a few seconds."""

import asyncio
import time
import uuid
from collections import Counter

import httpx
import pytest
from batch_helpers import items_by, post_batch, topology, wait_batch

from devstack.processes import ADMIN_SECRET, ProcessStack
from netprov.settings import Settings
from plugins.fake import FakePlugin

pytestmark = pytest.mark.chaos

ENV = {
    "NETPROV_FAKE_LATENCY_MS": "250",
    "NETPROV_BATCH_CHUNK_SIZE": "4",
    "NETPROV_BATCH_MAX_PARALLEL_CHUNKS": "1",
}


class Tenant:
    def __init__(self, url: str) -> None:
        self.tenant = f"t-{uuid.uuid4().hex[:8]}"
        self.http = httpx.AsyncClient(base_url=url, headers={"X-Auth-Token": ADMIN_SECRET}, timeout=30)

    async def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        return await self.http.request(method, f"/v1.1/tenants/{self.tenant}/{path}", **kwargs)


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    stack = ProcessStack(tmp_path_factory.mktemp("batch-processes"), env=ENV)
    stack.start()
    yield stack
    stack.stop()


async def _until(tenant: Tenant, batch_id: str, predicate, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        batch = (await tenant.request("GET", f"batches/{batch_id}?items=false")).json()["batch"]
        if predicate(batch):
            return batch
        assert time.monotonic() < deadline, f"batch {batch_id}: {batch['counts']}"
        await asyncio.sleep(0.05)


def _applied(stack: ProcessStack, resource_ids: set[str]) -> Counter:
    ledger = FakePlugin(Settings(data_dir=stack.data_dir)).ledger()
    return Counter((entry.resource_id, entry.action) for entry in ledger if entry.resource_id in resource_ids)


async def test_worker_killed_mid_batch_batch_completes_nothing_twice(processes):
    tenant = Tenant(processes.api_url)
    created = (await post_batch(tenant, topology(["crash-a", "crash-b"], 8)))["batch"]
    # Kill the worker once some ports are done and the batch is not.
    seen = await _until(tenant, created["id"], lambda b: b["counts"]["port"]["ACTIVE"] >= 4 and b["status"] == "PROVISIONING")
    processes.kill("worker")
    assert seen["counts"]["attachment"]["AVAILABLE"] < 16  # work was left for the next worker
    await asyncio.sleep(1)
    processes.restart("worker")
    batch = await wait_batch(tenant, created["id"], timeout=90)

    assert batch["status"] == "COMPLETED", batch["counts"]
    assert batch["counts"]["port"]["ACTIVE"] == 16 and batch["counts"]["attachment"]["AVAILABLE"] == 16
    items = items_by(batch)
    resources = {item["id"] for item in batch["items"] if item["kind"] != "attachment"}
    applied = _applied(processes, resources)
    expected = Counter({(items["network", f"n{i}"]["id"], "create_network"): 1 for i in range(2)})
    for i in range(2):
        for j in range(8):
            port = items["port", f"p{i}-{j}"]["id"]
            expected[(port, "create_port")] = 1
            expected[(port, "plug_interface")] = 1
    assert applied == expected
    port = items["port", "p1-7"]
    body = (await tenant.request("GET", f"networks/{port['network_id']}/ports/{port['id']}")).json()["port"]
    assert (body["status"], body["link_status"], body["attachment"]["status"]) == ("ACTIVE", "UP", "AVAILABLE")


async def test_delete_cancels_what_has_not_run(processes):
    tenant = Tenant(processes.api_url)
    created = (await post_batch(tenant, topology(["cancel-a", "cancel-b"], 8)))["batch"]
    await _until(tenant, created["id"], lambda b: b["counts"]["port"]["ACTIVE"] >= 4)
    response = await tenant.request("DELETE", f"batches/{created['id']}")
    assert response.status_code == 202, response.text
    assert response.json()["batch"]["cancelled"] is True
    batch = await wait_batch(tenant, created["id"], timeout=60)

    assert batch["status"] == "PARTIAL", batch["counts"]
    counts = batch["counts"]
    assert counts["network"]["AVAILABLE"] == 2
    done_ports = [i for i in batch["items"] if i["kind"] == "port" and i["status"] == "ACTIVE"]
    cancelled_ports = [i for i in batch["items"] if i["kind"] == "port" and i["status"] == "ERROR"]
    assert len(done_ports) >= 4 and cancelled_ports and len(done_ports) + len(cancelled_ports) == 16
    assert counts["attachment"]["AVAILABLE"] < 16
    for item in batch["items"]:
        if item["status"] == "ERROR":
            assert item["error"] == "cancelled: the batch was cancelled before this item was applied"
    # Cancelled ports were never provisioned: they are gone. Provisioned ones stay, and a
    # provisioned port whose attachment was cancelled stays without attachment.
    for item in cancelled_ports:
        response = await tenant.request("GET", f"networks/{item['network_id']}/ports/{item['id']}")
        assert response.status_code == 404
    attachments = {i["port_id"]: i for i in batch["items"] if i["kind"] == "attachment"}
    for item in done_ports:
        body = (await tenant.request("GET", f"networks/{item['network_id']}/ports/{item['id']}")).json()["port"]
        if attachments[item["id"]]["status"] == "AVAILABLE":
            assert (body["status"], body["attachment"]["status"], body["link_status"]) == ("ACTIVE", "AVAILABLE", "UP")
        else:
            assert body["status"] == "ACTIVE" and body["attachment"] is None and body["link_status_string"] == "no attachment"
    # Nothing cancelled reached the plugin; nothing that completed was undone.
    applied = _applied(processes, {i["id"] for i in batch["items"] if i["kind"] != "attachment"})
    for item in cancelled_ports:
        assert (item["id"], "create_port") not in applied
    for port_id, attachment in attachments.items():
        assert ((port_id, "plug_interface") in applied) == (attachment["status"] == "AVAILABLE")
    assert not any(action.startswith(("delete", "unplug")) for _, action in applied)
    # Nothing left to cancel, nothing to retry (what was cancelled is gone or withdrawn).
    assert (await tenant.request("DELETE", f"batches/{created['id']}")).status_code == 204
    response = await tenant.request("POST", f"batches/{created['id']}/actions/retry")
    assert response.status_code == 409
