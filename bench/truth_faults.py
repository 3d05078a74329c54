"""The faults of the link-truth harness (bench/truth.py), each done as an operator or a crash would
do it to a running `make run` stack on real Open vSwitch. None is undone by the harness: recovering
is the stack's job (its supervisor, the hosts' agents).

Each fault takes the harness's `Fabric` (the stack, its VMs and networks) and a random source, and
returns one sentence saying what it did.
"""

from __future__ import annotations

import os
import random
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass

from bench.devstack_run import DevStack
from plugins.ovs import linux
from plugins.ovs.hosts import BRIDGE, host_files
from plugins.ovs.ofctl import OpenFlowBridge
from plugins.ovs.qos import COOKIE_BASE, COOKIE_MASK
from plugins.ovs.switch import OvsdbUnavailableError, VSwitch, VsctlError

UNUSED_VLAN = 3999  # inside 1-4094, outside every network's range (NETPROV_OVS_VLAN_RANGE 100-199)


@dataclass(frozen=True)
class VmPort:
    """One VM of the harness and the port it is attached to."""

    iface: str
    host: str
    ip: str
    network: str  # the network's name in the harness
    port_path: str  # the port's API path
    qos_kbps: int | None = None  # the egress limit of its QoS policy, None without one


@dataclass
class Fabric:
    stack: DevStack
    hosts: list[str]
    vms: list[VmPort]

    def switch(self, host: str) -> VSwitch:
        return VSwitch(host, self.stack.data_dir)

    def tap(self, vm: VmPort) -> str | None:
        port = self.switch(vm.host).find(vm.iface)
        return port.name if port else None


@dataclass(frozen=True)
class EgressLimit:
    """An egress limit as the switch really holds it for one VM: the QoS flow on its in_port that
    sends its packets through a meter, and that meter's rate (None: no such meter)."""

    cookie: int
    meter_id: int
    rate_kbps: int | None


_METERED = re.compile(r"\bin_port=(?P<ofport>\d+)\b.*\bactions=.*\bmeter:(?P<meter>\d+)")


def egress_limits(fabric: Fabric, host: str) -> dict[str, EgressLimit]:
    """By iface-id: every egress limit host `host`'s switch enforces, read from ovs-vswitchd (dump-flows
    of netprov's QoS cookies, dump-meters) independently of the plugin's own read-back. Empty when
    the switch does not answer: then it enforces nothing anyone can see."""
    bridge = OpenFlowBridge(host, fabric.stack.data_dir)
    try:
        by_ofport = {p.ofport: p.iface_id for p in fabric.switch(host).ports() if p.iface_id and p.ofport}
        flows = bridge.flows(COOKIE_BASE, COOKIE_MASK)
        meters = bridge.meters()
    except (OvsdbUnavailableError, VsctlError):
        return {}
    found = {}
    for cookie, lines in flows.items():
        for line in lines:
            match = _METERED.search(line)
            iface = match and by_ofport.get(int(match["ofport"]))
            if iface:
                meter = meters.get(int(match["meter"]))
                found[iface] = EgressLimit(cookie, int(match["meter"]), meter.rate_kbps if meter else None)
    return found


def remove_qos(fabric: Fabric, rnd: random.Random) -> str:
    """Remove a VM's egress limit by hand, as an operator would with ovs-ofctl: its meter (OpenFlow
    then drops the flows that use it too) or only its QoS flows (the meter stays, unused)."""
    limited = [vm for vm in fabric.vms if vm.qos_kbps]
    if not limited:
        return "no VM has a QoS policy"
    vm = rnd.choice(limited)
    limit = egress_limits(fabric, vm.host).get(vm.iface)
    if limit is None:
        return f"{vm.iface} has no egress limit on host {vm.host} to remove"
    bridge = OpenFlowBridge(vm.host, fabric.stack.data_dir)
    if rnd.random() < 0.5:
        bridge.ofctl("del-meter", bridge.target, f"meter={limit.meter_id}")
        return f"meter {limit.meter_id} (egress limit of {vm.iface}) deleted by hand on host {vm.host}"
    bridge.ofctl("del-flows", bridge.target, f"cookie={limit.cookie:#x}/-1")
    return f"QoS flows (cookie {limit.cookie:#x}) of {vm.iface} deleted by hand on host {vm.host}"


def kill_agent(fabric: Fabric, rnd: random.Random) -> str:
    host = rnd.choice(fabric.hosts)
    pid = fabric.stack.kill(f"agent {host}")
    return f"SIGKILL agent of host {host} (pid {pid})"


def kill_worker(fabric: Fabric, rnd: random.Random) -> str:
    return f"SIGKILL central worker (pid {fabric.stack.kill('worker')})"


def kill_temporal(fabric: Fabric, rnd: random.Random) -> str:
    return f"SIGKILL Temporal dev server (pid {fabric.stack.kill('temporal')})"


def restart_vswitchd(fabric: Fabric, rnd: random.Random) -> str:
    """Stop one host's ovs-vswitchd as `systemctl restart` would (SIGTERM); the stack's supervisor
    starts it again, as the unit's restart would."""
    host = rnd.choice(fabric.hosts)
    pid = linux.read_pidfile(host_files(host, fabric.stack.data_dir).vswitchd_pid)
    if pid is None:
        return f"ovs-vswitchd of host {host} was not running"
    os.kill(pid, signal.SIGTERM)
    return f"SIGTERM ovs-vswitchd of host {host} (pid {pid})"


def _on_a_port(change: Callable[[Fabric, VmPort, str], str]) -> Callable[[Fabric, random.Random], str]:
    """A fault done by hand to the bridge port of a random VM."""

    def fault(fabric: Fabric, rnd: random.Random) -> str:
        vm = rnd.choice(fabric.vms)
        tap = fabric.tap(vm)
        return f"{vm.iface} has no bridge port on host {vm.host}" if tap is None else change(fabric, vm, tap)

    return fault


@_on_a_port
def retag(fabric: Fabric, vm: VmPort, tap: str) -> str:
    fabric.switch(vm.host).set_tag(tap, UNUSED_VLAN)
    return f"VLAN tag of {vm.iface} on host {vm.host} set to {UNUSED_VLAN} by hand"


@_on_a_port
def remove_interface(fabric: Fabric, vm: VmPort, tap: str) -> str:
    fabric.switch(vm.host).vsctl("--if-exists", "del-port", BRIDGE, tap)
    return f"port {tap} of {vm.iface} removed from {BRIDGE} of host {vm.host}"


def wrong_network(fabric: Fabric, rnd: random.Random) -> str:
    """Give one VM's port the VLAN of another network: a real cross-connect, the worst case for
    a lying UP (both networks' VMs could reach each other)."""
    vm = rnd.choice(fabric.vms)
    others = [o for o in fabric.vms if o.network != vm.network]
    tap = fabric.tap(vm)
    if tap is None or not others:
        return f"{vm.iface} cannot be moved to another network"
    other = rnd.choice(others)
    other_port = fabric.switch(other.host).find(other.iface)
    if other_port is None or other_port.tag is None:
        return f"{other.iface} has no VLAN to borrow"
    fabric.switch(vm.host).set_tag(tap, other_port.tag)
    return f"{vm.iface} on host {vm.host} plugged into network {other.network} (VLAN {other_port.tag}) by hand"


FAULTS: dict[str, Callable[[Fabric, random.Random], str]] = {
    "kill_agent": kill_agent,
    "kill_worker": kill_worker,
    "kill_temporal": kill_temporal,
    "restart_vswitchd": restart_vswitchd,
    "retag": retag,
    "remove_interface": remove_interface,
    "wrong_network": wrong_network,
    "remove_qos": remove_qos,
}

