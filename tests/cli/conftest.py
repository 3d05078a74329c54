"""The CLI and the Python client against the real stack, over real HTTP: the session's app (its
worker and Temporal dev server from tests/conftest.py) served by uvicorn on a free port, on the
test loop. Synchronous code (the CLI, the sync client) runs in a thread so the loop keeps serving."""

import asyncio

import pytest
from typer.testing import CliRunner

from cli.main import app as cli_app
from netprov_client import AsyncClient, Client


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


@pytest.fixture
def sync_client(live_url, api):
    """The tenant's typed sync client over real HTTP (call it from a thread: the API serves on the loop)."""
    with Client(live_url, api.headers["X-Auth-Token"], api.tenant) as client:
        yield client


@pytest.fixture
async def async_client(live_url, api):
    async with AsyncClient(live_url, api.headers["X-Auth-Token"], api.tenant) as client:
        yield client
