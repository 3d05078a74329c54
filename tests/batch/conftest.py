"""Fixtures of the batch tests; the stack is the session's (tests/conftest.py) unless a test starts its own."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import uvicorn
from batch_helpers import tenant_rows
from typer.testing import CliRunner

from cli.main import app as cli_app
from devstack.temporal_server import free_port


@pytest.fixture
def rows(settings):
    """`rows(tenant_id)`: how many rows of each kind the tenant has."""
    return lambda tenant_id: tenant_rows(settings, tenant_id)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        # pytest keeps its own signal handling.
        yield


@pytest.fixture(scope="session")
async def batch_live_url(stack) -> AsyncIterator[str]:
    """The session's app served over real HTTP (uvicorn on the test loop), for the CLI."""
    port = free_port()
    server = _Server(uvicorn.Config(stack.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    server.force_exit = True
    await asyncio.wait_for(task, 10)


@pytest.fixture
def netprov_cli(batch_live_url, api):
    """`await netprov_cli("batch", "apply", ...)`: the CLI as the tenant's operator runs it, in a
    thread (the API serves on the test loop meanwhile)."""
    env = {"NETPROV_API_URL": batch_live_url, "NETPROV_TOKEN": api.headers["X-Auth-Token"], "NETPROV_TENANT": api.tenant}

    async def run(*args: str):
        return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args), env=env, catch_exceptions=False)

    return run
