"""The CLI and the Python client against the real stack, over real HTTP: the session's app (its
worker and Temporal dev server from tests/conftest.py) served by uvicorn on a free port, on the
test loop. Synchronous code (the CLI, the sync client) runs in a thread so the loop keeps serving."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import uvicorn
from typer.testing import CliRunner

from cli.main import app as cli_app
from devstack.temporal_server import free_port


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        # The test process keeps its own signal handling (Ctrl-C stops pytest, not this server).
        yield


@pytest.fixture(scope="session")
async def live_url(stack) -> AsyncIterator[str]:
    port = free_port()
    server = _Server(uvicorn.Config(stack.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    server.force_exit = True  # open event streams would otherwise hold the shutdown
    await asyncio.wait_for(task, 10)


@pytest.fixture
def tenant_env(live_url, api) -> dict[str, str]:
    """The environment a tenant's operator runs `netprov` with."""
    return {
        "NETPROV_API_URL": live_url,
        "NETPROV_TOKEN": api.headers["X-Auth-Token"],
        "NETPROV_TENANT": api.tenant,
    }


class Cli:
    """Runs `netprov ARGS` in a thread (the API serves on the test loop meanwhile)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    async def __call__(self, *args: str, env: dict[str, str] | None = None):
        runner = CliRunner()
        return await asyncio.to_thread(runner.invoke, cli_app, list(args), env={**self.env, **(env or {})}, catch_exceptions=False)


@pytest.fixture
def netprov(tenant_env) -> Cli:
    return Cli(tenant_env)
