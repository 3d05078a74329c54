"""Fixtures for the Neutron v2.0 view: the tenant's token on /v2.0 paths, and the real clients
(openstacksdk, the `openstack` CLI) pointed at the live server the way the contract says, with
no identity service. Both clients are synchronous: they run in a thread, so the test loop keeps
serving them."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import openstack
import pytest

OPENSTACK_CLI = str(Path(sys.executable).with_name("openstack"))


@pytest.fixture
def v2(api):
    """The tenant's token (same `Api` helper; absolute /v2.0 paths)."""
    return api


@pytest.fixture
async def sdk(live_url, api):
    connection = openstack.connect(auth_type="admin_token", auth={"endpoint": live_url, "token": api.headers["X-Auth-Token"]})
    yield connection
    await asyncio.to_thread(connection.close)


class OpenStackCli:
    def __init__(self, url: str, token: str) -> None:
        self.args = ["--os-auth-type", "admin_token", "--os-endpoint", url, "--os-token", token]
        # No clouds.yaml or OS_* of the machine may leak into the tests.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")} | {"OS_CLIENT_CONFIG_FILE": "/dev/null"}

    async def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        process = await asyncio.to_thread(
            subprocess.run, [OPENSTACK_CLI, *self.args, *args], capture_output=True, text=True, env=self.env, timeout=120
        )
        if ok:
            assert process.returncode == 0, process.stderr
        return process

    async def json(self, *args: str):
        return json.loads((await self.run(*args, "-f", "json")).stdout)


@pytest.fixture
def cli(live_url, api) -> OpenStackCli:
    return OpenStackCli(live_url, api.headers["X-Auth-Token"])
