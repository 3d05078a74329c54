"""Fixtures of the batch tests; the stack is the session's (tests/conftest.py) unless a test starts its own."""

import asyncio

import pytest
from batch_helpers import tenant_rows
from typer.testing import CliRunner

from cli.main import app as cli_app


@pytest.fixture
def rows(settings):
    """`rows(tenant_id)`: how many rows of each kind the tenant has."""
    return lambda tenant_id: tenant_rows(settings, tenant_id)


@pytest.fixture
def netprov_cli(live_url, api):
    """`await netprov_cli("batch", "apply", ...)`: the CLI as the tenant's operator runs it, in a
    thread (the API serves on the test loop meanwhile)."""
    env = {"NETPROV_API_URL": live_url, "NETPROV_TOKEN": api.headers["X-Auth-Token"], "NETPROV_TENANT": api.tenant}

    async def run(*args: str):
        return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args), env=env, catch_exceptions=False)

    return run
