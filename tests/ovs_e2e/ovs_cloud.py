"""The Open vSwitch end-to-end tests' cloud (fixtures in conftest.py): the whole system on real
Open vSwitch, through the REST API, with real processes.

One cloud per session: two OVS hosts with unique random names (several sessions may share the
machine), chained by a trunk, in a short tmp data dir (unix socket paths hold 108 bytes), and a
ProcessStack on it: a Temporal dev server, `python -m worker` (which starts the link monitor),
`python -m worker --host H` for each host, and `python -m api`. The stack's default plugin is
`fake`: the ovs networks ask for `"plugin": "ovs"` themselves, and a fake network on the same hosts
shows that plugins without agents are never reported "agent not running".

The link monitor runs every second here (NETPROV_LINK_MONITOR_INTERVAL_S) so the suite stays
short; the tests still only assert what the contract promises (30 s).

Without root or Open vSwitch these tests skip with one line; under CI=true they fail instead.
A cloud left by a killed session (its owner pid is dead) is removed by the next session.
"""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from devstack.processes import ADMIN_SECRET, ProcessStack
from plugins.ovs import vms
from plugins.ovs.switch import SwitchPort, VSwitch

CLOUD_PREFIX = "npe2e-"
MONITOR_INTERVAL_S = 1.0
AGENT_CHECK_TIMEOUT_S = 2.0
# What the contract promises for agent death and return, and for link changes the monitor finds.
CONTRACT_S = 30.0
NETPROV = Path(sys.executable).parent / "netprov"


class Cloud:
    """The REST API (admin token, one tenant per session) and the hosts, with the helpers the
    scenarios need. Interface ids carry the session's tag."""

    def __init__(self, stack: ProcessStack, data_dir: Path, hosts: list[str], tag: str) -> None:
        self.stack = stack
        self.data_dir = data_dir
        self.hosts = hosts
        self.tag = tag
        self.http = httpx.Client(
            base_url=f"{stack.api_url}/v1.1/tenants/e2e-{tag}", headers={"X-Auth-Token": ADMIN_SECRET}, timeout=90
        )
        self.vm_ids: list[str] = []

    # -- REST ------------------------------------------------------------------------------

    def network(self, name: str, plugin: str = "ovs") -> dict:
        response = self.http.post(
            "/networks", json={"network": {"name": name, "plugin": plugin}}, headers={"Prefer": "wait=30"}
        )
        assert response.status_code == 201, response.text
        network = response.json()["network"]
        assert network["status"] == "AVAILABLE", network
        return network

    def port(self, network: dict, state: str = "ACTIVE") -> dict:
        response = self.http.post(
            f"/networks/{network['id']}/ports", json={"port": {"state": state}}, headers={"Prefer": "wait=30"}
        )
        assert response.status_code == 201, response.text
        return response.json()["port"]

    def attach(self, port: dict, iface: str, host: str, wait: int = 30) -> httpx.Response:
        response = self.http.put(
            f"/networks/{port['network_id']}/ports/{port['id']}/attachment",
            json={"attachment": {"id": iface, "host": host}},
            headers={"Prefer": f"wait={wait}"} if wait else {},
        )
        assert response.status_code in (200, 202), response.text
        return response

    def set_state(self, port: dict, state: str, wait: int = 30) -> None:
        response = self.http.put(
            f"/networks/{port['network_id']}/ports/{port['id']}",
            json={"port": {"state": state}},
            headers={"Prefer": f"wait={wait}"} if wait else {},
        )
        assert response.status_code in (200, 202, 204), response.text

    def get_port(self, port: dict) -> dict:
        response = self.http.get(f"/networks/{port['network_id']}/ports/{port['id']}")
        assert response.status_code == 200, response.text
        return response.json()["port"]

    def wait_port(self, port: dict, until: Callable[[dict], bool], timeout: float = CONTRACT_S, what: str = "") -> dict:
        deadline = time.monotonic() + timeout
        while True:
            body = self.get_port(port)
            if until(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"port {port['id']} not {what or 'as expected'} within {timeout:.0f} s: {body}")
            time.sleep(0.2)

    def wait_link(self, port: dict, status: str, reason: str | None = None, timeout: float = CONTRACT_S) -> dict:
        """Wait until the port's link is `status` (and its link_status_string contains `reason`)."""

        def reached(body: dict) -> bool:
            if body["link_status"] != status:
                return False
            return reason is None or reason in (body["link_status_string"] or "")

        return self.wait_port(port, reached, timeout, f"link {status} {reason or ''}".strip())

    # -- hosts and VMs ---------------------------------------------------------------------

    def iface(self, name: str) -> str:
        return f"{self.tag}-{name}"

    def vm_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`netprov vm ARGS` as a developer types it (with this session's data dir)."""
        return subprocess.run(
            [str(NETPROV), "vm", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "NETPROV_DATA_DIR": str(self.data_dir)},
        )

    def vm(self, host: str, iface: str, ip: str) -> str:
        result = self.vm_cli("create", "--host", host, "--iface", iface, "--ip", ip)
        assert result.returncode == 0, result.stderr
        self.vm_ids.append(iface)
        return iface

    def ping(self, iface: str, ip: str, attempts: int = 5) -> bool:
        """True as soon as one `ping -c1 -W1` from the VM gets an answer (the userspace datapath may
        need a moment for a port that just changed)."""
        for attempt in range(attempts):
            if vms.run_in_vm(iface, ["ping", "-c1", "-W1", ip]).returncode == 0:
                return True
            if attempt + 1 < attempts:
                time.sleep(0.3)
        return False

    def switch_port(self, host: str, iface: str) -> SwitchPort | None:
        return VSwitch(host, self.data_dir).find(iface)

    def vsctl(self, host: str, *args: str) -> str:
        return VSwitch(host, self.data_dir).vsctl(*args)

    def delete_vms(self) -> None:
        for iface in self.vm_ids:
            vms.delete_vm(iface, self.data_dir)
        self.vm_ids.clear()


def condition(port: dict, type_: str) -> dict:
    return next(c for c in port["conditions"] if c["type"] == type_)
