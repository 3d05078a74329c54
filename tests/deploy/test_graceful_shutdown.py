"""SIGTERM is a clean stop: a worker finishes the plugin call it is making (once, by itself: no
retry elsewhere, nothing lost) and exits 0, the next worker carries on; the API answers the
requests it holds and exits 0. Real processes; the fake plugin takes 1.5 s per call."""

import asyncio
import time

import httpx
import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState, PendingWorkflowTaskState
from temporalio.client import Client

from netprov.settings import Settings
from plugins.registry import plugin_class

pytestmark = pytest.mark.postgres

SLOW_MS = 1500
TENANT = "graceful"


@pytest.fixture(scope="module")
def slow(services_factory, deploy_database):
    """Plugin steps as ordinary activities (`slow_local` below has the default: one-step actions as local ones)."""
    services = services_factory(deploy_database, NETPROV_FAKE_LATENCY_MS=str(SLOW_MS), NETPROV_LOCAL_STEPS="false")
    services.api = services.start_api("api")
    services.start_worker("worker-1")
    services.wait_healthy(services.api)
    services.wait_worker("worker-1")
    return services


@pytest.fixture
async def http(slow):
    headers = {"X-Auth-Token": slow.env["NETPROV_ADMIN_TOKEN"]}
    async with httpx.AsyncClient(base_url=f"{slow.api}/v1.1/tenants/{TENANT}", headers=headers, timeout=30) as client:
        yield client


def ledger(slow, resource_id: str) -> list:
    return [e for e in plugin_class("fake")(Settings(data_dir=slow.root)).ledger() if e.resource_id == resource_id]


async def settle(http: httpx.AsyncClient, path: str, key: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = (await http.get(path)).json()[key]
        if body["status"] != "PROVISIONING":
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.1)


async def wait_activity_running(client: Client, workflow_id: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            description = await client.get_workflow_handle(workflow_id).describe()
            pending = description.raw_description.pending_activities
            if any(a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED for a in pending):
                return
        except Exception:  # noqa: BLE001 - not started yet
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"no activity of {workflow_id} started within {timeout}s")


async def test_sigterm_to_a_worker_finishes_its_activity_and_the_next_worker_carries_on(slow, http, temporal_server):
    client = await Client.connect(temporal_server.target)
    response = await http.post("networks", json={"network": {"name": "in-flight"}})
    assert response.status_code == 202, response.text
    network_id = response.json()["network"]["id"]
    await wait_activity_running(client, f"network-{network_id}")

    asked = time.monotonic()
    code = await asyncio.to_thread(slow.terminate, "worker-1")
    stopped_after = time.monotonic() - asked

    assert code == 0, slow.child("worker-1").tail(20)
    # It waited for the plugin call in flight (up to 1.5 s), not for the 20 s grace period.
    assert stopped_after < 10, stopped_after
    applied = ledger(slow, network_id)
    assert [e.action for e in applied] == ["create_network"]
    network = (await http.get(f"networks/{network_id}")).json()["network"]
    assert network["status"] == "AVAILABLE", network
    # Finished by the stopping worker on its first attempt: never cancelled, timed out or retried.
    events = [e async for e in client.get_workflow_handle(f"network-{network_id}").fetch_history_events()]
    kinds = {e.event_type for e in events}
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in kinds
    assert not kinds & {
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    }
    assert [e.activity_task_started_event_attributes.attempt for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED] == [1]

    # With no worker, accepted work waits; the next worker to start does it, once.
    response = await http.post(f"networks/{network_id}/ports", json={"port": {"state": "ACTIVE"}})
    assert response.status_code == 202, response.text
    port_id = response.json()["port"]["id"]
    await asyncio.sleep(1.0)
    assert (await http.get(f"networks/{network_id}/ports/{port_id}")).json()["port"]["status"] == "PROVISIONING"
    slow.start_worker("worker-2")
    port = await settle(http, f"networks/{network_id}/ports/{port_id}", "port")
    assert port["status"] == "ACTIVE"
    assert [e.action for e in ledger(slow, port_id)] == ["create_port"]
    assert [e.action for e in ledger(slow, network_id)] == ["create_network"]


@pytest.fixture(scope="module")
def slow_local(services_factory, deploy_database):
    """The same, with one-step plugin actions as local activities (NETPROV_LOCAL_STEPS, the default)."""
    services = services_factory(deploy_database, NETPROV_FAKE_LATENCY_MS=str(SLOW_MS), NETPROV_LOCAL_STEPS="true")
    services.api = services.start_api("api")
    services.start_worker("worker-1")
    services.wait_healthy(services.api)
    services.wait_worker("worker-1")
    return services


async def wait_local_step_running(client: Client, workflow_id: str, timeout: float = 15.0) -> None:
    """Until a worker runs the workflow's first step as a local activity: the workflow task that runs it
    stays started, and no activity is scheduled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            description = (await client.get_workflow_handle(workflow_id).describe()).raw_description
            if description.pending_workflow_task.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED:
                return
        except Exception:  # noqa: BLE001 - not started yet
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"no step of {workflow_id} started within {timeout}s")


async def test_sigterm_to_a_worker_finishes_its_local_step(slow_local, temporal_server):
    client = await Client.connect(temporal_server.target)
    headers = {"X-Auth-Token": slow_local.env["NETPROV_ADMIN_TOKEN"]}
    async with httpx.AsyncClient(base_url=f"{slow_local.api}/v1.1/tenants/{TENANT}", headers=headers, timeout=30) as http:
        response = await http.post("networks", json={"network": {"name": "local-in-flight"}})
        assert response.status_code == 202, response.text
        network_id = response.json()["network"]["id"]
        await wait_local_step_running(client, f"network-{network_id}")
        await asyncio.sleep(0.5)  # well into the plugin call, which takes SLOW_MS

        asked = time.monotonic()
        code = await asyncio.to_thread(slow_local.terminate, "worker-1")
        assert code == 0, slow_local.child("worker-1").tail(20)
        assert time.monotonic() - asked < 10
        assert [e.action for e in ledger(slow_local, network_id)] == ["create_network"]
        # The stopping worker also completed the workflow task that ran the step: its one result is in the
        # history (a marker), and no workflow task timed out or failed, as it would had the worker left first.
        assert (await http.get(f"networks/{network_id}")).json()["network"]["status"] == "AVAILABLE"
    kinds = [e.event_type async for e in client.get_workflow_handle(f"network-{network_id}").fetch_history_events()]
    assert kinds.count(EventType.EVENT_TYPE_MARKER_RECORDED) == 1
    assert not set(kinds) & {
        EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    }


async def test_sigterm_to_the_api_answers_the_requests_in_flight(slow, http):
    if not any(c.name.startswith("worker") and c.exit_code is None for c in slow.children):
        slow.start_worker("worker-3")
        slow.wait_worker("worker-3")
    # An open event stream (never ending by itself) must not hold the exit.
    stream = await http.send(http.build_request("GET", "events"), stream=True)
    assert stream.status_code == 200
    lines = stream.aiter_lines()
    assert (await anext(lines)).startswith("retry:")
    request = asyncio.create_task(
        http.post("networks", json={"network": {"name": "held"}}, headers={"Prefer": "wait=20"})
    )
    await asyncio.sleep(0.5)  # the request is held, waiting for the 1.5 s plugin call
    assert not request.done()
    asked = time.monotonic()
    code_task = asyncio.create_task(asyncio.to_thread(slow.terminate, "api"))

    response = await request
    assert response.status_code == 201, response.text
    assert response.json()["network"]["status"] == "AVAILABLE"
    _ = [line async for line in lines]  # the stream ends cleanly (no read error), the API exits
    await stream.aclose()
    assert await code_task == 0, slow.child("api").tail(20)
    assert time.monotonic() - asked < 15
    with pytest.raises(httpx.ConnectError):
        await http.get("networks")
