"""Host-bound plugin calls of a batch run on the host's agent: with the ovs plugin, plugging an
interface is bound to the attachment's host, so the batch's plug chunk is scheduled on that host's
task queue and waits there until an agent for the host polls it."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

from batch_helpers import items_by, post_batch, wait_batch
from ovs_lab import require_ovs
from temporalio.api.enums.v1 import EventType

from netprov.naming import batch_workflow_id, host_task_queue
from worker.build import MAX_CONCURRENT_ACTIVITIES, host_agent


async def _plug_queues(handle) -> list[str]:
    queues = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == "batch_plug_interfaces":
                queues.append(attributes.task_queue.name)
    return queues


async def test_plug_chunks_run_on_the_hosts_agent(api, stack, settings):
    # The agent must find Open vSwitch installed, so that the made-up host is "unreachable" (transient,
    # retried) rather than "no Open vSwitch here" (permanent).
    require_ovs("host-bound batch chunks")
    host = f"hb{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:8]
    body = {"batch": {
        "networks": [{"ref": "n", "name": "bound", "plugin": "ovs"}],
        "ports": [{"ref": f"p{i}", "network": "n", "state": "ACTIVE"} for i in range(2)],
        "attachments": [{"port": f"p{i}", "id": f"vif-{tag}-{i}", "host": host} for i in range(2)],
    }}
    created = (await post_batch(api, body))["batch"]
    # Networks and ports are central; the plugs wait for an agent of `host`, which no one runs yet.
    batch = await wait_batch(api, created["id"], until=lambda b: b["counts"]["port"]["ACTIVE"] == 2)
    handle = stack.client.get_workflow_handle(batch_workflow_id(created["id"]))
    for _ in range(100):
        if await _plug_queues(handle):
            break
        await asyncio.sleep(0.05)
    assert await _plug_queues(handle) == [host_task_queue(host)]
    await asyncio.sleep(1)
    assert (await api.get(f"batches/{created['id']}?items=false"))["batch"]["counts"]["attachment"]["PROVISIONING"] == 2

    # The host's agent comes up and takes the chunk. (There is no Open vSwitch for this made-up
    # host: the plugin reports it unreachable, transiently, until the retry budget is spent.)
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with host_agent(stack.client, settings, host, executor):
            batch = await wait_batch(api, created["id"], timeout=60)
    items = items_by(batch)
    assert batch["status"] == "PARTIAL"
    for i in range(2):
        error = items["attachment", f"p{i}"]["error"]
        assert error.startswith("plug_interface failed after 4 attempts:"), error
    assert set(await _plug_queues(handle)) == {host_task_queue(host)}
