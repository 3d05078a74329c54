"""Real Open vSwitch, real namespaces, real pings.

One OVS lab per session: two hosts with unique names (several sessions may share the machine) in a
short tmp data dir (unix socket paths are limited to 108 bytes), chained by a trunk. Each test makes
its own networks, ports and VMs through `fabric`, which removes them afterwards; the session removes
the hosts, even when tests fail. A lab left by a killed session (its owner pid is dead) is cleaned
up by the next session.

Without root, or when Open vSwitch cannot be installed, these tests skip with one line; under
CI=true they fail instead.
"""

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from netprov.operations import PluginAction, PluginRequest
from netprov.settings import Settings
from netprov.status import AdminState
from netprov.link_io import LinkReport
from plugins.ovs import linux, vms
from ovs_lab import new_lab, require_ovs
from qos_measure import MEASURE_TOOLS

from plugins.ovs.hosts import ensure_ovs_installed, host_running, start_hosts, stop_hosts
from plugins.ovs.plugin import OvsPlugin
from plugins.ovs.settings import OvsSettings
from plugins.ovs.switch import VSwitch

LAB_PREFIX = "npovs-"


@dataclass
class Lab:
    data_dir: Path
    hosts: list[str]
    tag: str
    plugin: OvsPlugin
    extra_hosts: list[str] = field(default_factory=list)

    def iface(self, name: str) -> str:
        return f"{self.tag}-{name}"

    def switch(self, host: str) -> VSwitch:
        return VSwitch(host, self.data_dir)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    require_ovs("Open vSwitch tests")
    tag = uuid.uuid4().hex[:6]
    yield from _running_lab([f"t{tag}a", f"t{tag}b"], tag)


@pytest.fixture(scope="session")
def qos_lab() -> Iterator[Lab]:
    """The QoS suite's own lab (test_qos_ovs.py): hosts q1 and q2, iperf3 and tcpdump installed."""
    require_ovs("Open vSwitch QoS tests")
    ensure_ovs_installed(MEASURE_TOOLS)
    yield from _running_lab(["q1", "q2"], uuid.uuid4().hex[:6])


def _running_lab(hosts: list[str], tag: str) -> Iterator[Lab]:
    data_dir = new_lab(LAB_PREFIX)
    plugin = OvsPlugin(Settings(data_dir=data_dir), OvsSettings(vlan_range="100-199"))
    lab = Lab(data_dir=data_dir, hosts=hosts, tag=tag, plugin=plugin)
    try:
        start_hosts(hosts, data_dir)
        yield lab
    finally:
        stop_hosts(lab.extra_hosts + hosts, data_dir)
        for netns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n"):
            name = netns.split(" ")[0]
            if tag in name:
                linux.netns_delete(name)
        shutil.rmtree(data_dir, ignore_errors=True)


@dataclass
class Attachment:
    network_id: str
    port_id: str
    iface_id: str
    host: str
    state: str

    def request(self, **changes) -> PluginRequest:
        values = {
            "plugin": "ovs",
            "request_id": str(uuid.uuid4()),
            "tenant_id": "t1",
            "network_id": self.network_id,
            "port_id": self.port_id,
            "iface_id": self.iface_id,
            "host": self.host,
            "state": self.state,
        }
        return PluginRequest(**{**values, **changes})


class Fabric:
    """Plugin-level scenarios on the lab: what the workflows would call, called directly."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.plugin = lab.plugin
        self.networks: list[str] = []
        self.attachments: list[Attachment] = []
        self.vms: list[str] = []

    def network(self) -> tuple[str, int]:
        network_id = str(uuid.uuid4())
        result = self.plugin.create_network(self._request(network_id))
        self.networks.append(network_id)
        return network_id, int(result["vlan"])

    def vm(self, host: str, name: str, ip: str) -> str:
        iface_id = self.lab.iface(name)
        vms.create_vm(host, iface_id, ip, self.lab.data_dir)
        self.vms.append(iface_id)
        return iface_id

    def attach(self, network_id: str, host: str, iface_id: str, state: str = AdminState.ACTIVE) -> Attachment:
        """Create an ACTIVE (or DOWN) port on the network and plug `iface_id` on `host` into it."""
        port_id = str(uuid.uuid4())
        self.plugin.create_port(self._request(network_id, port_id=port_id, state=state))
        attachment = Attachment(network_id, port_id, iface_id, host, state)
        self.plugin.plug_interface(attachment.request())
        self.attachments.append(attachment)
        return attachment

    def set_state(self, attachment: Attachment, state: str) -> None:
        """UPDATE_PORT as the workflow runs it: every step of the plugin, in order."""
        attachment.state = state
        request = attachment.request()
        for step in self.plugin.steps(PluginAction.UPDATE_PORT):
            self.plugin.apply_step(step.name, request)

    def link(self, attachment: Attachment) -> LinkReport:
        return self.plugin.link_status(attachment.request())

    def ping(self, src_iface: str, ip: str, *, attempts: int = 5) -> bool:
        """True as soon as one `ping -c1 -W1` from the VM gets an answer (the userspace datapath may
        need a moment for a new port)."""
        for attempt in range(attempts):
            if vms.run_in_vm(src_iface, ["ping", "-c1", "-W1", ip]).returncode == 0:
                return True
            if attempt + 1 < attempts:
                time.sleep(0.2)
        return False

    def isolated(self, src_iface: str, ip: str) -> bool:
        return not self.ping(src_iface, ip, attempts=2)

    def cleanup(self) -> None:
        for iface_id in self.vms:
            vms.delete_vm(iface_id, self.lab.data_dir)
        for attachment in self.attachments:
            if host_running(attachment.host, self.lab.data_dir):  # a test may have stopped it
                self.plugin.unplug_interface(attachment.request())
            self.plugin.delete_port(attachment.request())
        for network_id in self.networks:
            self.plugin.delete_network(self._request(network_id))

    @staticmethod
    def _request(network_id: str, **fields) -> PluginRequest:
        return PluginRequest(
            plugin="ovs", request_id=str(uuid.uuid4()), tenant_id="t1", network_id=network_id, **fields
        )


@pytest.fixture
def fabric(lab: Lab) -> Iterator[Fabric]:
    yield from _fabric(lab)


@pytest.fixture
def qos_fabric(qos_lab: Lab) -> Iterator[Fabric]:
    yield from _fabric(qos_lab)


def _fabric(lab: Lab) -> Iterator[Fabric]:
    fabric = Fabric(lab)
    try:
        yield fabric
    finally:
        fabric.cleanup()

