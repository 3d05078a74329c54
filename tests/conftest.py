"""The real stack for API tests: a Temporal dev server (session), the central worker and the API
in this process on the test loop, SQLite under a session temp dir, real HTTP through ASGI."""

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.exc import OperationalError
from temporalio.client import Client

from api.app import create_app
from devstack.temporal_server import TemporalDevServer, free_port
from live_server import LiveServer
from netprov.settings import Settings
from store.schema import scratch_database
from worker.build import MAX_CONCURRENT_ACTIVITIES, central_worker

ADMIN_SECRET = "test-admin-secret"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("netprov")


@pytest.fixture(scope="session")
def temporal_server(data_dir: Path):
    server = TemporalDevServer(data_dir / "temporal", port=free_port(), headless=True)
    server.start()
    yield server
    server.stop()


POSTGRES_SERVER_URL = os.environ.get("NETPROV_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server (NETPROV_TEST_POSTGRES_URL) tests create scratch databases on. Unreachable:
    the tests that need it are skipped, except under CI=true, where they fail."""
    try:
        with scratch_database(POSTGRES_SERVER_URL, "netprov_ping"):
            pass
    except OperationalError as error:
        message = f"PostgreSQL at {POSTGRES_SERVER_URL} unreachable: {str(error).splitlines()[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return POSTGRES_SERVER_URL


@pytest.fixture(scope="session")
def database_url(request, data_dir: Path) -> Iterator[str]:
    """SQLite under the session dir; with NETPROV_TEST_DATABASE=postgres a fresh PostgreSQL database."""
    backend = os.environ.get("NETPROV_TEST_DATABASE", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{data_dir / 'netprov.db'}"
    elif backend == "postgres":
        with scratch_database(request.getfixturevalue("postgres_server")) as url:
            yield url
    else:
        raise pytest.UsageError(f"NETPROV_TEST_DATABASE must be sqlite or postgres, not {backend!r}")


@pytest.fixture(scope="session")
def settings(data_dir: Path, database_url: str, temporal_server: TemporalDevServer) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        temporal_address=temporal_server.target,
        admin_token=ADMIN_SECRET,
        temporal_ui_url="http://127.0.0.1:8233",
        plugin_initial_backoff_ms=50,
        plugin_max_attempts=4,
        plugin_settings={"qbh-sim": {"latency_ms": 20}, "ovs-sim": {"vlan_range": "100-3999"}},
    )


@dataclass
class Stack:
    settings: Settings
    client: Client
    app: object
    http: httpx.AsyncClient


@pytest.fixture(scope="session")
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    client = await Client.connect(settings.temporal_address)
    executor = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES)
    worker = central_worker(client, settings, executor)
    app = create_app(settings, client)
    async with worker, app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://netprov.test", timeout=90) as http:
            yield Stack(settings, client, app, http)
    executor.shutdown(wait=False, cancel_futures=True)


@pytest.fixture(scope="session")
async def live_url(stack: Stack) -> AsyncIterator[str]:
    """The session's app over real HTTP: uvicorn on a free port, on the test loop. Synchronous
    callers (the CLI, the sync client) must run in a thread so the loop keeps serving."""
    port = free_port()
    server = LiveServer(uvicorn.Config(stack.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    server.force_exit = True  # open event streams would otherwise hold the shutdown
    await asyncio.wait_for(task, 10)


class Api:
    """A tenant's view of the API, with the helpers tests keep needing."""

    def __init__(self, http: httpx.AsyncClient, secret: str, tenant: str) -> None:
        self.http = http
        self.headers = {"X-Auth-Token": secret}
        self.tenant = tenant
        self.base = f"/v1.1/tenants/{tenant}"

    async def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        url = path if path.startswith("/") else f"{self.base}/{path}"
        return await self.http.request(method, url, headers=headers, **kwargs)

    async def create_network(self, name: str = "net", **fields) -> dict:
        response = await self.request("POST", "networks", json={"network": {"name": name, **fields}})
        assert response.status_code == 202, response.text
        return response.json()["network"]

    async def create_port(self, network_id: str, state: str | None = None) -> dict:
        body = {"port": {"state": state}} if state else None
        response = await self.request("POST", f"networks/{network_id}/ports", json=body)
        assert response.status_code == 202, response.text
        return response.json()["port"]

    async def attach(self, network_id: str, port_id: str, iface: str, host: str = "h1") -> httpx.Response:
        return await self.request(
            "PUT", f"networks/{network_id}/ports/{port_id}/attachment", json={"attachment": {"id": iface, "host": host}}
        )

    async def get(self, path: str) -> dict:
        response = await self.request("GET", path)
        assert response.status_code == 200, response.text
        return response.json()

    async def settle(self, path: str, key: str, timeout: float = 30.0, until=None) -> dict:
        """GET `path` until the resource under `key` satisfies `until` (default: not PROVISIONING)."""
        until = until or (lambda body: body["status"] != "PROVISIONING")
        deadline = time.monotonic() + timeout
        while True:
            response = await self.request("GET", path)
            if response.status_code == 200 and until(response.json()[key]):
                return response.json()[key]
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} did not settle in {timeout}s: {response.status_code} {response.text}")
            await asyncio.sleep(0.1)

    async def gone(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while (response := await self.request("GET", path)).status_code != 404:
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} still exists after {timeout}s: {response.text}")
            await asyncio.sleep(0.1)


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def admin(stack: Stack, tenant: str) -> Api:
    """The admin token, on a fresh tenant's paths."""
    return Api(stack.http, ADMIN_SECRET, tenant)


@pytest.fixture
async def api(stack: Stack, admin: Api, tenant: str) -> Api:
    """A fresh tenant's own token."""
    response = await admin.request("POST", "/v1.1/tokens", json={"token": {"tenant_id": tenant}})
    assert response.status_code == 201, response.text
    return Api(stack.http, response.json()["token"]["secret"], tenant)


def pytest_collection_modifyitems(config, items):
    # CI must never silently skip the parts it is meant to prove.
    if os.environ.get("CI") == "true":
        config.option.strict_markers = True
