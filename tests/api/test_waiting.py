"""`Prefer: wait=N` on every write: held until the resource leaves PROVISIONING (201/200/204) or N
seconds pass (202, still PROVISIONING); `Preference-Applied: wait=N`; N capped at 60.

The slow cases run against a worker of their own whose fake plugin takes a second per call, on
a task queue and database of their own, next to the session stack."""

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from api.app import create_app
from worker.build import MAX_CONCURRENT_ACTIVITIES, central_worker

PROBLEM = "application/problem+json"
SLOW_CALL_MS = 3000


def waited(response: httpx.Response, seconds: int) -> None:
    assert response.headers.get("Preference-Applied") == f"wait={seconds}", (response.status_code, response.headers)


async def test_every_write_waits_until_settled(api):
    wait = {"Prefer": "wait=15"}
    response = await api.request("POST", "networks", json={"network": {"name": "waited"}}, headers=wait)
    assert response.status_code == 201, response.text
    waited(response, 15)
    network = response.json()["network"]
    assert network["status"] == "AVAILABLE" and network["status_reason"] is None
    assert response.headers["Location"] == f"{api.base}/networks/{network['id']}"

    response = await api.request("POST", f"networks/{network['id']}/ports", json={"port": {"state": "ACTIVE"}}, headers=wait)
    assert response.status_code == 201, response.text
    waited(response, 15)
    port = response.json()["port"]
    assert (port["state"], port["status"]) == ("ACTIVE", "ACTIVE")
    path = f"networks/{network['id']}/ports/{port['id']}"

    response = await api.request("PUT", path, json={"port": {"state": "DOWN"}}, headers=wait)
    assert response.status_code == 200, response.text
    waited(response, 15)
    assert response.json()["port"]["state"] == "DOWN" and response.json()["port"]["status"] == "DOWN"

    response = await api.request("PUT", f"{path}/attachment", json={"attachment": {"id": f"vif-{uuid.uuid4().hex[:8]}", "host": "h1"}}, headers=wait)
    assert response.status_code == 200, response.text
    waited(response, 15)
    assert response.json()["attachment"]["status"] == "AVAILABLE"

    response = await api.request("PUT", f"networks/{network['id']}", json={"network": {"name": "renamed"}}, headers=wait)
    assert response.status_code == 204
    waited(response, 15)

    response = await api.request("DELETE", f"{path}/attachment", headers=wait)
    assert response.status_code == 204, response.text
    waited(response, 15)
    assert (await api.get(f"{path}/attachment")) == {"attachment": None}

    response = await api.request("DELETE", path, headers=wait)
    assert response.status_code == 204, response.text
    waited(response, 15)
    assert (await api.request("GET", path)).status_code == 404

    response = await api.request("DELETE", f"networks/{network['id']}", headers=wait)
    assert response.status_code == 204, response.text
    waited(response, 15)
    assert (await api.request("GET", f"networks/{network['id']}")).status_code == 404


async def test_without_prefer_writes_do_not_wait(api):
    response = await api.request("POST", "networks", json={"network": {"name": "async"}})
    assert response.status_code == 202 and "Preference-Applied" not in response.headers
    assert response.json()["network"]["status"] == "PROVISIONING"


async def test_many_concurrent_waiters_all_settle(api):
    async def create(i: int) -> httpx.Response:
        return await api.request("POST", "networks", json={"network": {"name": f"crowd-{i}"}}, headers={"Prefer": "wait=20"})

    responses = await asyncio.gather(*(create(i) for i in range(25)))
    assert [r.status_code for r in responses] == [201] * 25
    assert {r.json()["network"]["status"] for r in responses} == {"AVAILABLE"}


async def test_prefer_values(api):
    response = await api.request("POST", "networks", json={"network": {"name": "capped"}}, headers={"Prefer": "wait=3600"})
    assert response.status_code == 201, response.text
    waited(response, 60)
    response = await api.request(
        "POST", "networks", json={"network": {"name": "two-prefs"}}, headers={"Prefer": "handling=lenient, wait=007"}
    )
    assert response.status_code == 201, response.text
    waited(response, 7)
    response = await api.request("POST", "networks", json={"network": {"name": "zero"}}, headers={"Prefer": "wait=0"})
    assert response.status_code == 202
    waited(response, 0)
    for bad in ("wait=soon", "wait=-1", "wait=1.5", "wait=" + "9" * 5000, "wait=\xb2"):
        response = await api.request("POST", "networks", json={"network": {"name": "bad"}}, headers={"Prefer": bad.encode("latin-1")})
        if bad.startswith("wait=99"):
            assert response.status_code == 201  # a huge whole number is just capped
            waited(response, 60)
            continue
        assert response.status_code == 400, (bad, response.text)
        assert response.headers["content-type"] == PROBLEM


@dataclass
class SlowStack:
    http: httpx.AsyncClient
    headers: dict
    base: str


@pytest.fixture
async def slow(stack, settings, tmp_path):
    """An API and a worker whose fake plugin takes SLOW_CALL_MS per call."""
    slow_settings = settings.model_copy(
        update={
            "data_dir": tmp_path,
            "database_url": f"sqlite:///{tmp_path / 'netprov.db'}",
            "task_queue": f"slow-{uuid.uuid4().hex[:8]}",
            "plugin_settings": {**settings.plugin_settings, "fake": {"latency_ms": SLOW_CALL_MS}},
        }
    )
    executor = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES)
    worker = central_worker(stack.client, slow_settings, executor)
    app = create_app(slow_settings, stack.client, sweeper=False)
    async with worker, app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://slow.test", timeout=90) as http:
            yield SlowStack(http, {"X-Auth-Token": settings.admin_token}, f"/v1.1/tenants/t-slow-{uuid.uuid4().hex[:6]}")
    executor.shutdown(wait=False, cancel_futures=True)


async def timed(slow: SlowStack, method: str, path: str, wait: int, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await slow.http.request(
        method, f"{slow.base}/{path}", headers={**slow.headers, "Prefer": f"wait={wait}"}, **kwargs
    )
    return response, time.monotonic() - started


def about(elapsed: float, seconds: int) -> bool:
    """Held for the wait, and not much longer (the machine may be busy)."""
    return seconds - 0.1 <= elapsed < seconds + 1.5


async def test_wait_on_a_slow_resource_answers_202_after_n_seconds(slow):
    response, elapsed = await timed(slow, "POST", "networks", 1, json={"network": {"name": "slow-net"}})
    assert response.status_code == 202, response.text
    waited(response, 1)
    assert response.json()["network"]["status"] == "PROVISIONING"
    assert about(elapsed, 1), elapsed
    network = response.json()["network"]

    response, elapsed = await timed(slow, "POST", f"networks/{network['id']}/ports", 0)
    assert response.status_code == 202 and response.json()["port"]["status"] == "PROVISIONING", response.text
    assert elapsed < 0.9, elapsed
    port = response.json()["port"]
    path = f"networks/{network['id']}/ports/{port['id']}"

    # PUT port answers 200 with the port as the wait left it: still waiting for its network here.
    response, elapsed = await timed(slow, "PUT", path, 1, json={"port": {"state": "ACTIVE"}})
    assert response.status_code == 200, response.text
    waited(response, 1)
    assert response.json()["port"]["status"] == "PROVISIONING" and about(elapsed, 1), elapsed

    # DELETE: 202 while deprovisioning runs past the wait; a repeated DELETE waits for the same end.
    response, elapsed = await timed(slow, "DELETE", path, 20)
    assert response.status_code == 204, response.text
    response, elapsed = await timed(slow, "DELETE", f"networks/{network['id']}", 1)
    assert response.status_code == 202, response.text
    waited(response, 1)
    assert about(elapsed, 1), elapsed
    response, elapsed = await timed(slow, "DELETE", f"networks/{network['id']}", 20)
    assert response.status_code == 204, response.text
    waited(response, 20)
    assert elapsed < SLOW_CALL_MS / 1000 + 1.5, elapsed
    response = await slow.http.get(f"{slow.base}/networks/{network['id']}", headers=slow.headers)
    assert response.status_code == 404
